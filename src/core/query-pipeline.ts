/**
 * The pipeline is the only thing the pg layer talks to: it hands each event to the sinks that
 * asked for that event type (stats, the scope's detectors, slow-query log, spans/metrics, cache
 * invalidation), and findings to the finding listeners. Sinks are observers: a sink that throws
 * (or returns a promise that rejects) is isolated, counted and warned about once, and the
 * application never sees it. Routing tables are rebuilt when sinks change, never per event, and
 * `wantsQueryStart` lets the pg layer skip building start events nobody reads.
 */
import type { Finding } from './finding.js';
import type { LensEvent, LensEventType, ScopeInfo } from './query-event.js';

/** An observer of the query/scope event stream. Implemented by detect/, report/ and cache/. */
export interface QuerySink {
  /** Stable name, used in failure counts and warnings. */
  readonly name: string;
  /** The event types this sink handles; it receives no others. */
  readonly accepts: readonly LensEventType[];
  /**
   * Called synchronously, in order, for every accepted event. Must not throw (it is isolated if it
   * does), must not block, and must not mutate the event or its result rows. Findings go to
   * `reporter` (typically at `scope-end`, with the event's scope).
   */
  handle(event: LensEvent, reporter: FindingReporter): void;
  /** Flush and release resources at `lens.close()`. */
  close?(): void | Promise<void>;
}

/** How sinks report what they found; the lens routes findings to listeners and to their scope. */
export interface FindingReporter {
  report(finding: Finding, scope: ScopeInfo | undefined): void;
}

/** What the pg layer and the context layer call. */
export interface QueryPipeline extends FindingReporter {
  /** Some sink accepts `query-start`: build and emit start events; otherwise skip them. */
  readonly wantsQueryStart: boolean;
  /** Some sink accepts `pool-timeout`: watch pool checkouts for timeouts; otherwise leave them alone. */
  readonly wantsPoolTimeout: boolean;
  emit(event: LensEvent): void;
  nextQueryId(): number;
}

export type FindingListener = (finding: Finding, scope: ScopeInfo | undefined) => void;

/** Per-sink failure counts, for diagnostics and tests. */
export type SinkFailures = ReadonlyMap<string, number>;

const EVENT_TYPES: readonly LensEventType[] = ['query-start', 'query-end', 'scope-start', 'scope-end', 'pool-timeout'];

type Routes = Readonly<Record<LensEventType, readonly QuerySink[]>>;

function buildRoutes(sinks: readonly QuerySink[]): Routes {
  const routes: Record<LensEventType, QuerySink[]> = { 'query-start': [], 'query-end': [], 'scope-start': [], 'scope-end': [], 'pool-timeout': [] };
  for (const sink of sinks) {
    for (const type of EVENT_TYPES) if (sink.accepts.includes(type)) routes[type].push(sink);
  }
  return routes;
}

export class SinkPipeline implements QueryPipeline {
  #sinks: readonly QuerySink[] = [];
  #routes: Routes = buildRoutes([]);
  #findingListeners: readonly FindingListener[] = [];
  readonly #failures = new Map<string, number>();
  #nextId = 0;
  wantsQueryStart = false;
  wantsPoolTimeout = false;

  constructor(sinks: readonly QuerySink[] = []) {
    for (const sink of sinks) this.addSink(sink);
  }

  /** Adds a sink; returns a function that removes it. */
  addSink(sink: QuerySink): () => void {
    this.#sinks = [...this.#sinks, sink];
    this.#reroute();
    return () => {
      this.#sinks = this.#sinks.filter((s) => s !== sink);
      this.#reroute();
    };
  }

  #reroute(): void {
    this.#routes = buildRoutes(this.#sinks);
    this.wantsQueryStart = this.#routes['query-start'].length > 0;
    this.wantsPoolTimeout = this.#routes['pool-timeout'].length > 0;
  }

  nextQueryId(): number {
    return ++this.#nextId;
  }

  emit(event: LensEvent): void {
    const sinks = this.#routes[event.type];
    for (let i = 0; i < sinks.length; i++) {
      const sink = sinks[i]!;
      try {
        const returned: unknown = sink.handle(event, this);
        if (returned !== undefined) this.#guardAsync(sink.name, returned);
      } catch (err) {
        this.#fail(sink.name, err);
      }
    }
  }

  /** Registers a finding listener (same isolation as sinks); returns its unsubscribe function. */
  onFinding(listener: FindingListener): () => void {
    this.#findingListeners = [...this.#findingListeners, listener];
    return () => {
      this.#findingListeners = this.#findingListeners.filter((l) => l !== listener);
    };
  }

  report(finding: Finding, scope: ScopeInfo | undefined): void {
    const listeners = this.#findingListeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        const returned: unknown = listeners[i]!(finding, scope);
        if (returned !== undefined) this.#guardAsync('finding listener', returned);
      } catch (err) {
        this.#fail('finding listener', err);
      }
    }
  }

  get failures(): SinkFailures {
    return this.#failures;
  }

  /** Closes every sink; a sink that fails to close is counted, never thrown. */
  async close(): Promise<void> {
    const sinks = this.#sinks;
    await Promise.all(
      sinks.map(async (sink) => {
        try {
          await sink.close?.();
        } catch (err) {
          this.#fail(sink.name, err);
        }
      }),
    );
  }

  /** A sink returned a promise: its rejection must not become an unhandled rejection in the app. */
  #guardAsync(name: string, returned: unknown): void {
    if (typeof (returned as PromiseLike<unknown> | null)?.then === 'function') {
      (returned as PromiseLike<unknown>).then(undefined, (err: unknown) => this.#fail(name, err));
    }
  }

  #fail(name: string, err: unknown): void {
    const count = (this.#failures.get(name) ?? 0) + 1;
    this.#failures.set(name, count);
    if (count === 1) {
      // Once per sink: a broken observer must be visible, but must not flood the app's logs.
      const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      process.emitWarning(`querylens sink "${name}" failed and was isolated (${detail}); further failures are only counted`, {
        code: 'QUERYLENS_SINK_FAILED',
      });
    }
  }
}
