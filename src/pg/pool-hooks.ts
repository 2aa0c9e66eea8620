/**
 * The `query` and `connect` wrappers installed on an instrumented pool. Neither reports anything:
 * the statement is reported once, by the client pg-pool checks out. `pool.query` captures the
 * context and call site at call time and hands them to that client (see query-entry.ts);
 * `pool.connect` re-enters its callback into the caller's async context, because pg-pool calls
 * queued callbacks from whichever request released a connection.
 */
import { INTERNAL_QUERY } from '../core/internal-query.js';
import type { ScopeInfo } from '../core/query-event.js';
import { callInFrame, currentFrame } from '../context/context-frame.js';
import type { QueryMethod } from './pg-shapes.js';
import { protoConnect, protoQuery } from './pg-shapes.js';
import { captureEntry, currentScope, swapHandoff, swapPending, takePending } from './query-entry.js';
import type { PoolState } from './target-state.js';

type AnyFunction = (...args: never[]) => unknown;

export function createPoolQuery(state: PoolState): QueryMethod {
  const recorder = state.recorder;
  const query: QueryMethod = function query(this: unknown, text: unknown, values?: unknown, callback?: unknown): unknown {
    const inner = state.ownQuery ?? protoQuery(state.self);
    if (
      !state.switch.on ||
      recorder.closed ||
      text == null ||
      typeof text === 'function' ||
      (typeof text === 'object' && (text as { [INTERNAL_QUERY]?: unknown })[INTERNAL_QUERY] === true)
    ) {
      return inner.call(this, text, values, callback);
    }
    let entry;
    try {
      entry = captureEntry(recorder, text, query, typeof callback === 'function' || typeof values === 'function');
    } catch (err) {
      recorder.internalError(err);
      return inner.call(this, text, values, callback);
    }
    const outer = swapPending(entry);
    try {
      return inner.call(this, text, values, callback);
    } finally {
      swapPending(outer);
    }
  };
  return query;
}

/** pg-pool's two timeout errors (it gives them no code): no free connection in time / a new one did not open in time. */
function isPoolTimeout(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.message === 'timeout exceeded when trying to connect' || err.message === 'Connection terminated due to connection timeout';
}

/**
 * Timeouts can only happen with `connectionTimeoutMillis`, and are watched only when a sink wants
 * them (the timeouts metric): otherwise a checkout is left exactly as pg-pool does it.
 */
function watchesTimeouts(state: PoolState, pool: unknown): boolean {
  if (!state.recorder.pipeline.wantsPoolTimeout) return false;
  const options = (pool as { options?: { connectionTimeoutMillis?: unknown } } | null)?.options;
  return typeof options?.connectionTimeoutMillis === 'number' && options.connectionTimeoutMillis > 0;
}

/** `scope`: the checkout's unit of work, when a `pool.query` captured it already. */
function reportTimeout(state: PoolState, error: unknown, scope: ScopeInfo | undefined): void {
  try {
    const recorder = state.recorder;
    recorder.pipeline.emit({ type: 'pool-timeout', target: state.target, scope: scope ?? currentScope(recorder, performance.now()), error });
  } catch (err) {
    state.recorder.internalError(err);
  }
}

export function createPoolConnect(state: PoolState): (callback?: unknown) => unknown {
  const recorder = state.recorder;
  return function connect(this: unknown, callback?: unknown): unknown {
    const inner = state.ownConnect ?? protoConnect(state.self);
    const entry = takePending();
    if (!state.switch.on || recorder.closed) return inner.call(this, callback);
    const timeouts = watchesTimeouts(state, this);
    if (typeof callback !== 'function') {
      const result = inner.call(this, callback);
      if (!timeouts || typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') return result;
      // The application gets a promise that settles exactly as pg-pool's (same value, same error
      // object); pg-pool's own promise is handled here, the returned one is the application's.
      return (result as PromiseLike<unknown>).then(undefined, (err: unknown) => {
        if (isPoolTimeout(err)) reportTimeout(state, err, undefined);
        throw err;
      });
    }
    const appCallback = callback as AnyFunction;
    // Inside a promise-form pool.query the callback is pg-pool's own and only settles a promise:
    // the handoff is all it needs.
    const reenter = entry === undefined || entry.callbackForm;
    const frame = entry !== undefined ? entry.frame : currentFrame();
    return inner.call(this, function querylensConnectCallback(this: unknown, err: unknown) {
      if (timeouts && err != null && isPoolTimeout(err)) reportTimeout(state, err, entry !== undefined ? entry.scope : frame?.scope);
      const outer = swapHandoff(entry);
      try {
        // eslint-disable-next-line prefer-rest-params -- forward exactly what pg-pool passed (err, client, release)
        return reenter ? callInFrame(frame, appCallback, this, arguments) : Reflect.apply(appCallback, this, arguments);
      } finally {
        swapHandoff(outer);
      }
    });
  };
}
