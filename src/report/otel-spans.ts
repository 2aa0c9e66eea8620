/**
 * One OpenTelemetry CLIENT span per statement, following the stable database semantic conventions.
 *
 * - Start (`query-start`, emitted synchronously inside `query()`): named by `db.query.summary`
 *   (else `{command} {table}`, else `postgresql`), parented on the context active at the call,
 *   started at the call's own timestamp, with everything a sampler may want: `db.system.name`,
 *   `db.namespace`, `server.address`/`server.port`, `db.query.summary`, `db.query.text`
 *   (see query-text.ts) and `querylens.fingerprint`.
 * - End (`query-end`, also for cursors and streams when pg is done with them):
 *   `db.response.returned_rows`, or `db.response.status_code` + `error.type` + an ERROR status with
 *   a description that quotes no value; `code.*` when the call site is known (decoded for at
 *   most MAX_CALLSITE_DECODES_PER_SECOND statements a second); ended at start + the measured duration.
 *
 * `pool.query` reaches the connection later, from whichever callback pg-pool runs, so the parent is
 * the context the pg layer captured when the application called (`event.callContext`).
 *
 * Findings become `querylens.finding` events on the span that was active when their scope started
 * (the request span); when that span has already ended, on a short child span of it, so they stay
 * in the trace. Parameter values are recorded only at the indexes `captureParameters` allows.
 * Non-recording spans (no SDK, sampled out) are dropped at once; hooks and the SDK are isolated
 * (see DebugOnce).
 */
import type * as OtelApi from '@opentelemetry/api';
import type { Finding } from '../core/finding.js';
import type { ResolvedTracingOptions } from '../core/lens-options.js';
import type { ConnectionTarget, LensEvent, QueryEndEvent, QueryStartEvent, ResultView, ScopeInfo } from '../core/query-event.js';
import type { SqlInfo } from '../core/sql-info.js';
import type { QuerySink } from '../core/query-pipeline.js';
import { otelContextRegistered } from '../core/otel-globals.js';
import type { DebugOnce } from './debug-once.js';
import type { Api } from './otel-api.js';
import { TracerSource } from './otel-api.js';
import { QueryTextMemo, truncateText } from './query-text.js';
import {
  ATTR_CODE_COLUMN_NUMBER,
  ATTR_CODE_FILE_PATH,
  ATTR_CODE_FUNCTION_NAME,
  ATTR_CODE_LINE_NUMBER,
  ATTR_DB_NAMESPACE,
  ATTR_DB_QUERY_PARAMETER_PREFIX,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_RESPONSE_RETURNED_ROWS,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_EXCEPTION_MESSAGE,
  ATTR_EXCEPTION_TYPE,
  ATTR_QUERYLENS_FINDING_COUNT,
  ATTR_QUERYLENS_FINDING_DISTINCT_PARAMS,
  ATTR_QUERYLENS_FINDING_KIND,
  ATTR_QUERYLENS_FINDING_MESSAGE,
  ATTR_QUERYLENS_FINDING_SUGGESTION,
  ATTR_QUERYLENS_FINDING_TOTAL_MS,
  ATTR_QUERYLENS_FINGERPRINT,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_NAME_POSTGRESQL,
  EVENT_QUERYLENS_FINDING,
  errorType,
  sanitizedErrorDescription,
} from './semconv.js';

/** Spans open at once; beyond this (queries that never end) new statements get no span. */
export const MAX_OPEN_SPANS = 10_000;
/** Call sites decoded for `code.*` per second, at most (see `#mayDecode`). */
export const MAX_CALLSITE_DECODES_PER_SECOND = 100;
/** A captured parameter value is cut to this many characters. */
const MAX_PARAMETER_LENGTH = 256;

/** `db.query.summary`, else `{command} {first table}`, else `postgresql`. */
export function spanName(event: QueryStartEvent): string {
  const sql = event.sql;
  if (sql.summary !== '') return sql.summary;
  if (sql.command !== '') return sql.tables.length > 0 ? `${sql.command} ${sql.tables[0]}` : sql.command;
  return DB_SYSTEM_NAME_POSTGRESQL;
}

/** Rows the statement returned (not rows it affected): summed over a multi-statement text. */
export function returnedRows(event: QueryEndEvent): number | undefined {
  const result = event.result;
  if (result === undefined) return event.streamed ? event.rowCount : undefined;
  if (Array.isArray(result)) {
    let n = 0;
    for (const r of result as readonly ResultView[]) n += r.rows.length;
    return n;
  }
  return (result as ResultView).rows.length;
}

/** A parameter value as an attribute string (only for indexes the user allowed). */
function parameterString(value: unknown): string {
  let s: string;
  if (value === null || value === undefined) s = 'null';
  else if (typeof value === 'string') s = value;
  else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') s = String(value);
  else if (value instanceof Date) s = Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  else if (value instanceof Uint8Array) s = `<${value.byteLength} bytes>`;
  else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = Object.prototype.toString.call(value);
    }
  }
  return truncateText(s, MAX_PARAMETER_LENGTH);
}

export class OtelSpanSink implements QuerySink {
  readonly name = 'otel-spans';
  readonly accepts = ['query-start', 'query-end', 'scope-start'] as const;
  readonly #api: Api;
  readonly #tracers: TracerSource;
  readonly #options: ResolvedTracingOptions;
  readonly #debug: DebugOnce;
  readonly #text: QueryTextMemo;
  readonly #open = new Map<number, OtelApi.Span>();
  /** The span active when each unit of work started (weak: scopes come and go). */
  readonly #scopeSpans = new WeakMap<ScopeInfo, OtelApi.Span>();
  #decodeWindowStart = -Infinity;
  #decodes = 0;
  /** Start attributes per statement text (SqlInfo is memoised per text) and the target they were built for. */
  readonly #attributes = new WeakMap<SqlInfo, { readonly target: ConnectionTarget; readonly attributes: OtelApi.Attributes }>();

  constructor(api: Api, options: ResolvedTracingOptions, debug: DebugOnce) {
    this.#api = api;
    this.#options = options;
    this.#debug = debug;
    this.#tracers = new TracerSource(api, options.tracerProvider);
    this.#text = new QueryTextMemo(options.maxQueryTextLength);
  }

  handle(event: LensEvent): void {
    try {
      if (event.type === 'query-start') this.#start(event);
      else if (event.type === 'query-end') this.#end(event);
      else if (event.type === 'scope-start') this.#scopeStart(event.scope);
    } catch (err) {
      this.#debug.fail('tracing', err, 'recording a span failed (tracer, span processor or exporter)');
    }
  }

  /** The open span of a query (between its start and end events), for the slow-query log's ids. */
  spanContextOf(queryId: number): OtelApi.SpanContext | undefined {
    return this.#open.get(queryId)?.spanContext();
  }

  /** Spans still open (tests, diagnostics). */
  get openSpans(): number {
    return this.#open.size;
  }

  #scopeStart(scope: ScopeInfo): void {
    // No context manager registered: no span can be active (core/otel-globals.ts).
    if (!otelContextRegistered()) return;
    const span = this.#api.trace.getSpan(this.#api.context.active());
    if (span !== undefined && this.#api.trace.isSpanContextValid(span.spanContext())) this.#scopeSpans.set(scope, span);
  }

  /** The span recorded for this scope or the nearest enclosing one. */
  #scopeSpan(scope: ScopeInfo | undefined): OtelApi.Span | undefined {
    for (let s = scope; s !== undefined; s = s.parent) {
      const span = this.#scopeSpans.get(s);
      if (span !== undefined) return span;
    }
    return undefined;
  }

  /**
   * The context of the application's call, captured by the pg layer before pg-pool could run the
   * query from another request's callback; the active context only if nothing was captured.
   */
  #parentContext(event: QueryStartEvent): OtelApi.Context {
    return (event.callContext as OtelApi.Context | undefined) ?? this.#api.context.active();
  }

  /**
   * The start attributes of a statement, reused per (text, target): the SDK copies them, and a
   * service sends the same few hundred texts through the same pools over and over.
   */
  #startAttributes(event: QueryStartEvent): OtelApi.Attributes {
    const sql = event.sql;
    const target = event.target;
    const cached = this.#attributes.get(sql);
    if (cached !== undefined && cached.target === target) return cached.attributes;
    const attributes: OtelApi.Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_POSTGRESQL };
    if (target.database !== undefined) attributes[ATTR_DB_NAMESPACE] = target.database;
    if (target.host !== undefined) attributes[ATTR_SERVER_ADDRESS] = target.host;
    if (target.port !== undefined) attributes[ATTR_SERVER_PORT] = target.port;
    if (sql.summary !== '') attributes[ATTR_DB_QUERY_SUMMARY] = sql.summary;
    const text = this.#text.get(event.text, sql);
    if (text !== undefined) attributes[ATTR_DB_QUERY_TEXT] = text;
    attributes[ATTR_QUERYLENS_FINGERPRINT] = sql.fingerprint;
    // A target learns its address from its first client: cache only once it is complete.
    if (text !== undefined && target.database !== undefined && target.host !== undefined) this.#attributes.set(sql, { target, attributes: Object.freeze(attributes) });
    return attributes;
  }

  #start(event: QueryStartEvent): void {
    const tracer = this.#tracers.get();
    if (tracer === undefined) return;
    if (this.#open.size >= MAX_OPEN_SPANS) {
      this.#debug.fail('open-spans', new Error(`${MAX_OPEN_SPANS} spans open`), 'too many statements without an end; new statements get no span');
      return;
    }
    const api = this.#api;
    const parent = this.#parentContext(event);
    if (this.#options.requireParentSpan && api.trace.getSpan(parent) === undefined) return;

    let attributes = this.#startAttributes(event);
    const capture = this.#options.captureParameters;
    const values = event.values;
    if (capture.length > 0 && values !== undefined) {
      attributes = { ...attributes };
      for (const i of capture) if (i < values.length) attributes[ATTR_DB_QUERY_PARAMETER_PREFIX + i] = parameterString(values[i]);
    }

    const span = tracer.startSpan(spanName(event), { kind: api.SpanKind.CLIENT, attributes, startTime: event.startTimeUnixMs }, parent);
    if (!span.isRecording()) return;
    const hook = this.#options.requestHook;
    if (hook !== undefined) this.#runHook('request-hook', () => hook(span, event));
    this.#open.set(event.id, span);
  }

  #end(event: QueryEndEvent): void {
    const span = this.#open.get(event.id);
    if (span === undefined) return;
    this.#open.delete(event.id);
    try {
      if (event.error !== undefined) {
        const sqlstate = event.sqlstate;
        const type = errorType(event.error, sqlstate);
        const description = sanitizedErrorDescription(event.error, sqlstate);
        if (sqlstate !== undefined) span.setAttribute(ATTR_DB_RESPONSE_STATUS_CODE, sqlstate);
        span.setAttribute(ATTR_ERROR_TYPE, type);
        span.addEvent('exception', { [ATTR_EXCEPTION_TYPE]: type, [ATTR_EXCEPTION_MESSAGE]: description });
        span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: description });
      } else {
        const rows = returnedRows(event);
        if (rows !== undefined) span.setAttribute(ATTR_DB_RESPONSE_RETURNED_ROWS, rows);
      }
      const callsite = event.callsite !== undefined && this.#mayDecode(event.startTime) ? event.callsite.resolve() : undefined;
      if (callsite !== undefined) {
        span.setAttribute(ATTR_CODE_FILE_PATH, callsite.file);
        span.setAttribute(ATTR_CODE_LINE_NUMBER, callsite.line);
        span.setAttribute(ATTR_CODE_COLUMN_NUMBER, callsite.column);
        if (callsite.function !== undefined) span.setAttribute(ATTR_CODE_FUNCTION_NAME, callsite.function);
      }
      const hook = this.#options.responseHook;
      if (hook !== undefined) this.#runHook('response-hook', () => hook(span, event));
    } finally {
      span.end(event.startTimeUnixMs + event.durationMs);
    }
  }

  /**
   * Decoding a captured call site costs ~10–20 µs (stack frames, source maps, paths): spans get
   * `code.*` for at most MAX_CALLSITE_DECODES_PER_SECOND statements a second. `now` is the
   * statement's own start time, so the budget reads no clock.
   */
  #mayDecode(now: number): boolean {
    if (now - this.#decodeWindowStart >= 1000) {
      this.#decodeWindowStart = now;
      this.#decodes = 0;
    }
    return this.#decodes++ < MAX_CALLSITE_DECODES_PER_SECOND;
  }

  /** Hooks are the application's code: whatever they throw (or reject with) stays here. */
  #runHook(kind: 'request-hook' | 'response-hook', call: () => unknown): void {
    try {
      const returned = call();
      if (returned !== null && typeof returned === 'object' && typeof (returned as PromiseLike<unknown>).then === 'function') {
        (returned as PromiseLike<unknown>).then(undefined, (err: unknown) => this.#debug.fail(kind, err, `the tracing ${kind === 'request-hook' ? 'requestHook' : 'responseHook'} rejected`));
      }
    } catch (err) {
      this.#debug.fail(kind, err, `the tracing ${kind === 'request-hook' ? 'requestHook' : 'responseHook'} threw`);
    }
  }

  /**
   * A finding as an event on its scope's span; when that span has ended (the response was sent
   * before the scope's findings were), on a `querylens findings` child span of it.
   */
  addFinding(finding: Finding, scope: ScopeInfo | undefined): void {
    try {
      const scopeSpan = this.#scopeSpan(scope);
      if (scopeSpan === undefined) return;
      const attributes: OtelApi.Attributes = {
        [ATTR_QUERYLENS_FINDING_KIND]: finding.kind,
        [ATTR_QUERYLENS_FINDING_MESSAGE]: finding.message,
        [ATTR_QUERYLENS_FINDING_SUGGESTION]: finding.suggestion,
        [ATTR_QUERYLENS_FINGERPRINT]: finding.fingerprint,
        [ATTR_DB_QUERY_SUMMARY]: finding.summary,
        [ATTR_QUERYLENS_FINDING_COUNT]: finding.count,
        [ATTR_QUERYLENS_FINDING_DISTINCT_PARAMS]: finding.distinctParams,
        [ATTR_QUERYLENS_FINDING_TOTAL_MS]: finding.totalMs,
      };
      const cs = finding.callsite;
      if (cs !== undefined) {
        attributes[ATTR_CODE_FILE_PATH] = cs.file;
        attributes[ATTR_CODE_LINE_NUMBER] = cs.line;
        attributes[ATTR_CODE_COLUMN_NUMBER] = cs.column;
        if (cs.function !== undefined) attributes[ATTR_CODE_FUNCTION_NAME] = cs.function;
      }
      if (scopeSpan.isRecording()) {
        scopeSpan.addEvent(EVENT_QUERYLENS_FINDING, attributes);
        return;
      }
      const tracer = this.#tracers.get();
      if (tracer === undefined || !this.#api.trace.isSpanContextValid(scopeSpan.spanContext())) return;
      const parent = this.#api.trace.setSpan(this.#api.context.active(), scopeSpan);
      const carrier = tracer.startSpan('querylens findings', { kind: this.#api.SpanKind.INTERNAL }, parent);
      carrier.addEvent(EVENT_QUERYLENS_FINDING, attributes);
      carrier.end();
    } catch (err) {
      this.#debug.fail('tracing', err, 'recording a finding on a span failed');
    }
  }
}
