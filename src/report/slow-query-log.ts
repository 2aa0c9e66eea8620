/**
 * The slow-query log: every statement over `slowQuery.thresholdMs` (a `sampleRate` share of them,
 * by a deterministic accumulator) becomes
 *
 * 1. a `slow-query` Finding, reported through the pipeline at once (so it reaches listeners, the
 *    scope, span events and the `querylens.findings` counter), and
 * 2. one pino record at `warn`:
 *
 * ```json
 * { "querylens": "slow-query", "msg": "slow query: SELECT comments took 812.4 ms (threshold 200 ms) — sequential scan …",
 *   "duration_ms": 812.4, "threshold_ms": 200, "db.query.fingerprint": "…", "db.query.summary": "SELECT comments",
 *   "db.query.text": "SELECT * FROM comments WHERE post_id = $1", "rows": 3, "sqlstate": undefined,
 *   "callsite": { "file": "src/routes/posts.ts", "line": 42, "column": 7 }, "scope": { "id": "12", "name": "GET /posts/:id" },
 *   "trace_id": "…", "span_id": "…", "pool_wait_ms": 0.4,
 *   "plan": { "node": "Seq Scan on comments", "totalCost": 1234.5, … }, "hint": "sequential scan on comments …" }
 * ```
 *
 * With `explain`, the record waits for the plan (bounded by the EXPLAIN's timeout; at most
 * MAX_PENDING_RECORDS wait at once) and says why when there is none (`plan_unavailable`). Queries
 * inside `lens.ignore()` are not reported. Parameter values never appear.
 */
import type { SlowQueryFinding } from '../core/finding.js';
import type { ResolvedSlowQueryOptions } from '../core/lens-options.js';
import type { Callsite, LensEvent, QueryEndEvent } from '../core/query-event.js';
import type { FindingReporter, QuerySink } from '../core/query-pipeline.js';
import type { DebugOnce } from './debug-once.js';
import type { ExplainResult, ExplainRunner } from './explain.js';
import type { LoggerLike } from './logger.js';
import type { OtelSpanSink } from './otel-spans.js';
import { safeQueryText, truncateText } from './query-text.js';

/** Records waiting for a plan at once, at most; more are written without one. */
export const MAX_PENDING_RECORDS = 100;
/** `db.query.text` in a record is cut to this length. */
const MAX_LOG_TEXT = 4096;

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function at(callsite: Callsite | undefined): string {
  return callsite === undefined ? '' : ` at ${callsite.file}:${callsite.line}`;
}

export interface SlowQueryDeps {
  readonly logger: LoggerLike | undefined;
  readonly debug: DebugOnce;
  /** For the record's trace and span ids (the query's span is still open when this sink runs). */
  readonly spans: OtelSpanSink | undefined;
  readonly explain: ExplainRunner | undefined;
}

export class SlowQuerySink implements QuerySink {
  readonly name = 'slow-query';
  readonly accepts = ['query-end'] as const;
  readonly #thresholdMs: number;
  readonly #sampleRate: number;
  readonly #deps: SlowQueryDeps;
  #credit = 0;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: ResolvedSlowQueryOptions, deps: SlowQueryDeps) {
    this.#thresholdMs = options.thresholdMs;
    this.#sampleRate = options.sampleRate;
    this.#deps = deps;
  }

  handle(event: LensEvent, reporter: FindingReporter): void {
    if (event.type !== 'query-end' || event.durationMs < this.#thresholdMs || event.ignored) return;
    // Sampling: credit accumulates by the rate; a record is written each time it reaches 1.
    this.#credit += this.#sampleRate;
    if (this.#credit < 1) return;
    this.#credit -= 1;

    const callsite = event.callsite?.resolve();
    const text = truncateText(safeQueryText(event.text, event.sql), MAX_LOG_TEXT);
    const summary = event.sql.summary !== '' ? event.sql.summary : event.sql.command !== '' ? event.sql.command : 'statement';
    const durationMs = round1(event.durationMs);
    const cachedHint = this.#deps.explain?.cached(event.sql.fingerprint)?.hint;
    reporter.report(this.#finding(event, summary, text, durationMs, callsite, cachedHint), event.scope);

    const logger = this.#deps.logger;
    if (logger === undefined || logger.isLevelEnabled?.('warn') === false) return;
    const record = this.#record(event, text, durationMs, callsite);
    const base = `slow query: ${summary} took ${durationMs} ms (threshold ${this.#thresholdMs} ms)${at(callsite)}`;
    const explain = this.#deps.explain;
    if (explain === undefined) {
      this.#write(logger, record, base, undefined);
      return;
    }
    if (this.#pending.size >= MAX_PENDING_RECORDS) {
      this.#write(logger, record, base, { unavailable: 'busy' });
      return;
    }
    const result = explain.explain(event);
    if (!(result instanceof Promise)) {
      this.#write(logger, record, base, result);
      return;
    }
    const pending: Promise<void> = result.then(
      (r) => this.#write(logger, record, base, r),
      (err: unknown) => {
        this.#deps.debug.fail('explain', err, 'EXPLAIN failed');
        this.#write(logger, record, base, { unavailable: 'failed' });
      },
    );
    this.#pending.add(pending);
    void pending.finally(() => this.#pending.delete(pending));
  }

  #finding(event: QueryEndEvent, summary: string, text: string, durationMs: number, callsite: Callsite | undefined, hint: string | undefined): SlowQueryFinding {
    const scope = event.scope;
    return {
      kind: 'slow-query',
      message: `Slow query: ${summary} took ${durationMs} ms (threshold ${this.#thresholdMs} ms)${at(callsite)}`,
      suggestion:
        hint !== undefined
          ? `${hint[0]!.toUpperCase()}${hint.slice(1)}.`
          : this.#deps.explain !== undefined
            ? 'See the slow-query log record for its plan summary.'
            : 'Run EXPLAIN (ANALYZE, BUFFERS) on it to see where the time goes, or set slowQuery.explain to have its plan summarized in the log.',
      fingerprint: event.sql.fingerprint,
      summary: event.sql.summary,
      sql: text,
      count: 1,
      distinctParams: 1,
      totalMs: event.durationMs,
      callsite,
      orm: event.operation?.orm,
      scope: scope === undefined ? undefined : { id: scope.id, name: scope.name },
      durationMs: event.durationMs,
      thresholdMs: this.#thresholdMs,
    };
  }

  #record(event: QueryEndEvent, text: string, durationMs: number, callsite: Callsite | undefined): Record<string, unknown> {
    const record: Record<string, unknown> = {
      querylens: 'slow-query',
      duration_ms: durationMs,
      threshold_ms: this.#thresholdMs,
      'db.query.fingerprint': event.sql.fingerprint,
      'db.query.summary': event.sql.summary,
      'db.query.text': text,
      rows: event.rowCount ?? null,
    };
    if (event.sqlstate !== undefined) record['sqlstate'] = event.sqlstate;
    else if (event.error !== undefined) record['error'] = true;
    if (callsite !== undefined) record['callsite'] = { ...callsite };
    const scope = event.scope;
    if (scope !== undefined) record['scope'] = { id: scope.id, name: scope.name, kind: scope.kind };
    const span = this.#deps.spans?.spanContextOf(event.id);
    if (span !== undefined) {
      record['trace_id'] = span.traceId;
      record['span_id'] = span.spanId;
    }
    if (event.poolWaitMs !== undefined) record['pool_wait_ms'] = round1(event.poolWaitMs);
    if (event.operation?.orm !== undefined) record['orm'] = event.operation.orm;
    return record;
  }

  #write(logger: LoggerLike, record: Record<string, unknown>, base: string, explained: ExplainResult | undefined): void {
    let msg = base;
    if (explained !== undefined) {
      if ('plan' in explained) {
        record['plan'] = explained.plan;
        if (explained.plan.hint !== undefined) {
          record['hint'] = explained.plan.hint;
          msg += ` — ${explained.plan.hint}`;
        }
      } else if (explained.unavailable !== 'not-explainable') {
        record['plan_unavailable'] = explained.unavailable;
      }
    }
    try {
      logger.warn(record, msg);
    } catch (err) {
      this.#deps.debug.fail('slow-query-log', err, 'the logger threw while writing a slow-query record');
    }
  }

  /** Waits for records still waiting for their plan. */
  async close(): Promise<void> {
    await this.#deps.explain?.close();
    await Promise.allSettled([...this.#pending]);
  }
}
