/**
 * Per-instance instrumentation state, kept in a WeakMap keyed by the pg object (never on it), and
 * shared by the wrappers installed on that object.
 */
import type { PgConnectionTarget } from './connection-target.js';
import type { QueryMethod } from './pg-shapes.js';
import type { Recorder } from './recorder.js';

/** Turned off by `uninstrument`; a pool's clients share the pool's switch. */
export interface InstrumentSwitch {
  on: boolean;
}

export interface TargetState {
  readonly kind: 'pool' | 'client';
  /** The instrumented object (its prototype's `query` is looked up at call time). */
  readonly self: object;
  readonly recorder: Recorder;
  readonly target: PgConnectionTarget;
  readonly switch: InstrumentSwitch;
  /**
   * The `query` the instance already had as an own property (another instance-level wrapper),
   * kept as our inner function; undefined means "whatever the prototype has now".
   */
  readonly ownQuery: QueryMethod | undefined;
  /** The wrapper we installed, to tell on uninstrument whether someone wrapped it since. */
  query: QueryMethod | undefined;
}

export interface ClientState extends TargetState {
  readonly kind: 'client';
  /** Prepared statement name → text on this connection, so `{ name, values }` still has its SQL. */
  statements: Map<string, string> | undefined;
}

export interface PoolState extends TargetState {
  readonly kind: 'pool';
  readonly ownConnect: ((callback?: unknown) => unknown) | undefined;
  connect: ((callback?: unknown) => unknown) | undefined;
  /** The 'connect'/'acquire' listener that instruments the pool's clients. */
  readonly onClient: (client: unknown) => void;
}
