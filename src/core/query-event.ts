/**
 * The vocabulary one query's life is told in. The pg layer builds a `QueryStartEvent` when the
 * application calls `query()` (everything known at call time: SQL, scope, call site, start time)
 * and a `QueryEndEvent` when pg hands the result or error back. Both are read-only records: sinks
 * keep references to them (detectors hold a scope's events until it ends), so nobody may mutate
 * them. Everything costly is lazy: the call site is raw V8 frames until someone resolves it, and
 * the result rows are pg's own objects, never copied.
 */
import type { SqlInfo } from './sql-info.js';
import type { Finding } from './finding.js';

/** Where in the application a query was issued, relative to the project root. */
export interface Callsite {
  /** Path relative to the project root, with `/` separators (`src/routes/posts.ts`). */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** The enclosing function's name, when V8 knows one. */
  readonly function?: string;
}

/**
 * A call site captured as raw V8 frames. Capturing is cheap; decoding (frame objects, source maps,
 * path relativising) happens on the first `resolve()` and is memoised.
 */
export interface CallsiteCapture {
  /** The first application frame, or undefined when every frame was library code or the stack was too deep. */
  resolve(): Callsite | undefined;
}

/** What started a unit of work: `lens.scope()`, the HTTP middleware, or an OpenTelemetry trace. */
export type ScopeKind = 'scope' | 'request' | 'trace';

/** A unit of work as sinks see it. Identity is the object; `id` is for logs and findings. */
export interface ScopeInfo {
  readonly id: string;
  /** For requests, `METHOD /route/:pattern` once the router has matched (read it at scope end). */
  readonly name: string;
  readonly kind: ScopeKind;
  /** The enclosing scope, when scopes nest (a test helper scope inside a request scope). */
  readonly parent: ScopeInfo | undefined;
  /** `performance.now()` at scope start. */
  readonly startTime: number;
  /** Findings reported for this scope so far (bounded). */
  readonly findings: readonly Finding[];
}

/** What an ORM adapter knows about the operation that is issuing queries (`lens.withOperation`). */
export interface OperationInfo {
  /** 'prisma', 'drizzle', 'typeorm', 'sequelize', 'knex', 'kysely', … */
  readonly orm?: string;
  readonly model?: string;
  /** 'findMany', 'findUnique', 'load', … */
  readonly operation?: string;
  /** The relation being loaded, for lazy/eager association loads. */
  readonly relation?: string;
}

/** An operation frame on the async context: the adapter's info plus where the application called the ORM. */
export interface OperationFrame extends OperationInfo {
  /** The application's call into the ORM, captured when the operation started (preferred over the pg call site). */
  readonly callsite: CallsiteCapture | undefined;
  readonly parent: OperationFrame | undefined;
}

/** pg-pool's live counters, read on demand (for per-pool connection metrics). */
export interface PoolCounts {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

/**
 * The instrumented pool or client a query went through: one stable object per `instrument()` call
 * (clients a pool hands out share the pool's), so per-pool metrics can key on identity.
 */
export interface ConnectionTarget {
  readonly kind: 'pool' | 'client';
  /** `instrument(x, { name })`, else `database@host:port`, else 'pg'. */
  readonly name: string;
  readonly database: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** Live pool counters, or undefined for a standalone client (or a pool that was collected). */
  poolCounts(): PoolCounts | undefined;
}

/** One pg `Result`, seen read-only. Sinks may read rows; they must not keep or mutate them beyond the event. */
export interface ResultView {
  readonly command: string;
  readonly rowCount: number | null;
  readonly rows: readonly unknown[];
  readonly fields: readonly { readonly name: string; readonly dataTypeID: number }[];
}

interface QueryEventBase {
  /** Increasing per lens; start and end of one query share it. */
  readonly id: number;
  /** One scan of `text` (fingerprint, statement class, summary, tables …), memoised by text. */
  readonly sql: SqlInfo;
  /** The SQL as sent ('' for an unnamed statement whose text pg never saw). May contain literals: sanitize before logging. */
  readonly text: string;
  /** Bound parameters as the application passed them. Private: never log or export them unless the user opted in. */
  readonly values: readonly unknown[] | undefined;
  /** Prepared statement name (`{ name }` config), if any. */
  readonly name: string | undefined;
  /** `performance.now()` when pg was called. */
  readonly startTime: number;
  /** Wall clock at `startTime`, ms since the epoch (for log records and span start times). */
  readonly startTimeUnixMs: number;
  /** Where the application issued the query; undefined when the call-site policy skipped it. */
  readonly callsite: CallsiteCapture | undefined;
  /** The unit of work, captured when `query()` was called. */
  readonly scope: ScopeInfo | undefined;
  /** The innermost `withOperation` frame, if an adapter set one. */
  readonly operation: OperationFrame | undefined;
  readonly target: ConnectionTarget;
  /** Time spent waiting for a pool connection (`pool.query` only), ms. */
  readonly poolWaitMs: number | undefined;
  /** Issued inside `lens.ignore()`: observable (spans, stats) but not to be analysed for findings. */
  readonly ignored: boolean;
  /** A Submittable (pg-cursor, pg-query-stream): rows were streamed, `result` is undefined. */
  readonly streamed: boolean;
  /**
   * The pg client (connection) the statement ran on — for identity only (per-connection state such
   * as transactions, kept in a WeakMap); never call it. Undefined when the pg layer did not know it.
   */
  readonly connection?: object | undefined;
  /**
   * The OpenTelemetry context active when the application called `query()` (opaque; captured only
   * while tracing is on). `pool.query` reaches pg's `client.query` from whichever request released
   * a connection, so a span must be parented on this, not on the context active at that point.
   */
  readonly callContext?: unknown;
}

export interface QueryStartEvent extends QueryEventBase {
  readonly type: 'query-start';
}

export interface QueryEndEvent extends QueryEventBase {
  readonly type: 'query-end';
  /** From the `query()` call to pg's callback/resolution, ms. */
  readonly durationMs: number;
  /** Rows returned or affected (summed over a multi-statement text), undefined on error or when pg gave none. */
  readonly rowCount: number | undefined;
  /**
   * pg's own result object(s), exactly as the application receives them (an array for a
   * multi-statement text). Not copied: read `rows` during `handle()` only.
   */
  readonly result: ResultView | readonly ResultView[] | undefined;
  /** The error object pg produced (the same object the application gets). */
  readonly error: unknown;
  /** SQLSTATE of a server error (`23505`), else undefined. */
  readonly sqlstate: string | undefined;
}

export type QueryEvent = QueryStartEvent | QueryEndEvent;

export interface ScopeStartEvent {
  readonly type: 'scope-start';
  readonly scope: ScopeInfo;
}

export interface ScopeEndEvent {
  readonly type: 'scope-end';
  readonly scope: ScopeInfo;
  /** `performance.now()` at scope end. */
  readonly endTime: number;
  /** The scope's function threw / the request failed. */
  readonly failed: boolean;
}

export type ScopeEvent = ScopeStartEvent | ScopeEndEvent;

/**
 * A checkout from an instrumented pool failed because pg-pool's `connectionTimeoutMillis` elapsed
 * (waiting for a free connection, or opening a new one). Emitted only when some sink accepts it.
 */
export interface PoolTimeoutEvent {
  readonly type: 'pool-timeout';
  readonly target: ConnectionTarget;
  readonly scope: ScopeInfo | undefined;
  /** The error pg-pool gave the application (the same object). */
  readonly error: unknown;
}

/** Everything that flows through the pipeline. */
export type LensEvent = QueryEvent | ScopeEvent | PoolTimeoutEvent;
export type LensEventType = LensEvent['type'];
