/**
 * The `query` wrapper installed on each instrumented client. It must be invisible: every call
 * form returns what pg returns and fails the way pg fails.
 *
 * - callback (`(text, cb)`, `(text, values, cb)`, `config.callback`): pg gets a callback that ends
 *   the query and then calls the application's, re-entered into the caller's async context;
 * - promise: the result is pg's promise chained once (same value, same error object; an
 *   unhandled rejection still surfaces, because the chained promise is the one returned);
 * - Submittable (pg-cursor, pg-query-stream, `new pg.Query`): passed through untouched; its own
 *   handler methods are observed to count rows and end the query when pg finishes with it;
 * - synchronous throws from pg (bad arguments) end the query and are rethrown.
 *
 * pg's `query` is looked up at call time (an APM that patches the prototype later is not
 * bypassed), and anything querylens itself fails at falls back to calling pg untouched.
 */
import { INTERNAL_QUERY } from '../core/internal-query.js';
import type { ContextFrame } from '../context/context-frame.js';
import { callInFrame } from '../context/context-frame.js';
import type { PgQueryConfigLike, PgSubmittableLike, QueryMethod } from './pg-shapes.js';
import { isSubmittable, protoQuery } from './pg-shapes.js';
import { captureEntry, takeHandoff } from './query-entry.js';
import { QueryStart, finishQuery } from './query-record.js';
import type { Recorder } from './recorder.js';
import type { ClientState } from './target-state.js';

/** Named statements remembered per connection; pg keeps them all, we stop remembering beyond this. */
export const MAX_NAMED_STATEMENTS = 10_000;

type AnyFunction = (...args: never[]) => unknown;

/** Marks a callback that is only pg-pool settling its own promise: no need to re-enter a context. */
const NO_REENTRY: unique symbol = Symbol('no re-entry');

/**
 * Wraps the callback pg will call: end the query, then call it, re-entered into the caller's
 * context unless `frame` is NO_REENTRY (pg-pool's callback for a promise-form `pool.query`).
 */
function endThenCall(recorder: Recorder, start: QueryStart, frame: ContextFrame | undefined | typeof NO_REENTRY, callback: AnyFunction): AnyFunction {
  return function querylensQueryCallback(this: unknown, error: unknown, result: unknown) {
    finishQuery(recorder, start, error != null, error != null ? error : result);
    // eslint-disable-next-line prefer-rest-params -- forward exactly what pg passed
    return frame === NO_REENTRY ? Reflect.apply(callback, this, arguments) : callInFrame(frame, callback, this, arguments);
  } as AnyFunction;
}

const COMMAND_TAG_ROWS = /(\d+)$/;

/** Observes a Submittable through its own handlers (pg calls them; we never replace the object). */
function observeSubmittable(recorder: Recorder, start: QueryStart, sub: PgSubmittableLike): void {
  let rows = 0;
  let tagRows = 0;
  const onRow = sub.handleDataRow;
  const onComplete = sub.handleCommandComplete;
  const onReady = sub.handleReadyForQuery;
  const onError = sub.handleError;
  if (typeof onRow === 'function') {
    sub.handleDataRow = function (this: unknown) {
      rows++;
      // eslint-disable-next-line prefer-rest-params
      return Reflect.apply(onRow, this, arguments);
    };
  }
  if (typeof onComplete === 'function') {
    sub.handleCommandComplete = function (this: unknown, msg: unknown) {
      // 'INSERT 0 3', 'UPDATE 2', 'SELECT 5': writes stream no rows, their count is in the tag.
      const tag = (msg as { text?: unknown } | null)?.text;
      const m = typeof tag === 'string' ? COMMAND_TAG_ROWS.exec(tag) : null;
      if (m !== null) tagRows = Number(m[1]);
      // eslint-disable-next-line prefer-rest-params
      return Reflect.apply(onComplete, this, arguments);
    };
  }
  if (typeof onReady === 'function') {
    sub.handleReadyForQuery = function (this: unknown) {
      finishQuery(recorder, start, false, undefined, Math.max(rows, tagRows));
      // eslint-disable-next-line prefer-rest-params
      return Reflect.apply(onReady, this, arguments);
    };
  }
  if (typeof onError === 'function') {
    sub.handleError = function (this: unknown, error: unknown) {
      finishQuery(recorder, start, true, error);
      // eslint-disable-next-line prefer-rest-params
      return Reflect.apply(onError, this, arguments);
    };
  }
}

export function createClientQuery(state: ClientState): QueryMethod {
  const recorder = state.recorder;

  const query: QueryMethod = function query(this: unknown, config: unknown, values?: unknown, callback?: unknown): unknown {
    const inner = state.ownQuery ?? protoQuery(state.self);
    const poolEntry = takeHandoff(config);
    if (!state.switch.on || recorder.closed) return inner.call(this, config, values, callback);

    let text: unknown;
    let name: unknown;
    let params: unknown;
    let sub: PgSubmittableLike | undefined;
    if (typeof config === 'string') {
      text = config;
      params = values;
    } else if (config !== null && typeof config === 'object') {
      if ((config as { [INTERNAL_QUERY]?: unknown })[INTERNAL_QUERY] === true) return inner.call(this, config, values, callback);
      if (isSubmittable(config)) {
        sub = config;
        text = sub.text ?? sub.cursor?.text;
        params = sub.values ?? sub.cursor?.values;
        name = sub.name;
      } else {
        const c = config as PgQueryConfigLike;
        text = c.text;
        name = c.name;
        params = values != null && typeof values !== 'function' ? values : c.values;
      }
    } else {
      // pg rejects it (null config throws); nothing to observe.
      return inner.call(this, config, values, callback);
    }

    let start: QueryStart;
    let callbackFrame: ContextFrame | undefined | typeof NO_REENTRY;
    try {
      let sql = typeof text === 'string' ? text : '';
      const statement = typeof name === 'string' && name !== '' ? name : undefined;
      if (statement !== undefined) {
        const statements = (state.statements ??= new Map());
        if (sql !== '') {
          if (statements.size < MAX_NAMED_STATEMENTS || statements.has(statement)) statements.set(statement, sql);
        } else {
          sql = statements.get(statement) ?? '';
        }
      }
      const entry = poolEntry ?? captureEntry(recorder, config, query, true);
      const startTime = poolEntry === undefined ? entry.startTime : performance.now();
      const frame = entry.frame;
      callbackFrame = entry.callbackForm ? frame : NO_REENTRY;
      start = new QueryStart(
        recorder.pipeline.nextQueryId(),
        recorder.analyze(sql),
        sql,
        Array.isArray(params) ? params : undefined,
        statement,
        startTime,
        entry.callsite,
        entry.scope,
        frame?.operation,
        state.target,
        poolEntry === undefined ? undefined : startTime - poolEntry.startTime,
        frame?.ignored === true,
        sub !== undefined,
        state.self,
        entry.callContext,
      );
      if (recorder.pipeline.wantsQueryStart) recorder.pipeline.emit(start);
    } catch (err) {
      recorder.internalError(err);
      return inner.call(this, config, values, callback);
    }

    let cbValues = values;
    let cbCallback = callback;
    if (sub !== undefined) {
      observeSubmittable(recorder, start, sub);
    } else if (typeof callback === 'function') {
      cbCallback = endThenCall(recorder, start, callbackFrame, callback as AnyFunction);
    } else if (!callback && typeof values === 'function') {
      cbValues = endThenCall(recorder, start, callbackFrame, values as AnyFunction);
    } else if (!callback && typeof (config as PgQueryConfigLike).callback === 'function') {
      // pg copies the config and lets a callback argument override `config.callback`: the
      // application's object is not touched.
      cbCallback = endThenCall(recorder, start, callbackFrame, (config as PgQueryConfigLike).callback as AnyFunction);
    }

    let returned: unknown;
    try {
      returned = inner.call(this, config, cbValues, cbCallback);
    } catch (err) {
      finishQuery(recorder, start, true, err);
      throw err;
    }
    if (sub === undefined && cbCallback === callback && cbValues === values && isThenable(returned)) {
      return returned.then(
        (result) => {
          finishQuery(recorder, start, false, result);
          return result;
        },
        (err: unknown) => {
          finishQuery(recorder, start, true, err);
          throw err;
        },
      );
    }
    return returned;
  };
  return query;
}

function isThenable(x: unknown): x is Promise<unknown> {
  return x !== null && typeof x === 'object' && typeof (x as { then?: unknown }).then === 'function';
}
