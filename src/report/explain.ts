/**
 * EXPLAIN for the slow-query log, run so that it can never hurt the application:
 *
 * - only for parameterized, single-statement SELECTs (see `explainable`), on a connection borrowed
 *   from the instrumented pool the query came from, and only when that pool has no request waiting;
 * - as internal queries (never observed, never reported), inside `BEGIN READ ONLY … ROLLBACK` with
 *   `SET LOCAL statement_timeout`, so nothing persists on the pooled connection;
 * - `EXPLAIN (VERBOSE, FORMAT JSON)`: the plan only; `ANALYZE` (which runs the query) only when
 *   `explain.analyze` is set, and then the rollback and the timeout bound what it can do;
 * - at most `maxPerMinute` EXPLAINs (a sliding window), at most MAX_CONCURRENT at once, one per
 *   fingerprint at a time, and each plan summary is reused for PLAN_TTL_MS;
 * - whatever fails or times out gives a result without a plan (with the reason), logged once at debug.
 */
import { LRUCache } from 'lru-cache';
import { internalQuery } from '../core/internal-query.js';
import type { ResolvedExplainOptions } from '../core/lens-options.js';
import type { QueryEndEvent } from '../core/query-event.js';
import type { DebugOnce } from './debug-once.js';
import type { PlanSummary, TableRows } from './plan-summary.js';
import { displayTable, planRoot, seqScansOf, summarizePlan } from './plan-summary.js';
import type { PoolClientLike, PoolLike, PoolRegistry } from './pool-registry.js';

/** EXPLAINs running at once, at most. */
export const MAX_CONCURRENT = 2;
/** A plan summary is reused for this long per fingerprint, ms. */
export const PLAN_TTL_MS = 10 * 60_000;
/** Plan summaries kept. */
const PLAN_CACHE_SIZE = 500;
/** Rows per block assumed for a table that was never analyzed (no statistics yet). */
const ROWS_PER_BLOCK_UNANALYZED = 100;

/** Why a record has no plan. */
export type PlanUnavailable = 'not-explainable' | 'rate-limited' | 'busy' | 'no-pool' | 'pool-busy' | 'failed' | 'timeout' | 'closed';

export type ExplainResult = { readonly plan: PlanSummary } | { readonly unavailable: PlanUnavailable };

/**
 * Whether a statement may be explained: a read-only SELECT (or WITH … SELECT), one statement,
 * whose text pg saw, parameterized (`$n` parameters, or no literal at all: a text with values
 * inlined is not re-run), that succeeded or was cancelled by a statement timeout.
 */
export function explainable(event: QueryEndEvent): boolean {
  const sql = event.sql;
  if (sql.statementClass !== 'read' || (sql.command !== 'SELECT' && sql.command !== 'WITH')) return false;
  if (sql.multiStatement || event.text === '' || event.streamed) return false;
  if (sql.hasLiterals && sql.maxParam === 0) return false;
  return event.error === undefined || event.sqlstate === '57014';
}

const SIZES_SQL = `SELECT t.i::int AS i, c.reltuples::float8 AS tuples, c.relpages::float8 AS pages,
  CASE WHEN c.oid IS NULL THEN 0 ELSE pg_relation_size(c.oid) / current_setting('block_size')::int END::float8 AS blocks
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(nsp, rel, i)
LEFT JOIN pg_class c ON c.oid = to_regclass(CASE WHEN t.nsp IS NULL THEN quote_ident(t.rel) ELSE quote_ident(t.nsp) || '.' || quote_ident(t.rel) END)`;

interface SizeRow {
  readonly i: number;
  readonly tuples: number | null;
  readonly pages: number | null;
  readonly blocks: number | null;
}

/** The planner's way: rows per page from the statistics, scaled to the table's current size. */
function estimatedRows(row: SizeRow): number | undefined {
  const blocks = row.blocks ?? 0;
  const tuples = row.tuples ?? -1;
  const pages = row.pages ?? 0;
  if (tuples > 0 && pages > 0) return Math.round((tuples / pages) * Math.max(blocks, pages));
  if (tuples > 0) return tuples;
  return blocks > 0 ? blocks * ROWS_PER_BLOCK_UNANALYZED : undefined;
}

export class ExplainRunner {
  readonly #options: ResolvedExplainOptions;
  readonly #registry: PoolRegistry;
  readonly #debug: DebugOnce;
  readonly #now: () => number;
  readonly #plans = new LRUCache<string, PlanSummary>({ max: PLAN_CACHE_SIZE, ttl: PLAN_TTL_MS, ttlAutopurge: false });
  readonly #inflight = new Map<string, Promise<ExplainResult>>();
  /** Start times of the EXPLAINs of the last minute. */
  #window: number[] = [];
  #closed = false;

  constructor(options: ResolvedExplainOptions, registry: PoolRegistry, debug: DebugOnce, now: () => number = () => performance.now()) {
    this.#options = options;
    this.#registry = registry;
    this.#debug = debug;
    this.#now = now;
  }

  /** The cached plan summary of a fingerprint, if one is fresh. */
  cached(fingerprint: string): PlanSummary | undefined {
    return this.#plans.get(fingerprint);
  }

  /** A plan for this statement: at once when cached or refused, else when the EXPLAIN is done. */
  explain(event: QueryEndEvent): ExplainResult | Promise<ExplainResult> {
    if (this.#closed) return { unavailable: 'closed' };
    if (!explainable(event)) return { unavailable: 'not-explainable' };
    const fingerprint = event.sql.fingerprint;
    const plan = this.#plans.get(fingerprint);
    if (plan !== undefined) return { plan };
    const running = this.#inflight.get(fingerprint);
    if (running !== undefined) return running;
    if (this.#inflight.size >= MAX_CONCURRENT) return { unavailable: 'busy' };
    const now = this.#now();
    this.#window = this.#window.filter((t) => now - t < 60_000);
    if (this.#window.length >= this.#options.maxPerMinute) return { unavailable: 'rate-limited' };
    const pool = this.#registry.poolFor(event.target);
    if (pool === undefined) return { unavailable: 'no-pool' };
    this.#window.push(now);
    const promise = this.#whenPoolFree(pool).then((free) => {
      if (!free) {
        // Not run: it does not count against the rate.
        const i = this.#window.lastIndexOf(now);
        if (i !== -1) this.#window.splice(i, 1);
        return { unavailable: 'pool-busy' } as const;
      }
      return this.#run(pool, event).then((result) => {
        if ('plan' in result) this.#plans.set(fingerprint, result.plan);
        return result;
      });
    });
    this.#inflight.set(fingerprint, promise);
    void promise.finally(() => this.#inflight.delete(fingerprint));
    return promise;
  }

  /**
   * After the current turn (the application releases the connection its slow query ran on only
   * after the query's end event): true when the pool can lend a connection without making anyone wait.
   */
  async #whenPoolFree(pool: PoolLike): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    const max = typeof pool.options?.max === 'number' ? pool.options.max : 10;
    return (pool.waitingCount ?? 0) === 0 && (pool.idleCount > 0 || pool.totalCount < max);
  }

  /** Borrow, explain, roll back, release; bounded by a client-side deadline as well. */
  #run(pool: PoolLike, event: QueryEndEvent): Promise<ExplainResult> {
    const timeoutMs = this.#options.timeoutMs;
    let abandoned = false;
    const work = (async (): Promise<ExplainResult> => {
      let client: PoolClientLike;
      try {
        client = await pool.connect();
      } catch (err) {
        this.#debug.fail('explain', err, 'EXPLAIN could not get a pooled connection');
        return { unavailable: 'failed' };
      }
      if (abandoned) {
        client.release();
        return { unavailable: 'timeout' };
      }
      let broken: Error | undefined;
      try {
        await client.query(internalQuery('BEGIN READ ONLY'));
        await client.query(internalQuery(`SET LOCAL statement_timeout = ${timeoutMs}`));
        const options = this.#options.analyze ? 'ANALYZE, VERBOSE, FORMAT JSON' : 'VERBOSE, FORMAT JSON';
        // The extended protocol refuses a second statement, whatever the text holds.
        const explained = await client.query({ ...internalQuery(`EXPLAIN (${options}) ${event.text}`, event.values ?? []), queryMode: 'extended' });
        const root = planRoot((explained.rows[0] as Record<string, unknown> | undefined)?.['QUERY PLAN']);
        if (root === undefined) throw new Error('EXPLAIN returned no plan');
        const scans = seqScansOf(root);
        const tableRows = new Map<string, number>();
        if (scans.length > 0) {
          const sizes = await client.query(internalQuery(SIZES_SQL, [scans.map((s) => s.schema ?? null), scans.map((s) => s.relation)]));
          for (const row of sizes.rows as readonly SizeRow[]) {
            const scan = scans[row.i - 1];
            const rows = estimatedRows(row);
            if (scan !== undefined && rows !== undefined) tableRows.set(displayTable(scan), rows);
          }
        }
        await client.query(internalQuery('ROLLBACK'));
        return { plan: summarizePlan(root, tableRows as TableRows) };
      } catch (err) {
        const timedOut = (err as { code?: unknown } | null)?.code === '57014';
        this.#debug.fail(timedOut ? 'explain-timeout' : 'explain', err, timedOut ? 'EXPLAIN hit its statement timeout' : 'EXPLAIN failed');
        try {
          await client.query(internalQuery('ROLLBACK'));
        } catch (rollbackError) {
          // The connection is in an unknown state: have the pool discard it.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        return { unavailable: timedOut ? 'timeout' : 'failed' };
      } finally {
        try {
          client.release(broken);
        } catch {
          // released twice or pool ended: nothing to do
        }
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<ExplainResult>((resolve) => {
      timer = setTimeout(() => {
        abandoned = true;
        this.#debug.fail('explain-timeout', new Error(`no plan after ${2 * timeoutMs + 250} ms`), 'EXPLAIN took too long (pool wait or server)');
        resolve({ unavailable: 'timeout' });
      }, 2 * timeoutMs + 250);
      timer.unref();
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }

  /** Stops explaining and waits for the EXPLAINs in flight (each bounded by its deadline). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inflight.values()]);
  }
}
