/**
 * The public API of querylens: explicit named exports only, types with `export type`. Anything
 * not listed here is internal and may change without notice.
 */
export { createLens } from './lens.js';
export type { Lens, LensEventName, ScopeOptions } from './lens.js';
export { fingerprint, normalize, summarize, sanitize } from './sql/index.js';
export type { SqlInfo, StatementClass } from './sql/sql-info.js';
export { QuerylensError, InvalidOptionError, NPlusOneError } from './core/errors.js';
export type { CallsitePolicy, LensMode, LensOptions, ResolvedLensOptions, ResolvedStatsOptions, StatsOptions } from './core/lens-options.js';
export type {
  BatchableWritesFinding,
  DuplicateFinding,
  Finding,
  FindingKind,
  FindingParent,
  LargeResultFinding,
  NPlusOneFinding,
  QueryBudgetFinding,
  SlowQueryFinding,
} from './core/finding.js';
export type {
  Callsite,
  CallsiteCapture,
  ConnectionTarget,
  LensEvent,
  LensEventType,
  OperationFrame,
  OperationInfo,
  PoolCounts,
  QueryEndEvent,
  QueryEvent,
  QueryStartEvent,
  ResultView,
  PoolTimeoutEvent,
  ScopeEndEvent,
  ScopeEvent,
  ScopeInfo,
  ScopeKind,
  ScopeStartEvent,
} from './core/query-event.js';
export type { FindingListener, QuerySink, SinkFailures } from './core/query-pipeline.js';
export type { InstrumentOptions } from './pg/instrument.js';
export type { NextFunctionLike, RequestLike, RequestMiddleware, ResponseLike } from './context/request-scope.js';
export type { FingerprintStats } from './report/stats-sink.js';
export { formatFinding } from './report/finding-log.js';
export type { AllowRule, BatchableWritesOptions, DuplicatesOptions, LargeResultOptions, LoggerLike, NPlusOneOptions } from './core/lens-options.js';
export { formatTopQueries } from './report/top-queries.js';
export type { TopQueriesOptions } from './report/top-queries.js';
export type { PlanSummary, SeqScanSummary } from './report/plan-summary.js';
export type {
  ExplainOptions,
  MeterProviderLike,
  MetricsOptions,
  ResolvedExplainOptions,
  ResolvedMetricsOptions,
  ResolvedSlowQueryOptions,
  ResolvedTracingOptions,
  SlowQueryOptions,
  TelemetryAttributeValue,
  TelemetrySpan,
  TracerProviderLike,
  TracingOptions,
} from './core/lens-options.js';
export { CachePrimaryKeyError } from './core/errors.js';
export type { CacheKeyProblem } from './core/errors.js';
export type { PkCache, PkCacheBypassReason, PkCacheStats } from './cache/pk-cache.js';
export type { PkCacheOptions, PkCacheRedisOptions, PkCacheScopeValue, PkQueryOptions } from './cache/cache-options.js';
export type { PkCacheQueryable } from './cache/catalog.js';
export type { StoreStats as PkCacheStoreStats } from './cache/pk-store.js';
