/**
 * Whether an OpenTelemetry SDK registered its globals, read without calling the API.
 *
 * Every copy of `@opentelemetry/api` 1.x (the peer range) keeps the registered tracer provider,
 * meter provider and context manager on one object, `globalThis[Symbol.for('opentelemetry.js.api.1')]`,
 * under `trace`, `metrics` and `context`; until one is registered, the API answers with no-ops.
 * So one property read tells the per-query paths (span start/end, metric records, the context
 * captured at each call, trace scopes) that there is nothing to do, and an SDK registered after
 * `createLens` is noticed at the next query. Without an SDK, tracing and metrics cost this read.
 */
const OTEL_API_GLOBALS = Symbol.for('opentelemetry.js.api.1');

interface OtelGlobals {
  readonly trace?: unknown;
  readonly metrics?: unknown;
  readonly context?: unknown;
}

function globals(): OtelGlobals | undefined {
  return (globalThis as { [OTEL_API_GLOBALS]?: OtelGlobals })[OTEL_API_GLOBALS];
}

/** A global tracer provider is registered. */
export function otelTracingRegistered(): boolean {
  return globals()?.trace !== undefined;
}

/** A global meter provider is registered. */
export function otelMetricsRegistered(): boolean {
  return globals()?.metrics !== undefined;
}

/** A global context manager is registered (without one there is no active span or context). */
export function otelContextRegistered(): boolean {
  return globals()?.context !== undefined;
}
