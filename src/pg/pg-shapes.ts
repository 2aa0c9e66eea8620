/**
 * node-postgres, described structurally: only the members querylens touches, so any pg 8 copy (or
 * pg-native's client, or an ORM's bundled pg) fits, and nothing but types is imported from 'pg'.
 * `isPgPool`/`isPgClient` recognise instances by shape, never by `instanceof` (there may be several
 * copies of pg in one process).
 */
export type QueryMethod = (this: unknown, config: unknown, values?: unknown, callback?: unknown) => unknown;
type Listener = (...args: unknown[]) => void;

export interface PgEmitterLike {
  on(event: string, listener: Listener): unknown;
  prependListener?(event: string, listener: Listener): unknown;
  removeListener(event: string, listener: Listener): unknown;
}

export interface PgClientLike extends PgEmitterLike {
  query: QueryMethod;
  connect: (...args: never[]) => unknown;
  end: (...args: never[]) => unknown;
  /** Resolved connection parameters (pg.Client sets these from config, URL and environment). */
  readonly host?: unknown;
  readonly port?: unknown;
  readonly database?: unknown;
}

export interface PgPoolLike extends PgEmitterLike {
  query: QueryMethod;
  connect: (callback?: unknown) => unknown;
  end: (...args: never[]) => unknown;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount?: number;
  readonly options?: { readonly host?: unknown; readonly port?: unknown; readonly database?: unknown; readonly connectionString?: unknown };
}

/** A pg query config object (`{ text, values, name, rowMode, types, callback }`). */
export interface PgQueryConfigLike {
  readonly text?: unknown;
  readonly values?: unknown;
  readonly name?: unknown;
  readonly callback?: unknown;
}

/** A Submittable (pg-cursor, pg-query-stream, a pg.Query): pg drives it through these handlers. */
export interface PgSubmittableLike {
  submit(connection: unknown): unknown;
  handleDataRow?: (msg: unknown) => unknown;
  handleCommandComplete?: (msg: unknown, connection?: unknown) => unknown;
  handleReadyForQuery?: (connection?: unknown) => unknown;
  handleError?: (error: unknown, connection?: unknown) => unknown;
  readonly text?: unknown;
  readonly values?: unknown;
  readonly name?: unknown;
  /** pg-query-stream keeps its text on the cursor it wraps. */
  readonly cursor?: { readonly text?: unknown; readonly values?: unknown };
}

/** The parts of the `pg` module `pgModule()` relies on. */
export interface PgModuleLike {
  readonly Pool: new (...args: never[]) => PgPoolLike;
  readonly Client: new (...args: never[]) => PgClientLike;
}

type ProtoMethods = { readonly query: QueryMethod; readonly connect: (this: unknown, callback?: unknown) => unknown };

/**
 * The `query` pg has right now: looked up on the prototype at call time, so a later patch (an APM)
 * is honoured. One function per method name: a named property load stays a fast inline-cache hit,
 * where a lookup by a variable key through several prototypes does not (it runs on every query).
 */
export function protoQuery(self: object): QueryMethod {
  return (Object.getPrototypeOf(self) as ProtoMethods).query;
}

/** The `connect` pg-pool has right now (see protoQuery). */
export function protoConnect(self: object): ProtoMethods['connect'] {
  return (Object.getPrototypeOf(self) as ProtoMethods).connect;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object';
}

function hasClientMethods(x: Record<string, unknown>): boolean {
  return typeof x['query'] === 'function' && typeof x['connect'] === 'function' && typeof x['end'] === 'function' && typeof x['on'] === 'function' && typeof x['removeListener'] === 'function';
}

export function isPgPool(x: unknown): x is PgPoolLike {
  return isObject(x) && hasClientMethods(x) && typeof x['totalCount'] === 'number' && typeof x['idleCount'] === 'number';
}

export function isPgClient(x: unknown): x is PgClientLike {
  return isObject(x) && hasClientMethods(x) && !isPgPool(x);
}

export function isSubmittable(x: unknown): x is PgSubmittableLike {
  return isObject(x) && typeof x['submit'] === 'function';
}

/** How `instrument()` names what it was given when it is not a pool or client. */
export function describeNonPg(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (typeof x === 'function') {
    const name = (x as { name?: unknown }).name;
    return `a function${typeof name === 'string' && name !== '' ? ` (${name})` : ''}; pass an instance (new pg.Pool(…)), not the class`;
  }
  if (typeof x !== 'object') return `a ${typeof x} (${JSON.stringify(x)?.slice(0, 40) ?? String(x)})`;
  const o = x as Record<string, unknown>;
  if (typeof o['Pool'] === 'function' && typeof o['Client'] === 'function') return 'the pg module itself; use lens.pgModule(pg) or instrument a pool/client';
  if (typeof (o as { then?: unknown }).then === 'function') return 'a promise; await it first';
  const ctor = (Object.getPrototypeOf(o) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  const keys = Object.keys(o).slice(0, 6);
  const kind = typeof ctor === 'string' && ctor !== 'Object' ? `an instance of ${ctor}` : 'a plain object';
  return `${kind}${keys.length > 0 ? ` with keys ${keys.join(', ')}` : ''}`;
}
