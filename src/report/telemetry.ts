/**
 * The production telemetry of one lens, wired once at construction from the resolved options:
 * the pool registry (not a sink: pools are registered by the lens), the slow-query log (with its EXPLAIN runner), OpenTelemetry spans and metrics,
 * and the finding listener that turns findings into span events and the `querylens.findings`
 * counter. Features that are off add no sink; without `@opentelemetry/api` installed, spans and
 * metrics are off.
 *
 * Sink order matters: the slow-query log runs before the span sink, so the query's span is still
 * open when the record takes its trace and span ids.
 */
import type { Finding } from '../core/finding.js';
import type { ResolvedMetricsOptions, ResolvedSlowQueryOptions, ResolvedTracingOptions } from '../core/lens-options.js';
import type { ConnectionTarget, ScopeInfo } from '../core/query-event.js';
import type { QuerySink } from '../core/query-pipeline.js';
import { DebugOnce } from './debug-once.js';
import { ExplainRunner } from './explain.js';
import type { LoggerLike } from './logger.js';
import { loadApi } from './otel-api.js';
import { OtelMetricsSink } from './otel-metrics.js';
import { OtelSpanSink } from './otel-spans.js';
import { PoolRegistry } from './pool-registry.js';
import { SlowQuerySink } from './slow-query-log.js';

export interface TelemetryOptions {
  readonly tracing: ResolvedTracingOptions | false;
  readonly metrics: ResolvedMetricsOptions | false;
  readonly slowQuery: ResolvedSlowQueryOptions | false;
}

export interface Telemetry {
  /** In pipeline order. */
  readonly sinks: readonly QuerySink[];
  /** The finding listener (span events, findings counter); undefined when neither is on. */
  readonly onFinding: ((finding: Finding, scope: ScopeInfo | undefined) => void) | undefined;
  /** An instrumented pool and the target its events name (EXPLAIN connections, use time); anything else is ignored. */
  registerPool(pool: unknown, target: ConnectionTarget | undefined): void;
  unregisterPool(pool: unknown): void;
  /** Failures logged once at debug, by kind (diagnostics, tests). */
  readonly failures: ReadonlyMap<string, number>;
}

export function createTelemetry(options: TelemetryOptions, logger: LoggerLike | undefined): Telemetry {
  const debug = new DebugOnce(logger);
  const api = options.tracing !== false || options.metrics !== false ? loadApi() : undefined;
  const spans = api !== undefined && options.tracing !== false ? new OtelSpanSink(api, options.tracing, debug) : undefined;
  const metrics = api !== undefined && options.metrics !== false ? new OtelMetricsSink(api, options.metrics, debug) : undefined;
  const explainOptions = options.slowQuery === false ? false : options.slowQuery.explain;
  const poolTimes = metrics !== undefined && options.metrics !== false && options.metrics.poolTimes;
  const registry = poolTimes || explainOptions !== false ? new PoolRegistry() : undefined;
  if (registry !== undefined && metrics !== undefined && poolTimes) registry.onUseTime = (target, ms) => metrics.recordUseTime(target, ms);
  const explain = explainOptions !== false && registry !== undefined && logger !== undefined ? new ExplainRunner(explainOptions, registry, debug) : undefined;
  const slow = options.slowQuery === false ? undefined : new SlowQuerySink(options.slowQuery, { logger, debug, spans, explain });

  const sinks: QuerySink[] = [];
  if (slow !== undefined) sinks.push(slow);
  if (spans !== undefined) sinks.push(spans);
  if (metrics !== undefined) sinks.push(metrics);

  return {
    sinks,
    onFinding:
      spans === undefined && metrics === undefined
        ? undefined
        : (finding, scope) => {
            spans?.addFinding(finding, scope);
            metrics?.countFinding(finding);
          },
    registerPool: (pool, target) => registry?.register(pool, target),
    unregisterPool: (pool) => registry?.unregister(pool),
    failures: debug.counts,
  };
}
