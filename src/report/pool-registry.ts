/**
 * The pg pools a lens instrumented, as objects: the EXPLAIN runner borrows connections from them,
 * and their public `acquire`/`release` events give the connection use time. Each pool is
 * registered with the ConnectionTarget the pg layer made for it, which names it in events and
 * carries its database, host and port (learned from its options and first client).
 *
 * Weak everywhere (pools and clients are the application's), bounded (MAX_POOLS), and listeners are
 * removed when a pool is unregistered.
 */
import type { ConnectionTarget } from '../core/query-event.js';

/** pg-pool, structurally: what the registry and the EXPLAIN runner use. */
export interface PoolLike {
  connect(): Promise<PoolClientLike>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount?: number;
  readonly options?: { readonly max?: unknown };
}

export interface PoolClientLike {
  query(config: unknown): Promise<{ readonly rows: readonly unknown[] }>;
  release(error?: Error | boolean): void;
}

/** Pools remembered at once; beyond this the oldest registration is forgotten. */
export const MAX_POOLS = 1000;

interface Registration {
  readonly ref: WeakRef<PoolLike>;
  readonly target: ConnectionTarget;
  readonly onAcquire: (client: object) => void;
  readonly onRelease: (error: unknown, client: object) => void;
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

export class PoolRegistry {
  readonly #byPool = new WeakMap<PoolLike, Registration>();
  readonly #byTarget = new WeakMap<ConnectionTarget, Registration>();
  /** For iteration; holds pools only weakly (listeners close over the registration, not the pool). */
  #list: Registration[] = [];
  readonly #acquiredAt = new WeakMap<object, number>();
  /** Called with the time a connection was checked out, ms (the metrics sink listens). */
  onUseTime: ((target: ConnectionTarget, ms: number) => void) | undefined;

  /**
   * Remembers an instrumented pool and its target (idempotent); anything that is not a pg-pool, or
   * has no target (instrumented by another copy of querylens), is ignored.
   */
  register(pool: unknown, target: ConnectionTarget | undefined): void {
    if (!isPoolLike(pool) || target === undefined || this.#byPool.has(pool)) return;
    this.#prune();
    const registration: Registration = {
      ref: new WeakRef(pool),
      target,
      onAcquire: (client) => {
        if (this.onUseTime !== undefined) this.#acquiredAt.set(client, performance.now());
      },
      onRelease: (_error, client) => {
        const at = this.#acquiredAt.get(client);
        if (at === undefined) return;
        this.#acquiredAt.delete(client);
        this.onUseTime?.(target, performance.now() - at);
      },
    };
    pool.on('acquire', registration.onAcquire as (...args: never[]) => void);
    pool.on('release', registration.onRelease as (...args: never[]) => void);
    this.#byPool.set(pool, registration);
    this.#byTarget.set(target, registration);
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
    this.#byTarget.delete(registration.target);
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

  /**
   * The pool behind a target: the one registered with it, else a registered pool on the same
   * database, host and port (a standalone client's; preferring a pool whose counters equal the
   * target's). Undefined when none is live.
   */
  poolFor(target: ConnectionTarget): PoolLike | undefined {
    const own = this.#byTarget.get(target)?.ref.deref();
    if (own !== undefined) return own;
    const counts = target.poolCounts();
    let fallback: PoolLike | undefined;
    for (const r of this.#list) {
      const pool = r.ref.deref();
      if (pool === undefined) continue;
      const t = r.target;
      if (t.database !== target.database) continue;
      if (t.host !== undefined && target.host !== undefined && t.host !== target.host) continue;
      if (t.port !== undefined && target.port !== undefined && t.port !== target.port) continue;
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
