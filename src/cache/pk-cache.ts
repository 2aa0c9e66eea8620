/**
 * The primary-key cache. `cache.query(pool, { table, primaryKey, text, values })` caches only the
 * list of primary keys an expensive query returns and reads the rows themselves fresh, by primary
 * key, with one statement shape for any list size:
 *
 *   SELECT t.* FROM <table> AS t JOIN unnest($1::<pk type>[]) WITH ORDINALITY AS k(k1, ord)
 *     ON t.<pk> = k.k1 ORDER BY k.ord
 *
 * so order and duplicates are kept and deleted rows drop out (the list is then forgotten: it
 * heals on the next read). A miss runs the text and reads its rows in ONE statement (the text as a
 * materialized CTE joined to the table), so a miss is as consistent as the query itself.
 *
 * Keys hash: a format version, the database identity, the table's OID, the schema hashes of every
 * relation the text depends on (views resolved to their base tables; columns, types, NOT NULL,
 * primary key, RLS flags and policies; plus an adapter's model hash), the scope (current_user,
 * search_path and the user's `scope` value), the exact statement text and the typed parameter
 * values. A schema change — DDL through an instrumented client, the catalog poll, or a row read
 * failing with an undefined-column/table error — changes the hash, so an old list is never read.
 *
 * Writes are seen through the lens's event stream (CacheWriteTracker): committed writes replace
 * the version tokens of the tables they touched (and of tables their foreign keys cascade to); a
 * list is served only under the tokens it was filled under, and a fill is stored only if the
 * tokens read before its query are still current. Writes in flight (sent, not yet confirmed) make
 * overlapping reads distrust the cache; a hit whose rows were read while a write committed is
 * redone as a miss. Reads inside a transaction, locking reads, volatile functions, temporary
 * tables and parameters of unknown classes bypass the cache (counted by reason).
 *
 * Every catalog and row query is internal: querylens never observes its own queries.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { CachePrimaryKeyError } from '../core/errors.js';
import type { CacheKeyProblem } from '../core/errors.js';
import type { Dependencies, ForeignKeys, PkCacheQueryable, RowsResult, SessionInfo, TableInfo } from './catalog.js';
import { readDependencies, readForeignKeys, readHashes, readSession, readTable, runInternal } from './catalog.js';
import type { PkQueryOptions, ResolvedPkCacheOptions } from './cache-options.js';
import { checkQueryOptions, primaryKeyColumns } from './cache-options.js';
import { MemoryStore } from './memory-store.js';
import type { CachedKey, KeyValue, PkStore, StoreLookup, StoreStats } from './pk-store.js';
import { connectRedis } from './redis-connection.js';
import { RedisStore } from './redis-store.js';
import type { StatementCheck } from './statement-check.js';
import { checkStatement } from './statement-check.js';
import { encodeValue, encodeValues, keyValue } from './typed-values.js';
import type { CacheWriteTracker, TableWrites, WriteListener } from './write-tracker.js';

/** Bump when the key derivation or the stored format changes: old entries become unreachable. */
const FORMAT_VERSION = 'pk1';

/** Why a query ran without the cache. */
export type PkCacheBypassReason =
  /** Inside an explicit transaction (its own snapshot and uncommitted writes). */
  | 'transaction'
  /** FOR UPDATE / FOR SHARE … */
  | 'locking-clause'
  /** now(), random(), nextval(), a user function declared VOLATILE … */
  | 'volatile-function'
  | 'temp-table'
  /** A parameter (or the scope value) of a class with no trustworthy encoding. */
  | 'parameter-type'
  /** A key value of a type the cache cannot keep (a custom type parser's object). */
  | 'key-type'
  /** The store cannot answer (Redis down or its circuit open). */
  | 'store-unavailable'
  /** A row read failed because the schema changed under it; the query ran uncached after a refresh. */
  | 'schema-error';

const BYPASS_REASONS: readonly PkCacheBypassReason[] = [
  'transaction',
  'locking-clause',
  'volatile-function',
  'temp-table',
  'parameter-type',
  'key-type',
  'store-unavailable',
  'schema-error',
];

export interface PkCacheStats {
  /** Reads served from a cached key list (rows read by primary key). */
  readonly hits: number;
  /** Reads that ran the query (including coalesced ones). */
  readonly misses: number;
  /** Misses that waited for another caller's identical query instead of running it. */
  readonly coalesced: number;
  readonly fillsStored: number;
  /** Fills not stored because a write committed (tokens changed) while the query ran. */
  readonly fillsRejected: number;
  readonly bypasses: Readonly<Record<PkCacheBypassReason, number>>;
  /** Hits whose list named rows that no longer exist (they dropped out; the list was forgotten). */
  readonly refetchMissing: number;
  /** Hits redone as misses because a write committed while their rows were read. */
  readonly retries: number;
  /** Version-token bumps: committed writes seen, remote writes announced, invalidateTable calls. */
  readonly invalidations: number;
  /** Times the cached schema knowledge was dropped (DDL seen, poll, refetch error, remote notice). */
  readonly schemaRefreshes: number;
  readonly store: StoreStats;
}

interface MutableStats {
  hits: number;
  misses: number;
  coalesced: number;
  fillsStored: number;
  fillsRejected: number;
  bypasses: Record<PkCacheBypassReason, number>;
  refetchMissing: number;
  retries: number;
  invalidations: number;
  schemaRefreshes: number;
}

type Mode = 'rows' | 'ids';

/** A table resolved for one primary-key choice, with its statements. */
interface TablePlan {
  readonly info: TableInfo;
  readonly pk: readonly string[];
  /** The hit's row read: unnest of one array per key column, WITH ORDINALITY. */
  readonly rowSql: string;
  /** Miss statements by text and mode. */
  readonly missSql: Map<string, string>;
}

interface DepsPlan {
  /** Sorted, deduplicated relnames: the version tokens this query depends on. */
  readonly relnames: readonly string[];
  readonly schemaHash: string;
  readonly temporary: boolean;
  readonly volatile: boolean;
}

interface DatabaseState {
  queryable: WeakRef<PkCacheQueryable & object>;
  readonly hashes: Map<number, string>;
  fks: ForeignKeys | undefined;
  fkLoad: Promise<void> | undefined;
}

/** Catalog plans memoised per cache (tables and statement dependencies, each): a plan evicted is read again. */
const MAX_CATALOG_PLANS = 5000;

interface Call {
  readonly q: PkCacheQueryable;
  readonly o: PkQueryOptions;
  readonly mode: Mode;
  readonly check: StatementCheck;
  readonly table: TablePlan;
}

interface Inflight {
  readonly ids: Promise<readonly CachedKey[] | undefined>;
  readonly g0: number;
}

/** A row read failed in a way a schema change explains: refresh and run uncached. */
class SchemaMoved extends Error {
  constructor(cause: unknown) {
    super('schema changed under a cached read', { cause });
    this.name = 'SchemaMoved';
  }
}

const SCHEMA_SQLSTATES: ReadonlySet<string> = new Set(['42703', '42P01', '42804', '42883', '42846', '0A000', '22P02', '26000', '42P18']);

function sqlstateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Per-table in-flight and generation counters: has any write started, ended or committed since? */
class WriteBook {
  readonly #tables = new Map<string, { inflight: number; gen: number }>();
  #allInflight = 0;
  #allGen = 0;

  #entry(r: string): { inflight: number; gen: number } {
    let e = this.#tables.get(r);
    if (e === undefined) this.#tables.set(r, (e = { inflight: 0, gen: 0 }));
    return e;
  }

  hold(rels: readonly string[] | '*'): void {
    if (rels === '*') {
      this.#allInflight++;
      this.#allGen++;
    } else
      for (const r of rels) {
        const e = this.#entry(r);
        e.inflight++;
        e.gen++;
      }
  }

  release(rels: readonly string[] | '*'): void {
    if (rels === '*') {
      this.#allInflight = Math.max(0, this.#allInflight - 1);
      this.#allGen++;
    } else
      for (const r of rels) {
        const e = this.#entry(r);
        e.inflight = Math.max(0, e.inflight - 1);
        e.gen++;
      }
  }

  bump(rels: readonly string[] | '*'): void {
    if (rels === '*') this.#allGen++;
    else for (const r of rels) this.#entry(r).gen++;
  }

  /** A number that changes whenever any of `rels` is held, released or bumped; -1 while one is held. */
  sample(rels: readonly string[]): number {
    if (this.#allInflight > 0) return -1;
    let sum = this.#allGen;
    for (let i = 0; i < rels.length; i++) {
      const e = this.#tables.get(rels[i]!);
      if (e === undefined) continue;
      if (e.inflight > 0) return -1;
      sum += e.gen;
    }
    return sum;
  }

  same(rels: readonly string[], g: number): boolean {
    return g >= 0 && this.sample(rels) === g;
  }
}

function copyIds(ids: readonly CachedKey[]): unknown[] {
  return ids.map((k) => (Array.isArray(k) ? [...(k as readonly KeyValue[])] : k));
}

/** `"My Table"` → `My Table`, `Public.Posts` → `posts`: the relname a table name refers to. */
function relnameOf(table: string): string {
  const t = table.trim();
  const m = /(?:^|\.)\s*("(?:[^"]|"")*"|[^."]+)\s*$/.exec(t);
  const last = m?.[1] ?? t;
  return last.startsWith('"') ? last.slice(1, -1).replace(/""/g, '"') : last.toLowerCase();
}

export class PkCache {
  readonly #o: ResolvedPkCacheOptions;
  readonly #store: PkStore;
  readonly #book = new WriteBook();
  readonly #unregister: () => void;
  readonly #tracker: CacheWriteTracker;
  readonly #listener: WriteListener;
  readonly #sessions = new WeakMap<object, { readonly gen: number; readonly info: Promise<SessionInfo> }>();
  #sessionGen = 0;
  readonly #databases = new Map<string, DatabaseState>();
  readonly #tables = new LRUCache<string, Promise<TablePlan>>({ max: MAX_CATALOG_PLANS });
  readonly #deps = new LRUCache<string, Promise<DepsPlan>>({ max: MAX_CATALOG_PLANS });
  readonly #inflight = new Map<string, Inflight>();
  readonly #stats: MutableStats = {
    hits: 0,
    misses: 0,
    coalesced: 0,
    fillsStored: 0,
    fillsRejected: 0,
    bypasses: Object.fromEntries(BYPASS_REASONS.map((r) => [r, 0])) as Record<PkCacheBypassReason, number>,
    refetchMissing: 0,
    retries: 0,
    invalidations: 0,
    schemaRefreshes: 0,
  };
  readonly #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #closed: Promise<void> | undefined;

  /** Use `lens.cache(options)`. */
  constructor(options: ResolvedPkCacheOptions, tracker: CacheWriteTracker) {
    this.#o = options;
    const store = options.store;
    if (store === 'memory') {
      this.#store = new MemoryStore({ maxEntries: options.maxEntries, maxBytes: options.maxBytes });
    } else {
      this.#store = new RedisStore(
        connectRedis(store.client),
        {
          namespace: options.namespace,
          timeoutMs: store.timeoutMs,
          failureThreshold: store.failureThreshold,
          cooldownMs: store.cooldownMs,
          metaTtlMs: store.metaTtlMs,
          holdTtlMs: 60_000,
          maxEntries: options.maxEntries,
          maxBytes: options.maxBytes,
        },
        {
          remoteBump: (rels) => {
            this.#stats.invalidations++;
            this.#book.bump(rels);
          },
          remoteSchemaChange: () => this.#schemaChanged(),
        },
      );
    }
    this.#listener = {
      hold: (w) => {
        const rels = this.#expand(w);
        this.#book.hold(rels);
        return { rels, store: this.#store.hold(rels) };
      },
      release: (handle) => {
        const h = handle as { rels: readonly string[] | '*'; store: unknown };
        this.#book.release(h.rels);
        this.#store.release(h.store);
      },
      commit: (w) => {
        const rels = this.#expand(w);
        this.#stats.invalidations++;
        void this.#store.bump(rels);
        this.#book.bump(rels);
      },
      schemaChanged: () => {
        this.#schemaChanged();
        this.#store.publishSchemaChange();
      },
      sessionChanged: () => {
        this.#sessionGen++;
      },
    };
    this.#tracker = tracker;
    this.#unregister = tracker.add(this.#listener, () => this.close());
    if (options.schemaPollMs > 0) {
      this.#timer = setInterval(() => void this.#poll(), options.schemaPollMs);
      this.#timer.unref();
    }
  }

  /**
   * Runs `text` for its primary keys (or takes them from the cache) and returns the table's rows
   * for those keys, in the text's order, read fresh from the database.
   * @example
   * const posts = await cache.query(pool, {
   *   table: 'posts',
   *   text: 'SELECT id FROM posts WHERE score > $1 ORDER BY score DESC LIMIT 50',
   *   values: [10],
   * });
   */
  query<R extends object = Record<string, unknown>>(queryable: PkCacheQueryable, options: PkQueryOptions): Promise<R[]> {
    return this.#entry(queryable, options, 'rows') as Promise<R[]>;
  }

  /**
   * The primary keys alone (a composite key as an array of its columns' values), from the cache
   * when it has them. Keys that are bigint or Date come back as strings.
   */
  ids(queryable: PkCacheQueryable, options: PkQueryOptions): Promise<unknown[]> {
    return this.#entry(queryable, options, 'ids');
  }

  /**
   * Forgets every cached list that depends on `table` (a write the lens could not see: another
   * service, a trigger, a COPY through a raw connection). With Redis, in every process.
   * @example await cache.invalidateTable('posts');
   */
  async invalidateTable(table: string): Promise<void> {
    if (typeof table !== 'string' || table.trim() === '') throw new TypeError('querylens: cache.invalidateTable() expects a table name');
    const rels = this.#expand({ tables: [relnameOf(table)], truncated: [], all: false, ddl: false });
    this.#stats.invalidations++;
    this.#book.bump(rels);
    await this.#store.bump(rels);
  }

  stats(): PkCacheStats {
    const s = this.#stats;
    return {
      hits: s.hits,
      misses: s.misses,
      coalesced: s.coalesced,
      fillsStored: s.fillsStored,
      fillsRejected: s.fillsRejected,
      bypasses: { ...s.bypasses },
      refetchMissing: s.refetchMissing,
      retries: s.retries,
      invalidations: s.invalidations,
      schemaRefreshes: s.schemaRefreshes,
      store: this.#store.stats(),
    };
  }

  /** Stops the schema poll and the Redis subscription, and stops following writes. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#unregister();
      await this.#store.close();
    })();
    return this.#closed;
  }

  // ---- one call ------------------------------------------------------------------------------

  async #entry(q: PkCacheQueryable, o: PkQueryOptions, mode: Mode): Promise<unknown[]> {
    if (q === null || typeof q !== 'object' || typeof (q as { query?: unknown }).query !== 'function') {
      throw new TypeError(`querylens: cache.${mode === 'rows' ? 'query' : 'ids'}() expects a pg Pool or Client first`);
    }
    checkQueryOptions(o, mode === 'rows' ? 'query' : 'ids');
    const pk = primaryKeyColumns(o.primaryKey);
    const check = checkStatement(o.text);
    try {
      return await this.#once(q, o, mode, check, pk, false);
    } catch (err) {
      if (!(err instanceof SchemaMoved)) throw err;
      // A row read failed because the schema moved: refresh and run the query uncached.
      this.#schemaChanged();
      this.#stats.bypasses['schema-error']++;
      try {
        return await this.#once(q, o, mode, check, pk, true);
      } catch (again) {
        // still failing on a fresh schema: the database's own error is the answer
        throw again instanceof SchemaMoved ? again.cause : again;
      }
    }
  }

  async #once(q: PkCacheQueryable, o: PkQueryOptions, mode: Mode, check: StatementCheck, pk: readonly string[], uncached: boolean): Promise<unknown[]> {
    const session = await this.#session(q);
    const table = await this.#table(q, session, o.table, pk);
    const call: Call = { q, o, mode, check, table };
    if (uncached) return (await this.#direct(call)).out;

    const reason = this.#bypassReason(q, check);
    if (reason !== undefined) return this.#bypass(call, reason);
    const deps = await this.#dependencies(q, session, table, check, o.dependsOn);
    if (deps.temporary) return this.#bypass(call, 'temp-table');
    if (deps.volatile) return this.#bypass(call, 'volatile-function');
    const values = encodeValues(o.values);
    const scope = encodeValue(o.scope !== undefined ? o.scope : typeof this.#o.scope === 'function' ? this.#o.scope() : (this.#o.scope ?? null));
    if (values === undefined || scope === undefined) return this.#bypass(call, 'parameter-type');

    const key = createHash('sha256')
      .update(`${FORMAT_VERSION}\0${session.database}\0${table.info.oid}\0${deps.schemaHash}\0${o.modelHash ?? ''}\0${session.user}\0${session.searchPath}\0${scope}\0${pk.join(',')}\0`)
      .update(o.text)
      .update('\0')
      .update(values)
      .digest('base64url');
    return this.#cached(call, key, deps.relnames);
  }

  #bypassReason(q: PkCacheQueryable, check: StatementCheck): PkCacheBypassReason | undefined {
    if (typeof q.getTransactionStatus === 'function') {
      const status = q.getTransactionStatus();
      if (status === 'T' || status === 'E') return 'transaction';
    } else if (this.#tracker.inTransaction(q)) return 'transaction'; // a pg without getTransactionStatus()
    return check.uncacheable;
  }

  async #bypass(call: Call, reason: PkCacheBypassReason): Promise<unknown[]> {
    this.#stats.bypasses[reason]++;
    return (await this.#direct(call)).out;
  }

  async #cached(call: Call, key: string, relnames: readonly string[]): Promise<unknown[]> {
    const book = this.#book;
    const g0 = book.sample(relnames);
    const lookup = await this.#store.lookup(key, relnames);
    if (lookup === undefined) return this.#bypass(call, 'store-unavailable');
    // Trust the list only if no write to these tables was in flight or committed around the lookup.
    const trusted = book.same(relnames, g0);
    if (lookup.ids !== undefined && trusted) {
      if (call.mode === 'ids') {
        this.#stats.hits++;
        return copyIds(lookup.ids);
      }
      const rows = await this.#readRows(call, lookup.ids);
      if (book.same(relnames, g0)) {
        this.#stats.hits++;
        if (rows.length < lookup.ids.length) {
          // Rows the list names are gone: a write we did not see. Forget the list; the next read refills it.
          this.#stats.refetchMissing++;
          this.#store.remove(key);
        }
        return rows;
      }
      // A write committed while the rows were read: the list may not match them. Redo as a miss
      // (alone: nobody else's query can stand in for one that must start after that write).
      this.#stats.retries++;
      return this.#miss(call, key, relnames, lookup, -1);
    }
    return this.#miss(call, key, relnames, lookup, trusted ? g0 : -1);
  }

  async #miss(call: Call, key: string, relnames: readonly string[], lookup: StoreLookup, g0: number): Promise<unknown[]> {
    this.#stats.misses++;
    const slot = `${key}\0${lookup.snapshot}`;
    if (g0 >= 0) {
      const leader = this.#inflight.get(slot);
      if (leader !== undefined && leader.g0 === g0) {
        this.#stats.coalesced++;
        const ids = await leader.ids.then(undefined, () => undefined);
        if (ids !== undefined) {
          if (call.mode === 'ids') return copyIds(ids);
          const rows = await this.#readRows(call, ids);
          // The leader's snapshot still describes the database only if nothing was written since it started.
          if (this.#book.same(relnames, leader.g0)) return rows;
          this.#stats.retries++;
        }
        return (await this.#direct(call)).out;
      }
    }
    const run = this.#direct(call);
    if (g0 >= 0) {
      const ids = run.then((r) => r.ids);
      ids.catch(() => {}); // followers handle a failed leader themselves
      const entry: Inflight = { ids, g0 };
      this.#inflight.set(slot, entry);
      const done = (): void => {
        if (this.#inflight.get(slot) === entry) this.#inflight.delete(slot);
      };
      run.then(done, done);
    }
    const result = await run;
    if (result.ids === undefined) {
      this.#stats.bypasses['key-type']++;
    } else if (await this.#store.fill(key, relnames, lookup.snapshot, result.ids, call.o.ttlMs ?? this.#o.ttlMs)) {
      this.#stats.fillsStored++;
    } else {
      this.#stats.fillsRejected++;
    }
    return result.out;
  }

  /** The text and its rows in one statement: the result, and the key list (undefined if a key cannot be kept). */
  async #direct(call: Call): Promise<{ out: unknown[]; ids: readonly CachedKey[] | undefined }> {
    const { table, mode } = call;
    let sql = table.missSql.get(`${mode}\0${call.check.body}`);
    if (sql === undefined) {
      sql = missStatement(table, call.check.body, mode);
      if (table.missSql.size < 500) table.missSql.set(`${mode}\0${call.check.body}`, sql);
    }
    let result: RowsResult;
    try {
      result = await runInternal(call.q, sql, call.o.values);
    } catch (err) {
      if (sqlstateOf(err) === '42703') await this.#checkReturnsKey(call, err);
      throw err;
    }
    const ids = keysOf(result.rows, table.pk);
    if (mode === 'rows') return { out: result.rows, ids };
    return { out: ids === undefined ? result.rows.map((r) => (table.pk.length === 1 ? r[table.pk[0]!] : table.pk.map((c) => r[c]))) : copyIds(ids), ids };
  }

  /** The miss statement failed on an undefined column: is it the text not returning the key? */
  async #checkReturnsKey(call: Call, cause: unknown): Promise<void> {
    let fields: readonly { readonly name: string }[];
    try {
      fields = (await runInternal(call.q, `SELECT * FROM (\n${call.check.body}\n) AS __ql_q LIMIT 0`, call.o.values)).fields;
    } catch {
      return; // the text itself fails: its own error is the one to report
    }
    const names = new Set(fields.map((f) => f.name));
    const missing = call.table.pk.find((c) => !names.has(c));
    if (missing !== undefined) {
      throw keyError(
        'not-in-result',
        call.o.table,
        missing,
        `querylens: cache.${call.mode === 'rows' ? 'query' : 'ids'}() text does not return the primary-key column "${missing}" of table "${call.o.table}" (it returns: ${[...names].join(', ') || 'no columns'}). Select the key, e.g. SELECT ${call.table.pk.map(quoteIdent).join(', ')} FROM …`,
        cause,
      );
    }
    throw new SchemaMoved(cause);
  }

  /** Rows by primary key, in list order (duplicates kept, missing rows dropped). */
  async #readRows(call: Call, ids: readonly CachedKey[]): Promise<Record<string, unknown>[]> {
    const pk = call.table.pk;
    let params: unknown[];
    if (pk.length === 1) params = [ids];
    else {
      params = pk.map(() => [] as unknown[]);
      for (const k of ids) {
        const tuple = k as readonly KeyValue[];
        for (let i = 0; i < pk.length; i++) (params[i] as unknown[]).push(tuple[i]);
      }
    }
    try {
      return (await runInternal(call.q, call.table.rowSql, params)).rows;
    } catch (err) {
      const code = sqlstateOf(err);
      if (code !== undefined && SCHEMA_SQLSTATES.has(code)) throw new SchemaMoved(err);
      throw err;
    }
  }

  // ---- catalog knowledge ---------------------------------------------------------------------

  #session(q: PkCacheQueryable): Promise<SessionInfo> {
    const known = this.#sessions.get(q);
    if (known !== undefined && known.gen === this.#sessionGen) return known.info;
    const gen = this.#sessionGen;
    const info = readSession(q).then(async (s) => {
      await this.#database(q, s.database);
      return s;
    });
    const entry = { gen, info };
    this.#sessions.set(q, entry);
    info.then(undefined, () => {
      if (this.#sessions.get(q) === entry) this.#sessions.delete(q);
    });
    return info;
  }

  /** Registers the database (for polling) and loads its foreign keys once, before the first list is cached. */
  async #database(q: PkCacheQueryable, database: string): Promise<void> {
    let db = this.#databases.get(database);
    if (db === undefined) {
      db = { queryable: new WeakRef(q as PkCacheQueryable & object), hashes: new Map(), fks: undefined, fkLoad: undefined };
      this.#databases.set(database, db);
    } else db.queryable = new WeakRef(q as PkCacheQueryable & object);
    if (db.fks === undefined) await this.#loadForeignKeys(db, q);
  }

  #loadForeignKeys(db: DatabaseState, q: PkCacheQueryable): Promise<void> {
    db.fkLoad ??= readForeignKeys(q).then(
      (fks) => {
        db.fks = fks;
        db.fkLoad = undefined;
      },
      (err: unknown) => {
        db.fkLoad = undefined;
        if (db.fks === undefined) throw err;
      },
    );
    return db.fkLoad;
  }

  #table(q: PkCacheQueryable, session: SessionInfo, table: string, pk: readonly string[]): Promise<TablePlan> {
    const memoKey = `${session.database}\0${session.user}\0${session.searchPath}\0${table}\0${pk.join('\0')}`;
    let plan = this.#tables.get(memoKey);
    if (plan === undefined) {
      plan = readTable(q, table).then(
        (info) => tablePlan(table, pk, info),
        (err: unknown) => {
          const code = sqlstateOf(err);
          // a malformed or unknown name (42xxx, 3Fxxx) is bad input; anything else (a lost connection) is the database's error
          if (code === undefined || !(code.startsWith('42') || code.startsWith('3F'))) throw err;
          throw keyError('unknown-table', table, pk[0]!, `querylens: cache table "${table}" cannot be resolved (${(err as Error).message})`, err);
        },
      );
      this.#tables.set(memoKey, plan);
      plan.then(undefined, () => {
        if (this.#tables.get(memoKey) === plan) this.#tables.delete(memoKey);
      });
    }
    return plan;
  }

  #dependencies(q: PkCacheQueryable, session: SessionInfo, table: TablePlan, check: StatementCheck, dependsOn: readonly string[] | undefined): Promise<DepsPlan> {
    const names = dependsOn === undefined ? check.relations : [...check.relations, ...dependsOn];
    const memoKey = `${session.database}\0${session.user}\0${session.searchPath}\0${table.info.oid}\0${names.join('\0')}\0\0${check.functions.join('\0')}`;
    let plan = this.#deps.get(memoKey);
    if (plan === undefined) {
      plan = readDependencies(q, names, table.info.oid, check.functions).then((d) => this.#depsPlan(session.database, d));
      this.#deps.set(memoKey, plan);
      plan.then(undefined, () => {
        if (this.#deps.get(memoKey) === plan) this.#deps.delete(memoKey);
      });
    }
    return plan;
  }

  #depsPlan(database: string, d: Dependencies): DepsPlan {
    const db = this.#databases.get(database);
    let moved = false;
    const hash = createHash('sha256');
    const relnames = new Set<string>();
    for (const r of d.relations) {
      hash.update(`${r.oid}:${r.hash};`);
      relnames.add(r.relname);
      if (db !== undefined) {
        const known = db.hashes.get(r.oid);
        if (known !== undefined && known !== r.hash) moved = true;
        db.hashes.set(r.oid, r.hash);
      }
    }
    // This read saw a newer schema than other memoised plans were built on: drop them.
    if (moved) this.#schemaChanged();
    return { relnames: [...relnames].sort(), schemaHash: hash.digest('base64url'), temporary: d.temporary, volatile: d.volatile };
  }

  #schemaChanged(): void {
    this.#stats.schemaRefreshes++;
    this.#tables.clear();
    this.#deps.clear();
    for (const db of this.#databases.values()) {
      const q = db.queryable.deref();
      if (q !== undefined) this.#loadForeignKeys(db, q).catch(() => {});
    }
  }

  /** Tables a write changes: the ones it names, and those its foreign keys cascade to. */
  #expand(w: TableWrites): readonly string[] | '*' {
    if (w.all) return '*';
    const out = new Set<string>(w.tables);
    const queue: [string, boolean][] = [...w.tables.map((t): [string, boolean] => [t, false]), ...w.truncated.map((t): [string, boolean] => [t, true])];
    while (queue.length > 0) {
      const [t, truncate] = queue.pop()!;
      for (const db of this.#databases.values()) {
        const children = (truncate ? db.fks?.referencing : db.fks?.cascades)?.get(t);
        if (children === undefined) continue;
        for (const c of children) {
          if (out.has(c)) continue;
          out.add(c);
          queue.push([c, truncate]);
        }
      }
    }
    return [...out];
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#closed !== undefined) return;
    this.#polling = true;
    try {
      for (const db of this.#databases.values()) {
        const q = db.queryable.deref();
        if (q === undefined || db.hashes.size === 0) continue;
        try {
          const now = await readHashes(q, [...db.hashes.keys()]);
          let moved = false;
          for (const [oid, hash] of db.hashes) {
            const current = now.get(oid);
            if (current === hash) continue;
            moved = true;
            if (current === undefined) db.hashes.delete(oid);
            else db.hashes.set(oid, current);
          }
          if (moved) this.#schemaChanged();
          else await this.#loadForeignKeys(db, q);
        } catch {
          // the pool may be gone or busy; the next poll tries again
        }
      }
    } finally {
      this.#polling = false;
    }
  }
}

function keyError(problem: CacheKeyProblem, table: string, column: string, message: string, cause?: unknown): CachePrimaryKeyError {
  return new CachePrimaryKeyError(problem, table, column, message, cause === undefined ? undefined : { cause });
}

/** Checks the primary key against the catalog and builds the row-read statement. */
function tablePlan(table: string, pk: readonly string[], info: TableInfo | undefined): TablePlan {
  if (info === undefined) {
    throw keyError('unknown-table', table, pk[0]!, `querylens: cache table "${table}" does not exist (or is not visible under the connection's search_path)`);
  }
  const isTable = info.relkind === 'r' || info.relkind === 'p';
  if (isTable) {
    if (info.primaryKey.length === 0) {
      throw keyError(
        'no-primary-key',
        table,
        pk[0]!,
        `querylens: cache table "${table}" has no primary key; the primary-key cache needs one (column "${pk[0]!}" was given as primaryKey)`,
      );
    }
    const actual = info.primaryKey;
    const extra = pk.find((c) => !actual.includes(c));
    const missing = actual.find((c) => !pk.includes(c));
    if (extra !== undefined || missing !== undefined) {
      const column = extra ?? missing!;
      const what = extra !== undefined ? `column "${extra}" is not part of it` : `column "${missing}" is missing`;
      const fix = actual.length === 1 ? `primaryKey: '${actual[0]!}'` : `primaryKey: [${actual.map((c) => `'${c}'`).join(', ')}]`;
      throw keyError(
        'primary-key-mismatch',
        table,
        column,
        `querylens: cache table "${table}" has primary key (${actual.join(', ')}); primaryKey (${pk.join(', ')}) does not match: ${what}. Use ${fix}`,
      );
    }
  }
  for (const c of pk) {
    if (info.columns[c] === undefined) {
      throw keyError('unknown-column', table, c, `querylens: cache table "${table}" has no column "${c}" (given as primaryKey)`);
    }
  }
  const keyCols = pk.map((_, i) => `__ql_k${i + 1}`);
  const unnest = pk.map((c, i) => `$${i + 1}::${info.columns[c]!}[]`).join(', ');
  const on = pk.map((c, i) => `__ql_t.${quoteIdent(c)} = __ql_k.${keyCols[i]!}`).join(' AND ');
  const rowSql =
    `SELECT __ql_t.* FROM ${info.qualified} AS __ql_t ` +
    `JOIN unnest(${unnest}) WITH ORDINALITY AS __ql_k(${keyCols.join(', ')}, __ql_ord) ON ${on} ORDER BY __ql_k.__ql_ord`;
  return { info, pk, rowSql, missSql: new Map() };
}

/** The text as a materialized CTE, numbered in its own order, joined to the table: one snapshot. */
function missStatement(table: TablePlan, body: string, mode: Mode): string {
  const pk = table.pk;
  const select = pk.map((c, i) => `__ql_q.${quoteIdent(c)} AS __ql_k${i + 1}`).join(', ');
  const on = pk.map((c, i) => `__ql_t.${quoteIdent(c)} = __ql_k.__ql_k${i + 1}`).join(' AND ');
  const out = mode === 'rows' ? '__ql_t.*' : pk.map((c) => `__ql_t.${quoteIdent(c)}`).join(', ');
  return (
    `WITH __ql_q AS MATERIALIZED (\n${body}\n), __ql_k AS (SELECT ${select}, row_number() OVER () AS __ql_ord FROM __ql_q) ` +
    `SELECT ${out} FROM __ql_k JOIN ${table.info.qualified} AS __ql_t ON ${on} ORDER BY __ql_k.__ql_ord`
  );
}

/** The key list of a result, or undefined when a key value cannot be kept. */
function keysOf(rows: readonly Record<string, unknown>[], pk: readonly string[]): readonly CachedKey[] | undefined {
  const out: CachedKey[] = new Array<CachedKey>(rows.length);
  if (pk.length === 1) {
    const c = pk[0]!;
    for (let i = 0; i < rows.length; i++) {
      const v = keyValue(rows[i]![c]);
      if (v === undefined) return undefined;
      out[i] = v;
    }
    return out;
  }
  for (let i = 0; i < rows.length; i++) {
    const tuple: KeyValue[] = [];
    for (const c of pk) {
      const v = keyValue(rows[i]![c]);
      if (v === undefined) return undefined;
      tuple.push(v);
    }
    out[i] = tuple;
  }
  return out;
}
