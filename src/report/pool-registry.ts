/**
 * The pg pools a lens instrumented, as objects: the EXPLAIN runner borrows connections from them,
 * and their public `acquire`/`release` events give the connection use time. Events name their pool
 * only as a `ConnectionTarget`, so each pool is matched to its target once, through the connection
 * an event ran on (pg-pool's `acquire` event tells which pool handed that client out); a pool not
 * matched yet is looked up by database, host and port.
 *
 * Weak everywhere (pools and clients are the application's), bounded (MAX_POOLS), and listeners are
 * removed when a pool is unregistered.
 */
import type { ConnectionTarget, LensEvent } from '../core/query-event.js';
import type { QuerySink } from '../core/query-pipeline.js';

/** pg-pool, structurally: what the registry and the EXPLAIN runner use. */
export interface PoolLike {
  connect(): Promise<PoolClientLike>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount?: number;
  readonly options?: { readonly max?: unknown; readonly database?: unknown; readonly host?: unknown; readonly port?: unknown; readonly connectionString?: unknown };
}

export interface PoolClientLike {
  query(config: unknown): Promise<{ readonly rows: readonly unknown[] }>;
  release(error?: Error | boolean): void;
  readonly database?: unknown;
  readonly host?: unknown;
  readonly port?: unknown;
}

/** Pools remembered at once; beyond this the oldest registration is forgotten. */
export const MAX_POOLS = 1000;

interface Registration {
  readonly ref: WeakRef<PoolLike>;
  readonly onAcquire: (client: object) => void;
  readonly onRelease: (error: unknown, client: object) => void;
  /** database/host/port learned from the pool's options and its first connected client. */
  database: string | undefined;
  host: string | undefined;
  port: number | undefined;
}

function str(x: unknown): string | undefined {
  return typeof x === 'string' && x !== '' ? x : undefined;
}

function port(x: unknown): number | undefined {
  const n = typeof x === 'string' ? Number(x) : x;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

export function isPoolLike(x: unknown): x is PoolLike {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as PoolLike).connect === 'function' &&
    typeof (x as PoolLike).on === 'function' &&
    typeof (x as PoolLike).removeListener === 'function' &&
    typeof (x as PoolLike).totalCount === 'number'
  );
}

export class PoolRegistry implements QuerySink {
  readonly name = 'pool-registry';
  readonly accepts = ['query-end'] as const;
  readonly #byPool = new WeakMap<PoolLike, Registration>();
  /** For iteration; holds pools only weakly (listeners close over the registration, not the pool). */
  #list: Registration[] = [];
  readonly #targetOf = new WeakMap<PoolLike, ConnectionTarget>();
  readonly #poolOf = new WeakMap<ConnectionTarget, WeakRef<PoolLike>>();
  readonly #acquiredAt = new WeakMap<object, number>();
  /** Which registered pool handed each client out. */
  readonly #clients = new WeakMap<object, Registration>();
  /** Called with the time a connection was checked out, ms (the metrics sink listens). */
  onUseTime: ((target: ConnectionTarget, ms: number) => void) | undefined;

  /** Remembers an instrumented pool (idempotent); anything that is not a pg-pool is ignored. */
  register(pool: unknown): void {
    if (!isPoolLike(pool) || this.#byPool.has(pool)) return;
    this.#prune();
    const options = pool.options;
    const registration: Registration = {
      ref: new WeakRef(pool),
      onAcquire: (client) => {
        this.#clients.set(client, registration);
        if (this.onUseTime !== undefined) this.#acquiredAt.set(client, performance.now());
        this.#learn(registration, client as PoolClientLike);
      },
      onRelease: (_error, client) => {
        const at = this.#acquiredAt.get(client);
        if (at === undefined) return;
        this.#acquiredAt.delete(client);
        const p = registration.ref.deref();
        const target = p === undefined ? undefined : this.#targetOf.get(p);
        if (target !== undefined) this.onUseTime?.(target, performance.now() - at);
      },
      database: str(options?.database),
      host: str(options?.host),
      port: port(options?.port),
    };
    const url = str(options?.connectionString);
    if (url !== undefined) {
      try {
        const parsed = new URL(url);
        registration.database ??= str(decodeURIComponent(parsed.pathname.slice(1)));
        registration.host ??= str(decodeURIComponent(parsed.hostname));
        registration.port ??= port(parsed.port);
      } catch {
        // not a URL: the first client tells
      }
    }
    pool.on('acquire', registration.onAcquire as (...args: never[]) => void);
    pool.on('release', registration.onRelease as (...args: never[]) => void);
    this.#byPool.set(pool, registration);
    this.#list.push(registration);
  }

  /** Forgets a pool and removes its listeners (at `uninstrument`). */
  unregister(pool: unknown): void {
    if (!isPoolLike(pool)) return;
    const registration = this.#byPool.get(pool);
    if (registration === undefined) return;
    pool.removeListener('acquire', registration.onAcquire as (...args: never[]) => void);
    pool.removeListener('release', registration.onRelease as (...args: never[]) => void);
    this.#byPool.delete(pool);
    this.#list = this.#list.filter((r) => r !== registration);
  }

  /** Drops registrations of collected pools and keeps at most MAX_POOLS - 1. */
  #prune(): void {
    this.#list = this.#list.filter((r) => r.ref.deref() !== undefined);
    while (this.#list.length >= MAX_POOLS) {
      const oldest = this.#list[0]!;
      const pool = oldest.ref.deref();
      if (pool !== undefined) this.unregister(pool);
      else this.#list.shift();
    }
  }

  #learn(registration: Registration, client: PoolClientLike): void {
    if (registration.database !== undefined && registration.host !== undefined && registration.port !== undefined) return;
    registration.database ??= str(client.database);
    registration.host ??= str(client.host);
    registration.port ??= port(client.port);
  }

  handle(event: LensEvent): void {
    if (event.type !== 'query-end' || event.target.kind !== 'pool' || event.connection === undefined) return;
    const target = event.target;
    if (this.#poolOf.has(target)) return;
    const pool = this.#clients.get(event.connection)?.ref.deref();
    if (pool !== undefined && !this.#targetOf.has(pool)) this.#link(pool, target);
  }

  #link(pool: PoolLike, target: ConnectionTarget): void {
    this.#poolOf.set(target, new WeakRef(pool));
    this.#targetOf.set(pool, target);
  }

  /**
   * The pool behind a target: the one matched to it, else a registered pool on the same database,
   * host and port (preferring one whose counters equal the target's). Undefined when none is live.
   */
  poolFor(target: ConnectionTarget): PoolLike | undefined {
    const linked = this.#poolOf.get(target)?.deref();
    if (linked !== undefined) return linked;
    const counts = target.poolCounts();
    let fallback: PoolLike | undefined;
    for (const r of this.#list) {
      const pool = r.ref.deref();
      if (pool === undefined) continue;
      if (r.database !== target.database) continue;
      if (r.host !== undefined && target.host !== undefined && r.host !== target.host) continue;
      if (r.port !== undefined && target.port !== undefined && r.port !== target.port) continue;
      // A heuristic match is used, never remembered.
      if (target.kind === 'pool' && counts !== undefined && pool.totalCount === counts.total && pool.idleCount === counts.idle) return pool;
      fallback ??= pool;
    }
    return fallback;
  }

  /** At `lens.close()`: removes the listeners from every pool (the pools may live on). */
  close(): void {
    for (const r of [...this.#list]) {
      const pool = r.ref.deref();
      if (pool !== undefined) this.unregister(pool);
    }
    this.#list = [];
  }

  /** Registered pools still alive. */
  get size(): number {
    return this.#list.filter((r) => r.ref.deref() !== undefined).length;
  }
}
