/**
 * OpenTelemetry metrics, following the database semantic conventions:
 *
 * - `db.client.operation.duration` (s; buckets 0.001 … 10) per statement, and with `returnedRows`
 *   `db.client.response.returned_rows`, with low-cardinality attributes only: system, namespace,
 *   server address and port, `db.query.summary`, and on failure `db.response.status_code` +
 *   `error.type`. Never the query text, the fingerprint or anything from the call.
 * - per pool, keyed by the pool's target object and named by `db.client.connection.pool.name`
 *   (`instrument(pool, { name })`, else `database@host:port`, with ` #2`, ` #3` … when two live
 *   pools would share a name): `db.client.connection.count` (idle/used) and
 *   `db.client.connection.pending_requests`, observed from pg-pool's counters when the reader
 *   collects (no cost per query); with `poolTimes`, `db.client.connection.wait_time` (the wait of
 *   each `pool.query`) and `db.client.connection.use_time` (checkout to release, from the pool's
 *   events). Returned rows and pool times are development-status conventions that cost an SDK
 *   histogram record per statement / checkout (1–1.5 µs each), hence opt-in.
 *   `db.client.connection.timeouts` counts checkouts pg-pool gave up on after
 *   `connectionTimeoutMillis` (watched only on pools that set it).
 * - `querylens.findings` by `querylens.finding.kind`.
 *
 * Instruments are created on first use and again whenever the meter provider changes, so an SDK
 * registered after `createLens` receives everything from then on; with only the API's no-op
 * provider, a query costs one provider lookup. Attribute objects are reused per (pool, summary).
 */
import type * as OtelApi from '@opentelemetry/api';
import type { Finding } from '../core/finding.js';
import type { ResolvedMetricsOptions } from '../core/lens-options.js';
import type { ConnectionTarget, LensEvent, QueryEndEvent } from '../core/query-event.js';
import type { QuerySink } from '../core/query-pipeline.js';
import type { DebugOnce } from './debug-once.js';
import type { Api } from './otel-api.js';
import { MeterSource } from './otel-api.js';
import { returnedRows } from './otel-spans.js';
import {
  ATTR_DB_CLIENT_CONNECTION_POOL_NAME,
  ATTR_DB_CLIENT_CONNECTION_STATE,
  ATTR_DB_NAMESPACE,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_QUERYLENS_FINDING_KIND,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_NAME_POSTGRESQL,
  DURATION_BUCKETS_S,
  METRIC_DB_CLIENT_CONNECTION_COUNT,
  METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS,
  METRIC_DB_CLIENT_CONNECTION_TIMEOUTS,
  METRIC_DB_CLIENT_CONNECTION_USE_TIME,
  METRIC_DB_CLIENT_CONNECTION_WAIT_TIME,
  METRIC_DB_CLIENT_OPERATION_DURATION,
  METRIC_DB_CLIENT_RESPONSE_RETURNED_ROWS,
  METRIC_QUERYLENS_FINDINGS,
  ROWS_BUCKETS,
  errorType,
} from './semconv.js';

/** Pools tracked for connection metrics; beyond this, new pools get none. */
export const MAX_METRIC_POOLS = 1000;
/** Distinct summaries whose attribute objects are reused, per pool/client. */
const MAX_CACHED_SUMMARIES = 1000;

interface Instruments {
  readonly meter: OtelApi.Meter;
  readonly duration: OtelApi.Histogram;
  /** Only with `returnedRows`. */
  readonly rows: OtelApi.Histogram | undefined;
  /** Only with `poolTimes`. */
  readonly waitTime: OtelApi.Histogram | undefined;
  readonly useTime: OtelApi.Histogram | undefined;
  readonly findings: OtelApi.Counter;
  readonly timeouts: OtelApi.Counter;
  readonly connections: OtelApi.ObservableUpDownCounter;
  readonly pending: OtelApi.ObservableUpDownCounter;
  readonly observe: OtelApi.BatchObservableCallback;
}

interface PoolInfo {
  readonly ref: WeakRef<ConnectionTarget>;
  readonly attributes: OtelApi.Attributes;
  readonly used: OtelApi.Attributes;
  readonly idle: OtelApi.Attributes;
}

export class OtelMetricsSink implements QuerySink {
  readonly name = 'otel-metrics';
  readonly accepts = ['query-end', 'pool-timeout'] as const;
  readonly #meters: MeterSource;
  readonly #options: ResolvedMetricsOptions;
  readonly #debug: DebugOnce;
  #instruments: Instruments | undefined;
  #generation = 0;
  readonly #pools = new WeakMap<ConnectionTarget, PoolInfo>();
  /** Pool name → pool, for the observable callback and for telling same-named pools apart. */
  readonly #poolsByName = new Map<string, PoolInfo>();
  readonly #attributes = new WeakMap<ConnectionTarget, Map<string, OtelApi.Attributes>>();
  readonly #findingAttributes = new Map<string, OtelApi.Attributes>();

  constructor(api: Api, options: ResolvedMetricsOptions, debug: DebugOnce) {
    this.#meters = new MeterSource(api, options.meterProvider);
    this.#options = options;
    this.#debug = debug;
  }

  /** The instruments on the current meter (created or re-created when the provider changed). */
  #current(): Instruments | undefined {
    const meter = this.#meters.get();
    if (this.#meters.generation !== this.#generation) {
      this.#generation = this.#meters.generation;
      this.#rebuild(meter);
    }
    return this.#instruments;
  }

  #rebuild(meter: OtelApi.Meter | undefined): void {
    const old = this.#instruments;
    this.#instruments = undefined;
    if (old !== undefined) {
      try {
        old.meter.removeBatchObservableCallback(old.observe, [old.connections, old.pending]);
      } catch (err) {
        this.#debug.fail('metrics', err, 'removing the pool metrics callback from the previous meter failed');
      }
    }
    if (meter === undefined) return;
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_S] } };
    const connections = meter.createObservableUpDownCounter(METRIC_DB_CLIENT_CONNECTION_COUNT, {
      description: 'The number of connections that are currently in state described by the state attribute.',
      unit: '{connection}',
    });
    const pending = meter.createObservableUpDownCounter(METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS, {
      description: 'The number of current pending requests for an open connection.',
      unit: '{request}',
    });
    const observe: OtelApi.BatchObservableCallback = (result) => this.#observePools(result, connections, pending);
    meter.addBatchObservableCallback(observe, [connections, pending]);
    const { returnedRows, poolTimes } = this.#options;
    this.#instruments = {
      meter,
      duration: meter.createHistogram(METRIC_DB_CLIENT_OPERATION_DURATION, { description: 'Duration of database client operations.', ...seconds }),
      rows: returnedRows
        ? meter.createHistogram(METRIC_DB_CLIENT_RESPONSE_RETURNED_ROWS, {
            description: 'The actual number of records returned by the database operation.',
            unit: '{row}',
            advice: { explicitBucketBoundaries: [...ROWS_BUCKETS] },
          })
        : undefined,
      waitTime: poolTimes ? meter.createHistogram(METRIC_DB_CLIENT_CONNECTION_WAIT_TIME, { description: 'The time it took to obtain an open connection from the pool.', ...seconds }) : undefined,
      useTime: poolTimes ? meter.createHistogram(METRIC_DB_CLIENT_CONNECTION_USE_TIME, { description: 'The time between borrowing a connection and returning it to the pool.', ...seconds }) : undefined,
      findings: meter.createCounter(METRIC_QUERYLENS_FINDINGS, { description: 'Query findings (N+1, duplicates, slow queries …) reported by querylens.', unit: '{finding}' }),
      timeouts: meter.createCounter(METRIC_DB_CLIENT_CONNECTION_TIMEOUTS, {
        description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
        unit: '{timeout}',
      }),
      connections,
      pending,
      observe,
    };
  }

  handle(event: LensEvent): void {
    if (event.type === 'pool-timeout') return this.#countTimeout(event.target);
    if (event.type !== 'query-end') return;
    try {
      const instruments = this.#current();
      if (instruments === undefined) return;
      const failed = event.error !== undefined;
      const attributes = failed ? this.#errorAttributes(event) : this.#operationAttributes(event);
      instruments.duration.record(event.durationMs / 1000, attributes);
      if (!failed && instruments.rows !== undefined) {
        const rows = returnedRows(event);
        if (rows !== undefined) instruments.rows.record(rows, attributes);
      }
      if (event.target.kind === 'pool') {
        // Every pool seen gets its connection metrics, whether it is used by pool.query or pool.connect.
        const pool = this.#pool(event.target);
        if (pool !== undefined && event.poolWaitMs !== undefined) instruments.waitTime?.record(event.poolWaitMs / 1000, pool.attributes);
      }
    } catch (err) {
      this.#debug.fail('metrics', err, 'recording query metrics failed (meter, reader or exporter)');
    }
  }

  /** pg-pool gave up on a checkout after `connectionTimeoutMillis` (rare: no attribute caching needed beyond the pool's). */
  #countTimeout(target: ConnectionTarget): void {
    try {
      const timeouts = this.#current()?.timeouts;
      const pool = timeouts === undefined ? undefined : this.#pool(target);
      if (pool !== undefined) timeouts!.add(1, pool.attributes);
    } catch (err) {
      this.#debug.fail('metrics', err, 'counting a pool timeout failed');
    }
  }

  /** A pool connection was checked out for `ms` (from the pool registry). */
  recordUseTime(target: ConnectionTarget, ms: number): void {
    try {
      const useTime = this.#current()?.useTime;
      const pool = useTime === undefined ? undefined : this.#pool(target);
      if (pool !== undefined) useTime!.record(ms / 1000, pool.attributes);
    } catch (err) {
      this.#debug.fail('metrics', err, 'recording pool use time failed');
    }
  }

  countFinding(finding: Finding): void {
    try {
      const instruments = this.#current();
      if (instruments === undefined) return;
      let attributes = this.#findingAttributes.get(finding.kind);
      if (attributes === undefined) {
        attributes = { [ATTR_QUERYLENS_FINDING_KIND]: finding.kind };
        this.#findingAttributes.set(finding.kind, attributes);
      }
      instruments.findings.add(1, attributes);
    } catch (err) {
      this.#debug.fail('metrics', err, 'counting a finding failed');
    }
  }

  #baseAttributes(event: QueryEndEvent): OtelApi.Attributes {
    const target = event.target;
    const attributes: OtelApi.Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_POSTGRESQL };
    if (target.database !== undefined) attributes[ATTR_DB_NAMESPACE] = target.database;
    if (target.host !== undefined) attributes[ATTR_SERVER_ADDRESS] = target.host;
    if (target.port !== undefined) attributes[ATTR_SERVER_PORT] = target.port;
    if (event.sql.summary !== '') attributes[ATTR_DB_QUERY_SUMMARY] = event.sql.summary;
    return attributes;
  }

  #operationAttributes(event: QueryEndEvent): OtelApi.Attributes {
    let bySummary = this.#attributes.get(event.target);
    if (bySummary === undefined) {
      bySummary = new Map();
      this.#attributes.set(event.target, bySummary);
    }
    const summary = event.sql.summary;
    const hit = bySummary.get(summary);
    // A target learns its address from its first client: reuse only once it is complete.
    if (hit !== undefined) return hit;
    const attributes = this.#baseAttributes(event);
    const target = event.target;
    if (bySummary.size < MAX_CACHED_SUMMARIES && target.database !== undefined && target.host !== undefined) bySummary.set(summary, attributes);
    return attributes;
  }

  #errorAttributes(event: QueryEndEvent): OtelApi.Attributes {
    const attributes = this.#baseAttributes(event);
    if (event.sqlstate !== undefined) attributes[ATTR_DB_RESPONSE_STATUS_CODE] = event.sqlstate;
    attributes[ATTR_ERROR_TYPE] = errorType(event.error, event.sqlstate);
    return attributes;
  }

  /** The pool's metric identity, assigned when first seen (undefined for clients, or past the cap). */
  #pool(target: ConnectionTarget): PoolInfo | undefined {
    const known = this.#pools.get(target);
    if (known !== undefined) return known;
    if (target.kind !== 'pool') return undefined;
    this.#pruneDeadPools();
    if (this.#poolsByName.size >= MAX_METRIC_POOLS) return undefined;
    let name = target.name;
    for (let n = 2; this.#poolsByName.has(name); n++) name = `${target.name} #${n}`;
    const info: PoolInfo = {
      ref: new WeakRef(target),
      attributes: { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name },
      used: { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name, [ATTR_DB_CLIENT_CONNECTION_STATE]: 'used' },
      idle: { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name, [ATTR_DB_CLIENT_CONNECTION_STATE]: 'idle' },
    };
    this.#pools.set(target, info);
    this.#poolsByName.set(name, info);
    return info;
  }

  /** Forgets pools whose target (or pg pool) was collected, freeing their names. */
  #pruneDeadPools(): void {
    for (const [name, info] of this.#poolsByName) {
      const target = info.ref.deref();
      if (target === undefined || target.poolCounts() === undefined) this.#poolsByName.delete(name);
    }
  }

  #observePools(result: OtelApi.BatchObservableResult, connections: OtelApi.Observable, pending: OtelApi.Observable): void {
    for (const [name, info] of this.#poolsByName) {
      const counts = info.ref.deref()?.poolCounts();
      if (counts === undefined) {
        this.#poolsByName.delete(name);
        continue;
      }
      result.observe(connections, Math.max(0, counts.total - counts.idle), info.used);
      result.observe(connections, counts.idle, info.idle);
      result.observe(pending, counts.waiting, info.attributes);
    }
  }
}
