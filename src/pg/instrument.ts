/**
 * `instrument(poolOrClient)`: patches that very instance, in place, and returns it (ORMs check
 * `instanceof pg.Pool`, so a wrapper object would break them). Idempotent, marked with a
 * registry symbol so another copy of querylens does not wrap it twice, and reversible with
 * `uninstrument`. A pool's clients are instrumented as pg-pool hands them out, through its public
 * 'connect' (prepended, so queries in the application's own 'connect' listeners are seen) and
 * 'acquire' events. Our methods are own, non-enumerable, writable properties, so an APM can wrap
 * them in turn; the pg methods underneath are looked up on the prototype at call time.
 */
import { createClientQuery } from './client-query.js';
import type { ConnectionTarget } from '../core/query-event.js';
import { PgConnectionTarget } from './connection-target.js';
import type { PgClientLike, PgPoolLike } from './pg-shapes.js';
import { describeNonPg, isPgClient, isPgPool } from './pg-shapes.js';
import { createPoolConnect, createPoolQuery } from './pool-hooks.js';
import type { Recorder } from './recorder.js';
import type { ClientState, InstrumentSwitch, PoolState, TargetState } from './target-state.js';

/** Marks an instrumented instance for every copy of querylens in the process. */
export const INSTRUMENTED: unique symbol = Symbol.for('querylens.instrumented') as never;

const states = new WeakMap<object, TargetState>();

export interface InstrumentOptions {
  /** Name for logs, spans and per-pool metrics. Default `database@host:port` once known. */
  readonly name?: string;
}

function install(obj: object, key: string | symbol, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, configurable: true, enumerable: false });
}

function ownMethod<T>(obj: object, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? ((obj as Record<string, unknown>)[key] as T) : undefined;
}

/** Puts back what was there before our wrapper, unless someone wrapped ours since (then it stays, switched off). */
function restore(obj: object, key: string, ours: unknown, previous: unknown): void {
  if ((obj as Record<string, unknown>)[key] !== ours) return;
  if (previous === undefined) delete (obj as Record<string, unknown>)[key];
  else install(obj, key, previous);
}

/** The target an instrumented pool or client names in its events (undefined if this copy of querylens did not instrument it). */
export function connectionTargetOf(obj: unknown): ConnectionTarget | undefined {
  return obj !== null && typeof obj === 'object' ? states.get(obj)?.target : undefined;
}

/** True if this object is instrumented (by this or another copy of querylens) and switched on. */
export function isInstrumented(obj: object): boolean {
  const state = states.get(obj);
  return state !== undefined ? state.switch.on : (obj as { [INSTRUMENTED]?: unknown })[INSTRUMENTED] === true;
}

/** Makes room for a new instrumentation if the old one was switched off; false if it is live. */
function clearStale(obj: object): boolean {
  if ((obj as { [INSTRUMENTED]?: unknown })[INSTRUMENTED] !== true) return true;
  const state = states.get(obj);
  if (state === undefined || state.switch.on) return false; // live here, or owned by another copy
  removeWrappers(obj, state);
  return true;
}

function instrumentClient(client: PgClientLike, recorder: Recorder, target: PgConnectionTarget, sw: InstrumentSwitch): void {
  if (!clearStale(client)) return;
  const state: ClientState = {
    kind: 'client',
    self: client,
    recorder,
    target,
    switch: sw,
    ownQuery: ownMethod(client, 'query'),
    query: undefined,
    statements: undefined,
  };
  state.query = createClientQuery(state);
  install(client, 'query', state.query);
  install(client, INSTRUMENTED, true);
  states.set(client, state);
}

function instrumentPool(pool: PgPoolLike, recorder: Recorder, name: string | undefined): void {
  if (!clearStale(pool)) return;
  const target = PgConnectionTarget.forPool(pool, name);
  const sw: InstrumentSwitch = { on: true };
  const state: PoolState = {
    kind: 'pool',
    self: pool,
    recorder,
    target,
    switch: sw,
    ownQuery: ownMethod(pool, 'query'),
    ownConnect: ownMethod(pool, 'connect'),
    query: undefined,
    connect: undefined,
    onClient: (client) => {
      // An event listener: whatever happens here must not throw into pg-pool.
      try {
        if (!sw.on) return;
        // Every checkout emits 'acquire': a client instrumented already (the common case) is one lookup.
        if (states.get(client as object)?.switch.on === true) return;
        if (!isPgClient(client)) return;
        target.learnFrom(client);
        instrumentClient(client, recorder, target, sw);
      } catch (err) {
        recorder.internalError(err);
      }
    },
  };
  state.query = createPoolQuery(state);
  state.connect = createPoolConnect(state);
  install(pool, 'query', state.query);
  install(pool, 'connect', state.connect);
  install(pool, INSTRUMENTED, true);
  states.set(pool, state);
  if (typeof pool.prependListener === 'function') pool.prependListener('connect', state.onClient);
  else pool.on('connect', state.onClient);
  pool.on('acquire', state.onClient);
}

/** Patches `target` (a pg Pool or Client) in place and returns it; throws a TypeError for anything else. */
export function instrumentPg<T>(target: T, recorder: Recorder, options: InstrumentOptions = {}): T {
  const name = options.name;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new TypeError(`querylens: instrument() option "name" must be a non-empty string; got ${describeNonPg(name)}`);
  }
  if (isPgPool(target)) instrumentPool(target, recorder, name);
  else if (isPgClient(target)) instrumentClient(target, recorder, PgConnectionTarget.forClient(target, name), { on: true });
  else throw new TypeError(`querylens: instrument() expects a pg.Pool or pg.Client instance; got ${describeNonPg(target)}`);
  return target;
}

function removeWrappers(obj: object, state: TargetState): void {
  state.switch.on = false;
  restore(obj, 'query', state.query, state.ownQuery);
  if (state.kind === 'pool') {
    const pool = state as PoolState;
    restore(obj, 'connect', pool.connect, pool.ownConnect);
    const emitter = obj as PgPoolLike;
    emitter.removeListener('connect', pool.onClient);
    emitter.removeListener('acquire', pool.onClient);
  }
  delete (obj as { [INSTRUMENTED]?: unknown })[INSTRUMENTED];
  states.delete(obj);
}

/**
 * Removes the instrumentation from `target` (idempotent). Clients a pool already handed out keep
 * a wrapper that now passes straight through.
 */
export function uninstrumentPg<T>(target: T): T {
  if (target !== null && typeof target === 'object') {
    const state = states.get(target);
    if (state !== undefined) removeWrappers(target, state);
  }
  return target;
}
