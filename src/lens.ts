/**
 * The composition root. `createLens(options)` validates and freezes the options once, then wires
 * the pieces that never meet otherwise: the pg instrumentation emits into the pipeline; the
 * pipeline feeds the sinks (statistics here; detectors, loggers, telemetry and the cache add
 * theirs); scopes come from the async context; findings flow back to listeners and to their scope.
 * Every per-query decision (call-site policy, trace scopes, sinks present) is made here, at
 * construction, and handed to the pg layer as ready-made functions.
 */
import { NPlusOneError } from './core/errors.js';
import type { Finding } from './core/finding.js';
import type { LensMode, LensOptions, ResolvedLensOptions } from './core/lens-options.js';
import { resolveLensOptions } from './core/lens-options.js';
import type { OperationInfo, ScopeInfo } from './core/query-event.js';
import type { FindingListener, QuerySink, SinkFailures } from './core/query-pipeline.js';
import { SinkPipeline } from './core/query-pipeline.js';
import type { CallsiteCapturer } from './context/callsite-capture.js';
import { createCallsiteCapturer } from './context/callsite-capture.js';
import { currentFrame, deriveFrame, runInFrame } from './context/context-frame.js';
import { runOperation } from './context/operation.js';
import type { RequestMiddleware } from './context/request-scope.js';
import { createRequestMiddleware } from './context/request-scope.js';
import { Scope } from './context/scope.js';
import { TraceScopes, loadOtelApi, otelContextCapture } from './context/trace-scopes.js';
import type { InstrumentOptions } from './pg/instrument.js';
import { connectionTargetOf, instrumentPg, uninstrumentPg } from './pg/instrument.js';
import { createPgModule } from './pg/pg-module.js';
import type { Recorder } from './pg/recorder.js';
import { QueryDetector, detectConfig } from './detect/query-detector.js';
import { createFindingLog } from './report/finding-log.js';
import type { LoggerLike } from './report/logger.js';
import { createLensLogger } from './report/logger.js';
import type { FingerprintStats } from './report/stats-sink.js';
import { StatsSink } from './report/stats-sink.js';
import type { Telemetry } from './report/telemetry.js';
import { createTelemetry } from './report/telemetry.js';
import { createExactFingerprinter } from './sql/exact-fingerprint.js';
import type { PkCacheOptions } from './cache/cache-options.js';
import { resolvePkCacheOptions } from './cache/cache-options.js';
import { PkCache } from './cache/pk-cache.js';
import { CacheWriteTracker } from './cache/write-tracker.js';
import { createAnalyzer } from './sql/index.js';

export type LensEventName = 'finding';
const LENS_EVENTS: readonly LensEventName[] = ['finding'];

/** Finding kinds that fail a test-mode scope. Slow queries do not: timing makes tests flaky. */
const BLOCKING_IN_TEST: ReadonlySet<Finding['kind']> = new Set(['n-plus-one', 'duplicate', 'batchable-writes', 'query-budget', 'large-result']);

class LensRecorder implements Recorder {
  readonly pipeline: SinkPipeline;
  readonly analyze: Recorder['analyze'];
  readonly captureCallsite: CallsiteCapturer;
  readonly traceScope: Recorder['traceScope'];
  readonly captureContext: Recorder['captureContext'];
  closed = false;
  #internalErrors = 0;

  constructor(
    pipeline: SinkPipeline,
    analyze: Recorder['analyze'],
    captureCallsite: CallsiteCapturer,
    traceScope: Recorder['traceScope'],
    captureContext: Recorder['captureContext'],
  ) {
    this.pipeline = pipeline;
    this.analyze = analyze;
    this.captureCallsite = captureCallsite;
    this.traceScope = traceScope;
    this.captureContext = captureContext;
  }

  internalError(error: unknown): void {
    if (++this.#internalErrors === 1) {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.emitWarning(`querylens caught an internal error while observing a query; the query itself was unaffected (${detail})`, {
        code: 'QUERYLENS_INTERNAL_ERROR',
      });
    }
  }
}

export class Lens {
  readonly #options: ResolvedLensOptions;
  readonly #pipeline = new SinkPipeline();
  readonly #recorder: LensRecorder;
  readonly #capture: CallsiteCapturer;
  readonly #stats: StatsSink | undefined;
  readonly #traceScopes: TraceScopes | undefined;
  readonly #pgModules = new WeakMap<object, object>();
  #closing: Promise<void> | undefined;
  /** Follows writes and transactions for the primary-key caches; added with the first `cache()`. */
  #cacheWrites: CacheWriteTracker | undefined;
  readonly #telemetry: Telemetry;
  /**
   * The logger every querylens sink writes to (finding warnings, slow-query records), created once
   * from the `logger` option: the user's logger, a pino logger configured for the mode, or
   * undefined with `logger: false`.
   */
  readonly logger: LoggerLike | undefined;

  /** Use `createLens(options)`. */
  constructor(options: ResolvedLensOptions) {
    this.#options = options;
    this.logger = createLensLogger(options.mode, options.logger);
    if (options.stats !== false) {
      this.#stats = new StatsSink(options.stats);
      this.#pipeline.addSink(this.#stats);
    }
    // Findings land in their scope first (test mode reads them at scope end), then go to listeners.
    this.#pipeline.onFinding((finding, scope) => {
      if (scope instanceof Scope) scope.addFinding(finding);
    });
    // Detectors (n-plus-one, duplicates, write loops, budget, large results): no sink when all are off.
    const detect = detectConfig(options);
    if (detect !== undefined) this.#pipeline.addSink(new QueryDetector(detect, this.#pipeline));
    // Development: readable warnings; production: structured warn records; test: nothing (scopes throw).
    const findingLog = createFindingLog(options.mode, this.logger);
    if (findingLog !== undefined) this.#pipeline.onFinding(findingLog);
    // Telemetry: slow-query log (+ EXPLAIN on the registered pools), OpenTelemetry spans and
    // metrics (in that order); findings become span events and the querylens.findings counter.
    this.#telemetry = createTelemetry(options, this.logger);
    for (const sink of this.#telemetry.sinks) this.#pipeline.addSink(sink);
    if (this.#telemetry.onFinding !== undefined) this.#pipeline.onFinding(this.#telemetry.onFinding);
    this.#capture = createCallsiteCapturer(options.callsites, {
      root: options.root,
      depth: options.callsiteDepth,
      sampleRate: options.callsiteSampleRate,
    });
    const api = options.traceScopes ? loadOtelApi() : undefined;
    if (api !== undefined) {
      this.#traceScopes = new TraceScopes(api, options.traceScopeIdleMs, {
        onStart: (scope) => this.#pipeline.emit({ type: 'scope-start', scope }),
        onEnd: (scope, endTime) => this.#pipeline.emit({ type: 'scope-end', scope, endTime, failed: false }),
      });
    }
    const traceScopes = this.#traceScopes;
    this.#recorder = new LensRecorder(
      this.#pipeline,
      createAnalyzer({
        memoMax: options.sqlMemo,
        ignoreSchema: options.fingerprint === 'pg18',
        // throws a QuerylensError naming the package when libpg-query is not installed
        ...(options.fingerprint === 'pg_query' ? { exact: createExactFingerprinter() } : {}),
      }),
      this.#capture,
      traceScopes === undefined ? undefined : (now) => traceScopes.current(now),
      // spans are parented on the context of the call, captured before pg-pool can switch it
      otelContextCapture(options.tracing !== false),
    );
  }

  /** The resolved, frozen options. */
  get options(): ResolvedLensOptions {
    return this.#options;
  }

  get mode(): LensMode {
    return this.#options.mode;
  }

  /**
   * Patches this pg Pool or Client in place and returns the same object. Idempotent. Throws a
   * TypeError for anything that is not a pg Pool/Client.
   * @example const pool = lens.instrument(new pg.Pool({ connectionString }), { name: 'main' });
   */
  instrument<T>(target: T, options?: InstrumentOptions): T {
    const instrumented = instrumentPg(target, this.#recorder, options);
    this.#telemetry.registerPool(instrumented, connectionTargetOf(instrumented));
    return instrumented;
  }

  /** Removes the instrumentation from a pool/client (idempotent); returns it. */
  uninstrument<T>(target: T): T {
    this.#telemetry.unregisterPool(target);
    return uninstrumentPg(target);
  }

  /**
   * A pg-like module whose Pool and Client instrument themselves, for ORMs that build their own
   * (TypeORM `driver`, Sequelize `dialectModule`). Same module object for the same `pg`.
   * @example new DataSource({ type: 'postgres', driver: lens.pgModule(pg), … })
   */
  pgModule<M>(pg: M): M {
    if (pg !== null && (typeof pg === 'object' || typeof pg === 'function')) {
      const known = this.#pgModules.get(pg);
      if (known !== undefined) return known as M;
    }
    const mod = createPgModule(
      pg,
      (instance) => this.instrument(instance),
      (nested) => this.pgModule(nested),
    );
    this.#pgModules.set(pg as object, mod as object);
    return mod;
  }

  /**
   * Runs `fn` as one unit of work (nested inside the current one, if any). Its findings are
   * reported when it ends; in test mode, the returned promise rejects with `NPlusOneError` if there
   * were any (unless `fn` itself failed: its error wins). HTTP adapters pass `{ kind: 'request' }`:
   * a request's findings are reported but never fail it, and a lazy name (the route pattern, known
   * only once the router matched) is settled at the end, `fallbackName` standing in until then.
   * @example await lens.scope('import posts', () => importPosts(pool));
   */
  async scope<R>(name: string | (() => string | undefined), fn: () => R | PromiseLike<R>, options?: ScopeOptions): Promise<R> {
    if (typeof name !== 'string' && typeof name !== 'function') {
      throw new TypeError(`querylens: scope() expects a name (a string, or a function returning one) first; got ${typeof name}`);
    }
    if (typeof fn !== 'function') throw new TypeError(`querylens: scope() expects a function second; got ${typeof fn}`);
    const { kind, fallbackName } = scopeOptions(options);
    const parent = currentFrame();
    const scope = new Scope(kind, name, parent?.scope, performance.now(), fallbackName === undefined ? {} : { fallbackName });
    this.#pipeline.emit({ type: 'scope-start', scope });
    let result: R;
    try {
      result = await runInFrame(deriveFrame(parent, { scope }), fn);
    } catch (err) {
      this.#endScope(scope, true);
      throw err;
    }
    this.#endScope(scope, false);
    if (this.#options.mode === 'test' && kind === 'scope') {
      const blocking = scope.findings.filter((f) => BLOCKING_IN_TEST.has(f.kind));
      if (blocking.length > 0) throw new NPlusOneError(scope.name, blocking);
    }
    return result;
  }

  #endScope(scope: Scope, failed: boolean): void {
    if (scope.end()) this.#pipeline.emit({ type: 'scope-end', scope, endTime: performance.now(), failed });
  }

  /**
   * Express/Connect middleware: one unit of work per request, named `GET /posts/:id` once the
   * router has matched. Findings are reported when the response finishes; they never fail the request.
   * @example app.use(lens.middleware());
   */
  middleware(): RequestMiddleware {
    return createRequestMiddleware({
      onStart: (scope) => this.#pipeline.emit({ type: 'scope-start', scope }),
      onEnd: (scope, endTime, failed) => this.#pipeline.emit({ type: 'scope-end', scope, endTime, failed }),
    });
  }

  /**
   * For adapters: runs `fn` inside an operation frame (ORM, model, operation, relation), capturing
   * the application's call site here, where it is still on the stack.
   */
  withOperation<R>(operation: OperationInfo, fn: () => R): R {
    if (operation === null || typeof operation !== 'object') throw new TypeError('querylens: withOperation() expects an operation object first');
    if (typeof fn !== 'function') throw new TypeError('querylens: withOperation() expects a function second');
    return runOperation(operation, fn, this.#capture);
  }

  /**
   * For adapters of lazy query builders (Knex, Objection: awaited later, when the application's
   * frame is gone): captures the application's call site now, where the builder is created, and
   * returns a function that runs `fn` in an operation frame with that call site — in the async
   * context current when it is called, so the scope is the one the builder is awaited in.
   */
  deferOperation(): <R>(operation: OperationInfo, fn: () => R) => R {
    const deferred = { callsite: this.#capture(true, this.deferOperation) };
    const capture = this.#capture;
    return (operation, fn) => runOperation(operation, fn, capture, deferred);
  }

  /**
   * Runs `fn` with analysis suspended: its queries still reach statistics and telemetry, but no
   * detector counts them and no call site is captured (test seeding, known batch jobs).
   * @example await lens.ignore(() => seed(pool));
   */
  ignore<R>(fn: () => R): R {
    if (typeof fn !== 'function') throw new TypeError('querylens: ignore() expects a function');
    return runInFrame(deriveFrame(currentFrame(), { ignored: true }), fn);
  }

  /**
   * Subscribes to every Finding, whatever the mode; returns the unsubscribe function. A listener
   * that throws is isolated and counted.
   * @example const off = lens.on('finding', (f) => console.warn(f.message));
   */
  on(event: LensEventName, listener: (finding: Finding, scope: ScopeInfo | undefined) => void): () => void {
    if (!LENS_EVENTS.includes(event)) {
      throw new TypeError(`querylens: unknown event ${JSON.stringify(event)}; valid events: ${LENS_EVENTS.join(', ')}`);
    }
    if (typeof listener !== 'function') throw new TypeError('querylens: on() expects a listener function');
    return this.#pipeline.onFinding(listener as FindingListener);
  }

  /**
   * Adds an observer of the raw event stream (query start/end, scope start/end); returns its
   * removal function. Detectors, reporters and test helpers plug in here.
   */
  addSink(sink: QuerySink): () => void {
    if (sink === null || typeof sink !== 'object' || typeof sink.handle !== 'function' || !Array.isArray(sink.accepts)) {
      throw new TypeError('querylens: addSink() expects { name, accepts: [...event types], handle(event) }');
    }
    return this.#pipeline.addSink(sink);
  }

  /**
   * A primary-key cache bound to this lens: it caches the primary keys an expensive query returns
   * and reads the rows fresh by primary key; writes through any client this lens instruments
   * invalidate it after they commit. Options are validated here (InvalidOptionError).
   * @example
   * const cache = lens.cache({ store: { redis }, ttlMs: 30_000 });
   * const rows = await cache.query(pool, { table: 'posts', text: 'SELECT id FROM posts WHERE … ORDER BY … LIMIT 50', values });
   */
  cache(options?: PkCacheOptions): PkCache {
    const resolved = resolvePkCacheOptions(options);
    if (this.#cacheWrites === undefined) {
      this.#cacheWrites = new CacheWriteTracker();
      this.#pipeline.addSink(this.#cacheWrites);
    }
    return new PkCache(resolved, this.#cacheWrites);
  }

  /** Per-fingerprint statistics, highest total time first (empty when `stats: false`). */
  stats(): FingerprintStats[] {
    return this.#stats?.snapshot() ?? [];
  }

  /** Failure counts of sinks and listeners that threw (they are isolated, never rethrown). */
  get sinkFailures(): SinkFailures {
    return this.#pipeline.failures;
  }

  /**
   * Stops observing (instrumented objects pass straight through to pg from now on), ends open
   * trace scopes and closes the sinks. Idempotent; never throws.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#recorder.closed = true;
      this.#traceScopes?.closeAll();
      await this.#pipeline.close();
    })();
    return this.#closing;
  }
}

/** Options of `lens.scope()`. */
export interface ScopeOptions {
  /** 'scope' (default): a unit of work that fails in test mode when it has findings; 'request': an HTTP request, which never fails. */
  readonly kind?: 'scope' | 'request';
  /** The name used while a lazy name has no answer yet (e.g. `GET /posts/42` before the route matched). */
  readonly fallbackName?: string;
}

function scopeOptions(options: ScopeOptions | undefined): { kind: 'scope' | 'request'; fallbackName: string | undefined } {
  if (options === undefined) return { kind: 'scope', fallbackName: undefined };
  if (options === null || typeof options !== 'object') throw new TypeError(`querylens: scope() options must be an object; got ${String(options)}`);
  const kind = options.kind ?? 'scope';
  if (kind !== 'scope' && kind !== 'request') throw new TypeError(`querylens: scope() option kind must be 'scope' or 'request'; got ${JSON.stringify(kind)}`);
  const fallbackName = options.fallbackName;
  if (fallbackName !== undefined && typeof fallbackName !== 'string') {
    throw new TypeError(`querylens: scope() option fallbackName must be a string; got ${typeof fallbackName}`);
  }
  return { kind, fallbackName };
}

/**
 * Creates a lens. Options are validated here (an `InvalidOptionError`, a TypeError, names the bad
 * key and the valid ones) and frozen.
 * @example const lens = createLens({ mode: 'production' });
 */
export function createLens(options?: LensOptions): Lens {
  return new Lens(resolveLensOptions(options));
}
