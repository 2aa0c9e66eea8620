/**
 * When a query runs outside any lens scope but inside an active OpenTelemetry span, the span's
 * trace is its unit of work: services that already trace their requests get per-request analysis
 * without the middleware. `@opentelemetry/api` is an optional peer, loaded once, lazily, through
 * `createRequire`; without it (or without a registered context manager) this costs one lookup
 * that returns undefined.
 *
 * A trace has no end the API can observe, so its unit of work ends after `idleMs` without
 * queries (one unref'd sweep timer, running only while trace scopes are open), and at most
 * MAX_OPEN_TRACE_SCOPES are open at once (the oldest is ended first).
 */
import { createRequire } from 'node:module';
import { otelContextRegistered } from '../core/otel-globals.js';
import { Scope } from './scope.js';

export const MAX_OPEN_TRACE_SCOPES = 1000;
const INVALID_TRACE_ID = '00000000000000000000000000000000';

/** The slice of `@opentelemetry/api` used here, described structurally. */
interface OtelSpanLike {
  spanContext(): { readonly traceId: string };
  /** SDK spans expose their name; the API does not promise it. */
  readonly name?: unknown;
}
interface OtelApiLike {
  readonly trace: { getActiveSpan(): OtelSpanLike | undefined };
}

let otelApi: OtelApiLike | null | undefined;

/** `@opentelemetry/api` if it can be loaded, else undefined (memoised). */
export function loadOtelApi(): OtelApiLike | undefined {
  if (otelApi === undefined) {
    try {
      const api = createRequire(import.meta.url)('@opentelemetry/api') as Partial<OtelApiLike>;
      otelApi = typeof api.trace?.getActiveSpan === 'function' ? (api as OtelApiLike) : null;
    } catch {
      otelApi = null;
    }
  }
  return otelApi ?? undefined;
}

/**
 * A function returning the OpenTelemetry context active at the moment it is called (for parenting
 * spans on the context of the application's call), or undefined when tracing is off or the API is
 * not installed — then the pg layer captures nothing.
 */
export function otelContextCapture(enabled: boolean): (() => unknown) | undefined {
  if (!enabled) return undefined;
  const contextApi = (loadOtelApi() as { readonly context?: { active?: () => unknown } } | undefined)?.context;
  if (contextApi === undefined || typeof contextApi.active !== 'function') return undefined;
  // Without a registered context manager the active context is always the root one: capture nothing.
  return () => (otelContextRegistered() ? contextApi.active!() : undefined);
}

interface OpenTrace {
  readonly scope: Scope;
  lastSeen: number;
}

export interface TraceScopeHooks {
  readonly onStart: (scope: Scope) => void;
  readonly onEnd: (scope: Scope, endTime: number) => void;
}

export class TraceScopes {
  readonly #api: OtelApiLike;
  readonly #idleMs: number;
  readonly #hooks: TraceScopeHooks;
  readonly #open = new Map<string, OpenTrace>();
  #timer: NodeJS.Timeout | undefined;

  constructor(api: OtelApiLike, idleMs: number, hooks: TraceScopeHooks) {
    this.#api = api;
    this.#idleMs = idleMs;
    this.#hooks = hooks;
  }

  /** The unit of work of the active span's trace, or undefined when no span is active. */
  current(now: number): Scope | undefined {
    // No context manager registered: no span can be active (core/otel-globals.ts).
    if (!otelContextRegistered()) return undefined;
    const span = this.#api.trace.getActiveSpan();
    if (span === undefined) return undefined;
    const traceId = span.spanContext().traceId;
    if (traceId === INVALID_TRACE_ID) return undefined;
    const open = this.#open.get(traceId);
    if (open !== undefined) {
      open.lastSeen = now;
      return open.scope;
    }
    return this.#openTrace(traceId, span, now);
  }

  #openTrace(traceId: string, span: OtelSpanLike, now: number): Scope {
    if (this.#open.size >= MAX_OPEN_TRACE_SCOPES) {
      const oldest = this.#open.keys().next().value;
      if (oldest !== undefined) this.#close(oldest, now);
    }
    const name = typeof span.name === 'string' ? span.name : `trace ${traceId}`;
    const scope = new Scope('trace', name, undefined, now, { id: traceId });
    this.#open.set(traceId, { scope, lastSeen: now });
    this.#hooks.onStart(scope);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(performance.now()), this.#idleMs);
      this.#timer.unref();
    }
    return scope;
  }

  #sweep(now: number): void {
    for (const [traceId, open] of this.#open) {
      if (now - open.lastSeen >= this.#idleMs) this.#close(traceId, now);
    }
  }

  #close(traceId: string, now: number): void {
    const open = this.#open.get(traceId);
    if (open === undefined) return;
    this.#open.delete(traceId);
    if (this.#open.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (open.scope.end()) this.#hooks.onEnd(open.scope, now);
  }

  /** Ends every open trace scope (at `lens.close()`). */
  closeAll(): void {
    const now = performance.now();
    for (const traceId of [...this.#open.keys()]) this.#close(traceId, now);
  }

  get openCount(): number {
    return this.#open.size;
  }
}
