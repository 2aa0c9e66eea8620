/**
 * What the pg layer needs from a lens, and nothing more: the pipeline to emit into, the memoised
 * SQL analyser, the call-site capture chosen by policy, and the trace-scope lookup (absent when
 * OpenTelemetry is not in use). The lens builds one at construction; every wrapper it installs
 * reads these fields and never the options.
 */
import type { QueryPipeline } from '../core/query-pipeline.js';
import type { ScopeInfo } from '../core/query-event.js';
import type { CallsiteCapturer } from '../context/callsite-capture.js';
import type { SqlInfo } from '../sql/sql-info.js';

export interface Recorder {
  readonly pipeline: QueryPipeline;
  readonly analyze: (text: string) => SqlInfo;
  readonly captureCallsite: CallsiteCapturer;
  /** The OpenTelemetry trace's unit of work, when there is no lens scope; undefined when tracing is off. */
  readonly traceScope: ((now: number) => ScopeInfo | undefined) | undefined;
  /** The OpenTelemetry context active right now (captured at call time); undefined when tracing is off. */
  readonly captureContext: (() => unknown) | undefined;
  /** The lens was closed: wrappers pass straight through. */
  readonly closed: boolean;
  /** A bug in querylens itself was caught on the query path (counted, warned once; the query proceeds). */
  internalError(error: unknown): void;
}
