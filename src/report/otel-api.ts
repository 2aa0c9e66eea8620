/**
 * `@opentelemetry/api` is an optional peer: loaded once, lazily, through `createRequire` (so the
 * package works without it), and only its types are imported statically. Every copy of the API in
 * a process shares one global registry, so the copy loaded here sees the tracer, meter and context
 * manager the application registered through its own import.
 *
 * The providers are looked up when used, never captured at construction: an SDK registered after
 * `createLens` still receives spans and metrics. With no SDK registered the lookups say so
 * (`undefined`), and the sinks skip all work for the query.
 */
import type * as OtelApi from '@opentelemetry/api';
import type { MeterProviderLike, TracerProviderLike } from '../core/lens-options.js';
import { otelMetricsRegistered, otelTracingRegistered } from '../core/otel-globals.js';
import { loadOtelApi } from '../context/trace-scopes.js';
import { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION } from './semconv.js';

export type Api = typeof OtelApi;

let loaded: Api | null | undefined;

/** The API module, or undefined when it is not installed (memoised; the one require trace scopes use). */
export function loadApi(): Api | undefined {
  if (loaded === undefined) {
    const api = loadOtelApi() as Partial<Api> | undefined;
    loaded = typeof api?.trace?.getTracerProvider === 'function' && typeof api.metrics?.getMeterProvider === 'function' ? (api as Api) : null;
  }
  return loaded ?? undefined;
}

/**
 * The tracer to use for a query, or undefined when no SDK would record it. With an explicit
 * provider, its tracer (obtained once). With the global one, the registered provider is checked on
 * each call (one global lookup) and its tracer cached per provider object; the API's proxy provider
 * without a delegate means no SDK.
 */
export class TracerSource {
  readonly #api: Api;
  readonly #explicit: OtelApi.Tracer | undefined;
  #provider: OtelApi.TracerProvider | undefined;
  #tracer: OtelApi.Tracer | undefined;
  readonly #noopDelegate: OtelApi.TracerProvider;

  constructor(api: Api, provider: TracerProviderLike | undefined) {
    this.#api = api;
    this.#explicit = provider === undefined ? undefined : (provider.getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION) as OtelApi.Tracer);
    // The API's no-op delegate: a fresh proxy provider answers it until an SDK is set.
    this.#noopDelegate = new api.ProxyTracerProvider().getDelegate();
  }

  get(): OtelApi.Tracer | undefined {
    if (this.#explicit !== undefined) return this.#explicit;
    // Nothing registered: the API would hand out its no-op proxy (see core/otel-globals.ts).
    if (!otelTracingRegistered()) return undefined;
    const provider = this.#api.trace.getTracerProvider();
    if (provider === this.#provider) return this.#tracer;
    const proxy = provider as Partial<OtelApi.ProxyTracerProvider>;
    if (typeof proxy.getDelegate === 'function' && proxy.getDelegate() === this.#noopDelegate) {
      // No SDK yet: do not cache, the same proxy gets a delegate when one is registered.
      return undefined;
    }
    this.#provider = provider;
    this.#tracer = provider.getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
    return this.#tracer;
  }
}

/**
 * The meter to create instruments on, or undefined while only the API's no-op provider is there.
 * `generation` changes whenever the provider does, telling the caller to (re)create its instruments
 * (the global provider was set or replaced).
 */
/** Stands for "no global meter provider registered" (a provider object never equals it). */
const NO_PROVIDER: unique symbol = Symbol('no meter provider');

export class MeterSource {
  readonly #api: Api;
  readonly #explicit: MeterProviderLike | undefined;
  #provider: unknown;
  #meter: OtelApi.Meter | undefined;
  #generation = 0;

  constructor(api: Api, provider: MeterProviderLike | undefined) {
    this.#api = api;
    this.#explicit = provider;
  }

  /** Increments each time `get()` sees a different provider. */
  get generation(): number {
    return this.#generation;
  }

  /** The current meter (one global lookup when no explicit provider was given). */
  get(): OtelApi.Meter | undefined {
    // Nothing registered: no meter, without asking the API (see core/otel-globals.ts).
    const provider = this.#explicit ?? (otelMetricsRegistered() ? this.#api.metrics.getMeterProvider() : NO_PROVIDER);
    if (provider === this.#provider) return this.#meter;
    this.#provider = provider;
    this.#generation++;
    if (provider === NO_PROVIDER) {
      this.#meter = undefined;
      return undefined;
    }
    const meter = provider.getMeter(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION) as OtelApi.Meter;
    this.#meter = meter === this.#api.createNoopMeter() ? undefined : meter;
    return this.#meter;
  }
}
