/**
 * Options of `lens.cache(options)` and of each `cache.query(queryable, options)`, validated once
 * (cache options at construction, query options per call — cheap checks only) with TypeErrors that
 * name the option. Resolved cache options are frozen.
 */
import { InvalidOptionError } from '../core/errors.js';
import { describe } from '../core/lens-options.js';
import { isRedisClient } from './redis-connection.js';

/** A value that scopes cache entries (a tenant id, a locale …): hashed into every key. */
export type PkCacheScopeValue = string | number | bigint | boolean | null | readonly PkCacheScopeValue[] | { readonly [key: string]: PkCacheScopeValue };

export interface PkCacheRedisOptions {
  /**
   * An ioredis or node-redis client, connected (node-redis: after `await client.connect()`).
   * querylens sends commands on it and duplicates it once for pub/sub; it never closes it.
   * @example store: { redis: new Redis(process.env.REDIS_URL) }
   */
  readonly redis: unknown;
  /** Per-command timeout, ms. A command that takes longer counts as a failure and the query goes to the database. Default 100. */
  readonly timeoutMs?: number;
  /** Consecutive failures that open the circuit breaker. Default 3. */
  readonly failureThreshold?: number;
  /** How long the open circuit bypasses Redis before one probe, ms. Default 1000. */
  readonly cooldownMs?: number;
  /** TTL of the epoch and version-token keys (refreshed by every fill), ms. Default 86 400 000 (1 day). */
  readonly metaTtlMs?: number;
}

export interface PkCacheOptions {
  /**
   * Where key lists and version tokens live. Default `'memory'`: this process only (writes from
   * other processes are not seen; entries expire after `ttlMs`). `{ redis: client }`: shared by
   * every process using the same Redis, with an in-process copy in front.
   * @example lens.cache({ store: { redis: new Redis() } })
   */
  readonly store?: 'memory' | PkCacheRedisOptions;
  /** Default lifetime of a cached key list, ms. Default 60 000. Per query: `ttlMs`. */
  readonly ttlMs?: number;
  /** Key lists kept in process (the lru-cache tier). Default 10 000. */
  readonly maxEntries?: number;
  /** Bytes the in-process key lists may take (approximate). Default 33 554 432 (32 MiB). */
  readonly maxBytes?: number;
  /**
   * Separates caches sharing one Redis (different applications or deployments). Keys are also
   * always namespaced by the database's identity. Default 'default'.
   */
  readonly namespace?: string;
  /**
   * A value every key includes, besides the role and search_path of the connection: a tenant id
   * under row-level security, a locale … A function is called on every query.
   * @example lens.cache({ scope: () => tenantStore.getStore()?.tenantId ?? null })
   */
  readonly scope?: PkCacheScopeValue | (() => PkCacheScopeValue);
  /**
   * How often the schema of cached tables is re-read from the catalog (one query for all of them),
   * to notice DDL that did not go through an instrumented client, ms. Default 5000; 0 disables.
   * The timer is unref'd.
   */
  readonly schemaPollMs?: number;
}

export interface PkQueryOptions {
  /** The table (or view) whose rows are returned, as written in SQL (`posts`, `blog.posts`). */
  readonly table: string;
  /** Its primary-key column, or columns in key order for a composite key. Default 'id'. */
  readonly primaryKey?: string | readonly string[];
  /**
   * The expensive query. It must return the primary-key column(s) (other columns are ignored) and
   * be one read statement; `$1…` parameters come from `values`.
   */
  readonly text: string;
  readonly values?: readonly unknown[];
  /** Lifetime of this key list, ms. Default: the cache's `ttlMs`. */
  readonly ttlMs?: number;
  /** Overrides the cache's `scope` for this query. */
  readonly scope?: PkCacheScopeValue;
  /** A hash of the ORM model the rows map to (adapters supply it): a model change is a new key. */
  readonly modelHash?: string;
  /** Further tables the result depends on that the text does not name (read inside a function, say). */
  readonly dependsOn?: readonly string[];
}

export interface ResolvedRedisOptions {
  readonly client: unknown;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  readonly metaTtlMs: number;
}

export interface ResolvedPkCacheOptions {
  readonly store: 'memory' | ResolvedRedisOptions;
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly namespace: string;
  readonly scope: PkCacheScopeValue | (() => PkCacheScopeValue) | undefined;
  readonly schemaPollMs: number;
}

const KEYS: readonly (keyof PkCacheOptions)[] = ['store', 'ttlMs', 'maxEntries', 'maxBytes', 'namespace', 'scope', 'schemaPollMs'];
const REDIS_KEYS: readonly (keyof PkCacheRedisOptions)[] = ['redis', 'timeoutMs', 'failureThreshold', 'cooldownMs', 'metaTtlMs'];

function int(value: unknown, path: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(path, `querylens: cache option "${path}" must be an integer from ${min} to ${max}; got ${describe(value)}`);
  }
  return value;
}

function checkKeys(value: object, valid: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!valid.includes(key)) {
      const full = path === '' ? key : `${path}.${key}`;
      throw new InvalidOptionError(full, `querylens: unknown cache option "${full}". Valid options${path === '' ? '' : ` of "${path}"`}: ${valid.join(', ')}`);
    }
  }
}

export function resolvePkCacheOptions(options: unknown = {}): ResolvedPkCacheOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError('', `querylens: cache options must be an object; got ${describe(options)}`);
  }
  checkKeys(options, KEYS, '');
  const o = options as PkCacheOptions;
  let store: ResolvedPkCacheOptions['store'] = 'memory';
  if (o.store !== undefined && o.store !== 'memory') {
    const s = o.store as unknown;
    if (s === null || typeof s !== 'object' || Array.isArray(s)) {
      throw new InvalidOptionError('store', `querylens: cache option "store" must be 'memory' or { redis: client }; got ${describe(s)}`);
    }
    checkKeys(s, REDIS_KEYS, 'store');
    const r = s as PkCacheRedisOptions;
    if (!isRedisClient(r.redis)) {
      throw new InvalidOptionError('store.redis', 'querylens: cache option "store.redis" must be an ioredis or node-redis client');
    }
    store = Object.freeze({
      client: r.redis,
      timeoutMs: int(r.timeoutMs, 'store.timeoutMs', 1, 60_000, 100),
      failureThreshold: int(r.failureThreshold, 'store.failureThreshold', 1, 1000, 3),
      cooldownMs: int(r.cooldownMs, 'store.cooldownMs', 1, 3_600_000, 1000),
      metaTtlMs: int(r.metaTtlMs, 'store.metaTtlMs', 1000, 365 * 86_400_000, 86_400_000),
    });
  }
  const namespace = o.namespace ?? 'default';
  if (typeof namespace !== 'string' || namespace === '' || /[\s]/.test(namespace)) {
    throw new InvalidOptionError('namespace', `querylens: cache option "namespace" must be a non-empty string without spaces; got ${describe(namespace)}`);
  }
  return Object.freeze({
    store,
    ttlMs: int(o.ttlMs, 'ttlMs', 1, 365 * 86_400_000, 60_000),
    maxEntries: int(o.maxEntries, 'maxEntries', 1, 100_000_000, 10_000),
    maxBytes: int(o.maxBytes, 'maxBytes', 1024, Number.MAX_SAFE_INTEGER, 32 * 1024 * 1024),
    namespace,
    scope: o.scope,
    schemaPollMs: int(o.schemaPollMs, 'schemaPollMs', 0, 86_400_000, 5000),
  });
}

/** Primary-key option → column list; TypeError for anything else. */
export function primaryKeyColumns(pk: unknown): readonly string[] {
  if (pk === undefined) return ['id'];
  if (typeof pk === 'string' && pk !== '') return [pk];
  if (Array.isArray(pk) && pk.length > 0 && pk.every((c) => typeof c === 'string' && c !== '') && new Set(pk).size === pk.length) return pk as string[];
  throw new TypeError(`querylens: cache.query() option "primaryKey" must be a column name or a non-empty array of distinct column names; got ${describe(pk)}`);
}

/** Cheap per-call checks of the query options (TypeError naming the option). */
export function checkQueryOptions(options: unknown, method: string): asserts options is PkQueryOptions {
  if (options === null || typeof options !== 'object') throw new TypeError(`querylens: cache.${method}() expects an options object second; got ${describe(options)}`);
  const o = options as Record<string, unknown>;
  if (typeof o['table'] !== 'string' || o['table'] === '') throw new TypeError(`querylens: cache.${method}() option "table" must be a non-empty string; got ${describe(o['table'])}`);
  if (typeof o['text'] !== 'string' || o['text'] === '') throw new TypeError(`querylens: cache.${method}() option "text" must be a non-empty SQL string; got ${describe(o['text'])}`);
  if (o['values'] !== undefined && !Array.isArray(o['values'])) throw new TypeError(`querylens: cache.${method}() option "values" must be an array; got ${describe(o['values'])}`);
  const ttl = o['ttlMs'];
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1)) throw new TypeError(`querylens: cache.${method}() option "ttlMs" must be a positive integer; got ${describe(ttl)}`);
  if (o['modelHash'] !== undefined && typeof o['modelHash'] !== 'string') throw new TypeError(`querylens: cache.${method}() option "modelHash" must be a string`);
  const deps = o['dependsOn'];
  if (deps !== undefined && (!Array.isArray(deps) || !deps.every((d) => typeof d === 'string' && d !== ''))) {
    throw new TypeError(`querylens: cache.${method}() option "dependsOn" must be an array of table names`);
  }
}
