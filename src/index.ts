/**
 * The public API of querylens: explicit named exports only, types with `export type`. Anything
 * not listed here is internal and may change without notice.
 */
export { createLens } from './lens.js';
export type { Lens, LensEventName } from './lens.js';
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
