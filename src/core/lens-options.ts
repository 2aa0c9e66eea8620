/**
 * Options are resolved once, at `createLens`: unknown keys and bad values throw an
 * `InvalidOptionError` naming the key and the valid choices, defaults are filled in per mode, and
 * the result is frozen. Nothing on the per-query path reads `process.env` or the user's object.
 * Adding an option is one entry in `OPTION_SPECS` plus its field in `LensOptions`.
 */
import { isAbsolute, resolve } from 'node:path';
import { InvalidOptionError } from './errors.js';

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
 * - `sampled`: one query in `1 / callsiteSampleRate` (a counter, not a random draw).
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

function describe(value: unknown): string {
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
};

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
    callsites: o.callsites ?? DEFAULT_CALLSITES[mode],
    callsiteSampleRate: o.callsiteSampleRate ?? 0.05,
    callsiteDepth: o.callsiteDepth ?? 32,
    traceScopes: o.traceScopes ?? true,
    traceScopeIdleMs: o.traceScopeIdleMs ?? 2000,
    stats,
    sqlMemo: o.sqlMemo ?? 5000,
    fingerprint: o.fingerprint ?? 'querylens',
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
