/**
 * Options are resolved once, at `createLens`: unknown keys and bad values throw an
 * `InvalidOptionError` naming the key and the valid choices, defaults are filled in per mode, and
 * the result is frozen. Nothing on the per-query path reads `process.env` or the user's object.
 * Adding an option is one entry in `OPTION_SPECS` plus its field in `LensOptions`.
 */
import { isAbsolute, resolve } from 'node:path';
import { InvalidOptionError } from './errors.js';
import type { QueryEndEvent, QueryStartEvent } from './query-event.js';

/**
 * - `development`: pretty console warnings, call sites everywhere.
 * - `test`: findings throw at the end of a scope, so a test fails on a new N+1.
 * - `production`: structured logs, spans, metrics, sampled call sites; nothing ever throws into the app.
 */
export type LensMode = 'development' | 'test' | 'production';

/**
 * How often a query's call site is captured (as raw V8 frames; decoding is always lazy):
 * - `always`: every query. Costs ~1–3 µs CPU per query (the capture), more when deeply nested.
 * - `on-demand`: queries inside a unit of work (scope, request, trace) or an adapter operation,
 *   where findings need them; queries outside any unit of work get none.
 * - `sampled`: inside units of work, one query in `1 / callsiteSampleRate` (a counter, not a random
 *   draw); outside them (where only statistics and span attributes use call sites), the first 4
 *   executions of each statement text, then one query in ten times that interval.
 * - `off`: never; findings and logs carry no call site.
 */
export type CallsitePolicy = 'always' | 'on-demand' | 'sampled' | 'off';

/**
 * Which fingerprint groups queries:
 * - `querylens`: the built-in structural fingerprint, grouping as libpg_query 17 does (~1.3 µs per
 *   new text, memoised per text).
 * - `pg18`: the same, ignoring schema names as libpg_query 18 does (`a.posts` = `b.posts`).
 * - `pg_query`: libpg_query itself, through the optional `libpg-query` package (≥ 18), for
 *   fingerprints that must match pganalyze or pg_query elsewhere; ~5× the cost of the built-in one.
 *   createLens throws when the package is not installed.
 */
export type FingerprintMode = 'querylens' | 'pg18' | 'pg_query';

/**
 * The logger shape querylens writes to (pino's object-first methods): pino itself, a pino child,
 * or anything with these four methods. `isLevelEnabled` is consulted, when present, before costly
 * records are built. Declared here so options can name it; `report/logger.ts` re-exports it.
 */
export interface LoggerLike {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  isLevelEnabled?(level: string): boolean;
}

/**
 * One allow-list entry: a finding is not reported when every field given matches (at least one
 * must be given). Checked at report time only, never per query.
 * - `sql`: a string contained in the statement text (or equal to its fingerprint), or a RegExp tested on the text.
 * - `callsite`: a glob on the call site's `file` (`src/jobs/**`, `**\/seed.ts`; `*` stays inside one
 *   path segment, `**` crosses them), also tried on `file:line`; or a RegExp tested on `file:line`.
 * - `function`: the call site's function name, exactly, or a RegExp tested on it.
 * @example allow: [{ sql: /FROM feature_flags/ }, { callsite: 'src/admin/**' }, { function: 'warmCache' }]
 */
export interface AllowRule {
  readonly sql?: string | RegExp;
  readonly callsite?: string | RegExp;
  readonly function?: string | RegExp;
}

export interface NPlusOneOptions {
  /**
   * Repeats of one read shape from one call site, with as many distinct parameter sets, that make
   * an N+1 without result-row evidence. (With evidence that the parameters came from an earlier
   * query's rows, 2 repeats are enough.) Default 5; at least 2.
   * @example { nPlusOne: { threshold: 10 } }
   */
  readonly threshold?: number;
}

export interface DuplicatesOptions {
  /** Executions of one read with identical parameters that make a duplicate finding. Default 2. */
  readonly threshold?: number;
}

export interface BatchableWritesOptions {
  /** INSERT/UPDATE/DELETE repeats from one call site, with distinct parameters, that are reported. Default 5. */
  readonly threshold?: number;
}

export interface LargeResultOptions {
  /** A read returning more rows than this is reported (once per shape and scope). Default 10 000. */
  readonly rows?: number;
}

export interface StatsOptions {
  /**
   * Distinct fingerprints tracked; the least recently used is evicted beyond this. Default 1000.
   * Memory is roughly 3 KB per fingerprint at the default reservoir size.
   * @example { stats: { maxFingerprints: 200 } }
   */
  readonly maxFingerprints?: number;
  /** Durations kept per fingerprint (uniform reservoir) for p50/p95. Default 256. */
  readonly reservoirSize?: number;
  /** Distinct call sites remembered per fingerprint (the first ones seen). Default 3. */
  readonly callsitesPerFingerprint?: number;
}

export interface LensOptions {
  /**
   * Default from `NODE_ENV`: `production` → 'production', `test` → 'test', anything else → 'development'.
   * @example createLens({ mode: 'production' })
   */
  readonly mode?: LensMode;
  /**
   * Project root that call-site paths are made relative to. Default `process.cwd()` at `createLens`.
   * @example createLens({ root: new URL('..', import.meta.url).pathname })
   */
  readonly root?: string;
  /**
   * Call-site capture policy. Default: 'always' in development and test, 'sampled' in production
   * (one query in 20 at the default rate, well under 0.2 µs per query on average).
   * @example createLens({ callsites: 'on-demand' })
   */
  readonly callsites?: CallsitePolicy;
  /** Fraction of queries whose call site is captured under `callsites: 'sampled'`, in (0, 1]. Default 0.05. */
  readonly callsiteSampleRate?: number;
  /**
   * Stack frames captured per call site (`Error.stackTraceLimit` is raised to this only during the
   * capture). Deeper ORMs need more; each frame costs ~50 ns. Default 32.
   */
  readonly callsiteDepth?: number;
  /**
   * When a query runs outside any lens scope but inside an active OpenTelemetry span, its trace is
   * the unit of work (requires `@opentelemetry/api` and a registered context manager). Default true.
   * The trace's unit of work ends after `traceScopeIdleMs` without queries.
   */
  readonly traceScopes?: boolean;
  /** Idle time after which a trace's unit of work is ended, ms. Default 2000. */
  readonly traceScopeIdleMs?: number;
  /**
   * Per-fingerprint statistics for `lens.stats()`. Default enabled; `false` removes the sink
   * (and its ~0.1 µs per query).
   */
  readonly stats?: boolean | StatsOptions;
  /** Distinct SQL texts whose analysis (fingerprint, summary …) is memoised. Default 5000. */
  readonly sqlMemo?: number;
  /**
   * Fingerprint algorithm (see FingerprintMode). Default 'querylens' in every mode.
   * @example createLens({ fingerprint: 'pg_query' }) // needs `npm install libpg-query`
   */
  readonly fingerprint?: FingerprintMode;
  /**
   * N+1 detection per unit of work. Default `{ threshold: 5 }` in every mode; `false` turns it off,
   * and (unless `callsites` is set) also stops call-site capture, so it costs nothing.
   * Per query: one Map lookup and a few counters in the scope (~0.5 µs); grouping by call site,
   * result-row linking and messages are done at scope end, for repeated shapes only.
   * @example createLens({ nPlusOne: { threshold: 3 } })
   */
  readonly nPlusOne?: boolean | NPlusOneOptions;
  /**
   * Duplicate reads (same shape, identical parameters) per unit of work. Default `{ threshold: 2 }`
   * in development and test, `false` in production (a cache hint, not a bug).
   */
  readonly duplicates?: boolean | DuplicatesOptions;
  /** Write loops (INSERT/UPDATE/DELETE per row) per unit of work. Default `{ threshold: 5 }` in every mode. */
  readonly batchableWrites?: boolean | BatchableWritesOptions;
  /**
   * Statements one unit of work may issue before a `query-budget` finding (transaction control and
   * session statements do not count). Default `false` (no budget) in every mode.
   * @example createLens({ budget: 50 })
   */
  readonly budget?: number | false;
  /** Reads returning huge results. Default `{ rows: 10000 }` in every mode; `false` turns it off. */
  readonly largeResult?: boolean | LargeResultOptions;
  /** Findings never to report (see AllowRule). Default `[]`. */
  readonly allow?: readonly AllowRule[];
  /**
   * A unit of work older than this (ms) reports a group as soon as it crosses its threshold rather
   * than at its end (background jobs that run for minutes). Still once per group. Default 30 000;
   * `false`: only at the end.
   */
  readonly reportAfterMs?: number | false;
  /**
   * Where findings (development: readable warnings; production: structured records at warn) and
   * slow-query records are written. Default: a pino logger — JSON to stdout at level info in
   * production, human-readable to stderr (pino-pretty when installed) in development (level info)
   * and test (level warn). `false`: no logging at all (listeners still get every finding).
   * @example createLens({ logger: pino({ level: 'warn' }).child({ module: 'db' }) })
   */
  readonly logger?: LoggerLike | false;
  /**
   * OpenTelemetry spans: one CLIENT span per statement (see TracingOptions). Default on in every
   * mode; spans are only made when an OpenTelemetry SDK is registered (or `tracerProvider` given).
   * Cost without an SDK: one provider lookup per query (~0.05 µs); with one, ~2–4 µs per recorded
   * span plus whatever the span processor does. `false` removes the sink.
   * @example createLens({ tracing: { requireParentSpan: true } })
   */
  readonly tracing?: boolean | TracingOptions;
  /**
   * OpenTelemetry metrics (`db.client.operation.duration`, pool connection counts,
   * `querylens.findings`; returned rows and pool wait/use times on request). Default on in every
   * mode; recorded only when an SDK meter provider is registered (or `meterProvider` given). Cost
   * without an SDK: one provider lookup per query; with one, ~1.5 µs per query (one histogram
   * record). `false` removes the sink.
   * @example createLens({ metrics: { meterProvider, returnedRows: true, poolTimes: true } })
   */
  readonly metrics?: boolean | MetricsOptions;
  /**
   * The slow-query log (pino records at warn, plus a `slow-query` finding). Default on: threshold
   * 200 ms in development (with `explain`), 1000 ms in test, 500 ms in production (no EXPLAIN).
   * Cost: one comparison per query; a slow one costs a log record (and, with `explain`, one
   * EXPLAIN round trip per fingerprint per 10 minutes, rate limited). `false` turns it off.
   * @example createLens({ slowQuery: { thresholdMs: 250, explain: { maxPerMinute: 2 } } })
   */
  readonly slowQuery?: boolean | SlowQueryOptions;
}

export interface ResolvedStatsOptions {
  readonly maxFingerprints: number;
  readonly reservoirSize: number;
  readonly callsitesPerFingerprint: number;
}

export interface ResolvedLensOptions {
  readonly mode: LensMode;
  readonly root: string;
  readonly callsites: CallsitePolicy;
  readonly callsiteSampleRate: number;
  readonly callsiteDepth: number;
  readonly traceScopes: boolean;
  readonly traceScopeIdleMs: number;
  readonly stats: ResolvedStatsOptions | false;
  readonly sqlMemo: number;
  readonly fingerprint: FingerprintMode;
  readonly nPlusOne: { readonly threshold: number } | false;
  readonly duplicates: { readonly threshold: number } | false;
  readonly batchableWrites: { readonly threshold: number } | false;
  readonly budget: number | false;
  readonly largeResult: { readonly rows: number } | false;
  readonly allow: readonly AllowRule[];
  readonly reportAfterMs: number | false;
  /** The user's logger, `false`, or undefined (the lens builds the default one). */
  readonly logger: LoggerLike | false | undefined;
  readonly tracing: ResolvedTracingOptions | false;
  readonly metrics: ResolvedMetricsOptions | false;
  readonly slowQuery: ResolvedSlowQueryOptions | false;
}

const MODES: readonly LensMode[] = ['development', 'test', 'production'];
const CALLSITE_POLICIES: readonly CallsitePolicy[] = ['always', 'on-demand', 'sampled', 'off'];

const DEFAULT_CALLSITES: Readonly<Record<LensMode, CallsitePolicy>> = {
  development: 'always',
  test: 'always',
  production: 'sampled',
};

const STATS_DEFAULTS: ResolvedStatsOptions = { maxFingerprints: 1000, reservoirSize: 256, callsitesPerFingerprint: 3 };

type Check = (value: unknown, path: string) => void;

/** How an option's bad value is named in error messages (also by the cache's options). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : `an object`;
}

const oneOf =
  (values: readonly string[]): Check =>
  (value, path) => {
    if (typeof value !== 'string' || !values.includes(value)) {
      throw new InvalidOptionError(path, `querylens: option "${path}" must be one of ${values.map((v) => `'${v}'`).join(' | ')}; got ${describe(value)}`);
    }
  };

const integer =
  (min: number, max: number): Check =>
  (value, path) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidOptionError(path, `querylens: option "${path}" must be an integer from ${min} to ${max}; got ${describe(value)}`);
    }
  };

const fraction: Check = (value, path) => {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new InvalidOptionError(path, `querylens: option "${path}" must be a number in (0, 1]; got ${describe(value)}`);
  }
};

const bool: Check = (value, path) => {
  if (typeof value !== 'boolean') throw new InvalidOptionError(path, `querylens: option "${path}" must be a boolean; got ${describe(value)}`);
};

const nonEmptyString: Check = (value, path) => {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidOptionError(path, `querylens: option "${path}" must be a non-empty string; got ${describe(value)}`);
  }
};

const STATS_SPECS: Readonly<Record<keyof StatsOptions, Check>> = {
  maxFingerprints: integer(1, 1_000_000),
  reservoirSize: integer(1, 100_000),
  callsitesPerFingerprint: integer(0, 100),
};

const statsCheck: Check = (value, path) => {
  if (typeof value === 'boolean') return;
  checkObject(value, STATS_SPECS, path);
};

/** `true`, `false`, or an object checked against `specs`. */
const toggle =
  (specs: Readonly<Record<string, Check>>): Check =>
  (value, path) => {
    if (typeof value === 'boolean') return;
    checkObject(value, specs, path);
  };

const integerOrFalse =
  (min: number, max: number): Check =>
  (value, path) => {
    if (value === false) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidOptionError(path, `querylens: option "${path}" must be false or an integer from ${min} to ${max}; got ${describe(value)}`);
    }
  };

const ALLOW_RULE_KEYS = ['sql', 'callsite', 'function'] as const;

const allowCheck: Check = (value, path) => {
  if (!Array.isArray(value)) throw new InvalidOptionError(path, `querylens: option "${path}" must be an array of { sql?, callsite?, function? }; got ${describe(value)}`);
  value.forEach((rule: unknown, i) => {
    const at = `${path}[${i}]`;
    const patternCheck: Check = (v, p) => {
      if (!(v instanceof RegExp) && (typeof v !== 'string' || v === '')) {
        throw new InvalidOptionError(p, `querylens: option "${p}" must be a non-empty string or a RegExp; got ${describe(v)}`);
      }
    };
    checkObject(rule, { sql: patternCheck, callsite: patternCheck, function: patternCheck }, at);
    if (!ALLOW_RULE_KEYS.some((k) => (rule as Record<string, unknown>)[k] !== undefined)) {
      throw new InvalidOptionError(at, `querylens: option "${at}" must give at least one of ${ALLOW_RULE_KEYS.join(', ')}`);
    }
  });
};

const loggerCheck: Check = (value, path) => {
  if (value === false) return;
  const v = value as Record<string, unknown> | null;
  const missing = ['warn', 'info', 'debug', 'error'].filter((m) => v === null || (typeof v !== 'object' && typeof v !== 'function') || typeof v[m] !== 'function');
  if (missing.length > 0) {
    throw new InvalidOptionError(path, `querylens: option "${path}" must be false or a logger with warn/info/debug/error methods (pino or alike); got ${describe(value)}${v !== null && typeof v === 'object' ? ` without ${missing.join(', ')}` : ''}`);
  }
};

const OPTION_SPECS: Readonly<Record<keyof LensOptions, Check>> = {
  mode: oneOf(MODES),
  root: nonEmptyString,
  callsites: oneOf(CALLSITE_POLICIES),
  callsiteSampleRate: fraction,
  callsiteDepth: integer(1, 200),
  traceScopes: bool,
  traceScopeIdleMs: integer(1, 3_600_000),
  stats: statsCheck,
  sqlMemo: integer(0, 10_000_000),
  fingerprint: oneOf(['querylens', 'pg18', 'pg_query']),
  nPlusOne: toggle({ threshold: integer(2, 1_000_000) }),
  duplicates: toggle({ threshold: integer(2, 1_000_000) }),
  batchableWrites: toggle({ threshold: integer(2, 1_000_000) }),
  budget: integerOrFalse(1, 100_000_000),
  largeResult: toggle({ rows: integer(1, 1_000_000_000) }),
  allow: allowCheck,
  reportAfterMs: integerOrFalse(1, 86_400_000),
  logger: loggerCheck,
  tracing: tracingCheck,
  metrics: metricsCheck,
  slowQuery: slowQueryCheck,
};

/** Per-mode defaults of the detectors (see LensOptions for what each does). */
const DETECT_DEFAULTS: Readonly<Record<LensMode, { readonly duplicates: boolean }>> = {
  development: { duplicates: true },
  test: { duplicates: true },
  production: { duplicates: false },
};

function toggled<T extends object>(value: boolean | T | undefined, enabledByDefault: boolean, defaults: Required<T>): Readonly<Required<T>> | false {
  if (value === false || (value === undefined && !enabledByDefault)) return false;
  return Object.freeze({ ...defaults, ...(value === true || value === undefined ? {} : stripUndefined(value)) }) as Readonly<Required<T>>;
}

/** Levenshtein distance, for "did you mean" on misspelt keys (options are validated once). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function checkObject(value: unknown, specs: Readonly<Record<string, Check>>, path: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(path, `querylens: ${path === '' ? 'options' : `option "${path}"`} must be an object; got ${describe(value)}`);
  }
  const valid = Object.keys(specs);
  for (const key of Object.keys(value)) {
    const full = path === '' ? key : `${path}.${key}`;
    const check = Object.hasOwn(specs, key) ? specs[key] : undefined;
    if (check === undefined) {
      const near = valid.find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
      const hint = near === undefined ? '' : ` (did you mean "${near}"?)`;
      throw new InvalidOptionError(full, `querylens: unknown option "${full}"${hint}. Valid options${path === '' ? '' : ` of "${path}"`}: ${valid.join(', ')}`);
    }
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) check(v, full);
  }
}

/** The mode `NODE_ENV` implies. */
export function modeFromEnv(nodeEnv: string | undefined): LensMode {
  if (nodeEnv === 'production') return 'production';
  if (nodeEnv === 'test') return 'test';
  return 'development';
}

/** Validates `options` (throws `InvalidOptionError`), fills defaults and freezes the result. */
export function resolveLensOptions(options: unknown = {}, env: { readonly NODE_ENV?: string | undefined } = process.env): ResolvedLensOptions {
  checkObject(options, OPTION_SPECS, '');
  const o = options as LensOptions;
  const mode = o.mode ?? modeFromEnv(env.NODE_ENV);
  const root = o.root === undefined ? process.cwd() : isAbsolute(o.root) ? o.root : resolve(o.root);
  const stats = o.stats === false ? false : Object.freeze({ ...STATS_DEFAULTS, ...(o.stats === true || o.stats === undefined ? {} : stripUndefined(o.stats)) });
  return Object.freeze({
    mode,
    root,
    // With N+1 detection off nothing needs call sites by default: capture none (set `callsites` to keep them).
    callsites: o.callsites ?? (o.nPlusOne === false ? 'off' : DEFAULT_CALLSITES[mode]),
    callsiteSampleRate: o.callsiteSampleRate ?? 0.05,
    callsiteDepth: o.callsiteDepth ?? 32,
    traceScopes: o.traceScopes ?? true,
    traceScopeIdleMs: o.traceScopeIdleMs ?? 2000,
    stats,
    sqlMemo: o.sqlMemo ?? 5000,
    fingerprint: o.fingerprint ?? 'querylens',
    nPlusOne: toggled(o.nPlusOne, true, { threshold: 5 }),
    duplicates: toggled(o.duplicates, DETECT_DEFAULTS[mode].duplicates, { threshold: 2 }),
    batchableWrites: toggled(o.batchableWrites, true, { threshold: 5 }),
    budget: o.budget ?? false,
    largeResult: toggled(o.largeResult, true, { rows: 10_000 }),
    allow: Object.freeze([...(o.allow ?? [])].map((rule) => Object.freeze({ ...rule }))),
    reportAfterMs: o.reportAfterMs ?? 30_000,
    logger: o.logger,
    tracing: resolveTracing(o.tracing),
    metrics: resolveMetrics(o.metrics),
    slowQuery: resolveSlowQuery(o.slowQuery, mode),
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// --- telemetry options (tracing, metrics, slowQuery) ---

/** The part of an OpenTelemetry `TracerProvider` querylens calls: any SDK's provider fits. */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown;
}

/** The part of an OpenTelemetry `MeterProvider` querylens calls: any SDK's provider fits. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): unknown;
}

export type TelemetryAttributeValue = string | number | boolean | string[] | number[] | boolean[];

/** An OpenTelemetry span as the tracing hooks see it (the API's `Span`, described structurally). */
export interface TelemetrySpan {
  setAttribute(key: string, value: TelemetryAttributeValue): unknown;
  addEvent(name: string, attributes?: Readonly<Record<string, TelemetryAttributeValue>>): unknown;
  isRecording(): boolean;
  spanContext(): { readonly traceId: string; readonly spanId: string };
}

export interface TracingOptions {
  /**
   * Where spans go. Default: the global provider of `@opentelemetry/api`, looked up per query, so
   * an SDK registered after `createLens` still gets them.
   */
  readonly tracerProvider?: TracerProviderLike;
  /** Only trace statements issued inside an active span (no root spans from background work). Default false. */
  readonly requireParentSpan?: boolean;
  /**
   * Called when a statement's span starts, with the span and the start event (which carries the
   * parameter values: whatever the hook records is the application's choice). Errors are swallowed
   * (logged once at debug). Default none.
   * @example requestHook: (span, e) => span.setAttribute('app.tenant', tenantOf(e.scope))
   */
  readonly requestHook?: (span: TelemetrySpan, event: QueryStartEvent) => void;
  /** Called before a statement's span ends, with the end event (result, error). Errors are swallowed. Default none. */
  readonly responseHook?: (span: TelemetrySpan, event: QueryEndEvent) => void;
  /**
   * Parameter values recorded as `db.query.parameter.<i>`, by 0-based position in `values` (`$1` is
   * index 0). Default false: no parameter value is ever recorded. Each value is cut to 256 chars.
   * @example captureParameters: [0] // record $1 only
   */
  readonly captureParameters?: false | readonly number[];
  /** `db.query.text` is cut to this many characters (ending in `…`). Default 2048. */
  readonly maxQueryTextLength?: number;
}

export interface MetricsOptions {
  /** Where metrics go. Default: the global meter provider, looked up per query (an SDK registered later is picked up). */
  readonly meterProvider?: MeterProviderLike;
  /**
   * Also record `db.client.response.returned_rows` (a development-status convention): one more
   * histogram record per statement, ~1–1.5 µs CPU with the SDK. Default false.
   */
  readonly returnedRows?: boolean;
  /**
   * Also record `db.client.connection.wait_time` (each `pool.query`'s wait) and
   * `db.client.connection.use_time` (checkout to release), development-status conventions: two
   * histogram records per pool checkout, ~1.5–3 µs CPU with the SDK. Default false. (Connection
   * counts and pending requests are always on: they are observed when the reader collects, at no
   * cost per query.)
   */
  readonly poolTimes?: boolean;
}

export interface ExplainOptions {
  /**
   * Run `EXPLAIN ANALYZE` (executes the SELECT, inside a read-only transaction that is rolled back,
   * under `statement_timeout = timeoutMs`) for measured times and rows. Default false: the plan only.
   */
  readonly analyze?: boolean;
  /** EXPLAINs per minute across the lens, at most (a plan is reused per fingerprint for 10 minutes). Default 10. */
  readonly maxPerMinute?: number;
  /** Statement timeout of the EXPLAIN, ms (its result is given up after twice this). Default 1000. */
  readonly timeoutMs?: number;
}

export interface SlowQueryOptions {
  /** A statement taking at least this long (ms, from the `query()` call to its result) is slow. Default 200 / 1000 / 500 ms (development / test / production). */
  readonly thresholdMs?: number;
  /** Share of slow statements reported, in (0, 1] (deterministic: 0.25 reports every fourth). Default 1. */
  readonly sampleRate?: number;
  /**
   * Attach an `EXPLAIN (FORMAT JSON)` plan summary and an index hint to the record, for
   * parameterized SELECTs, on a connection borrowed from the query's pool. Default true in
   * development, false in test and production. Costs one EXPLAIN round trip per fingerprint per 10 minutes.
   * @example slowQuery: { explain: { analyze: true, timeoutMs: 2000 } }
   */
  readonly explain?: boolean | ExplainOptions;
}

export interface ResolvedTracingOptions {
  readonly tracerProvider: TracerProviderLike | undefined;
  readonly requireParentSpan: boolean;
  readonly requestHook: ((span: TelemetrySpan, event: QueryStartEvent) => void) | undefined;
  readonly responseHook: ((span: TelemetrySpan, event: QueryEndEvent) => void) | undefined;
  /** Allowed parameter indexes; empty: none. */
  readonly captureParameters: readonly number[];
  readonly maxQueryTextLength: number;
}

export interface ResolvedMetricsOptions {
  readonly meterProvider: MeterProviderLike | undefined;
  readonly returnedRows: boolean;
  readonly poolTimes: boolean;
}

export interface ResolvedExplainOptions {
  readonly analyze: boolean;
  readonly maxPerMinute: number;
  readonly timeoutMs: number;
}

export interface ResolvedSlowQueryOptions {
  readonly thresholdMs: number;
  readonly sampleRate: number;
  readonly explain: ResolvedExplainOptions | false;
}

const SLOW_QUERY_DEFAULTS: Readonly<Record<LensMode, { readonly thresholdMs: number; readonly explain: boolean }>> = {
  development: { thresholdMs: 200, explain: true },
  test: { thresholdMs: 1000, explain: false },
  production: { thresholdMs: 500, explain: false },
};

const EXPLAIN_DEFAULTS: ResolvedExplainOptions = { analyze: false, maxPerMinute: 10, timeoutMs: 1000 };

const fn: Check = (value, path) => {
  if (typeof value !== 'function') throw new InvalidOptionError(path, `querylens: option "${path}" must be a function; got ${describe(value)}`);
};

const provider =
  (method: string): Check =>
  (value, path) => {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || typeof (value as Record<string, unknown>)[method] !== 'function') {
      throw new InvalidOptionError(path, `querylens: option "${path}" must be an OpenTelemetry provider with a ${method}() method; got ${describe(value)}`);
    }
  };

const nonNegativeMs: Check = (value, path) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 86_400_000) {
    throw new InvalidOptionError(path, `querylens: option "${path}" must be a number of milliseconds from 0 to 86400000; got ${describe(value)}`);
  }
};

const parameterIndexes: Check = (value, path) => {
  if (value === false) return;
  if (!Array.isArray(value) || !value.every((i: unknown) => typeof i === 'number' && Number.isInteger(i) && i >= 0 && i <= 65_535)) {
    throw new InvalidOptionError(path, `querylens: option "${path}" must be false or an array of 0-based parameter indexes (integers 0 to 65535); got ${describe(value)}`);
  }
};

const TRACING_SPECS: Readonly<Record<keyof TracingOptions, Check>> = {
  tracerProvider: provider('getTracer'),
  requireParentSpan: bool,
  requestHook: fn,
  responseHook: fn,
  captureParameters: parameterIndexes,
  maxQueryTextLength: integer(16, 1_000_000),
};

const METRICS_SPECS: Readonly<Record<keyof MetricsOptions, Check>> = {
  meterProvider: provider('getMeter'),
  returnedRows: bool,
  poolTimes: bool,
};

const EXPLAIN_SPECS: Readonly<Record<keyof ExplainOptions, Check>> = {
  analyze: bool,
  maxPerMinute: integer(1, 10_000),
  timeoutMs: integer(1, 600_000),
};

const SLOW_QUERY_SPECS: Readonly<Record<keyof SlowQueryOptions, Check>> = {
  thresholdMs: nonNegativeMs,
  sampleRate: fraction,
  explain: (value, path) => {
    if (typeof value !== 'boolean') checkObject(value, EXPLAIN_SPECS, path);
  },
};

// Function declarations: OPTION_SPECS (above) refers to them before this point of the module.
function tracingCheck(value: unknown, path: string): void {
  if (typeof value !== 'boolean') checkObject(value, TRACING_SPECS, path);
}

function metricsCheck(value: unknown, path: string): void {
  if (typeof value !== 'boolean') checkObject(value, METRICS_SPECS, path);
}

function slowQueryCheck(value: unknown, path: string): void {
  if (typeof value !== 'boolean') checkObject(value, SLOW_QUERY_SPECS, path);
}

function resolveTracing(value: boolean | TracingOptions | undefined): ResolvedTracingOptions | false {
  if (value === false) return false;
  const o: TracingOptions = value === true || value === undefined ? {} : value;
  return Object.freeze({
    tracerProvider: o.tracerProvider,
    requireParentSpan: o.requireParentSpan ?? false,
    requestHook: o.requestHook,
    responseHook: o.responseHook,
    captureParameters: Object.freeze(o.captureParameters === false || o.captureParameters === undefined ? [] : [...new Set(o.captureParameters)]),
    maxQueryTextLength: o.maxQueryTextLength ?? 2048,
  });
}

function resolveMetrics(value: boolean | MetricsOptions | undefined): ResolvedMetricsOptions | false {
  if (value === false) return false;
  const o: MetricsOptions = value === true || value === undefined ? {} : value;
  return Object.freeze({ meterProvider: o.meterProvider, returnedRows: o.returnedRows ?? false, poolTimes: o.poolTimes ?? false });
}

function resolveSlowQuery(value: boolean | SlowQueryOptions | undefined, mode: LensMode): ResolvedSlowQueryOptions | false {
  if (value === false) return false;
  const o: SlowQueryOptions = value === true || value === undefined ? {} : value;
  const defaults = SLOW_QUERY_DEFAULTS[mode];
  const explain = o.explain ?? defaults.explain;
  return Object.freeze({
    thresholdMs: o.thresholdMs ?? defaults.thresholdMs,
    sampleRate: o.sampleRate ?? 1,
    explain: explain === false ? false : Object.freeze({ ...EXPLAIN_DEFAULTS, ...(explain === true ? {} : stripUndefined(explain)) }),
  });
}
