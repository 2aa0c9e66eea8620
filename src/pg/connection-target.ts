/**
 * The identity and address of an instrumented pool or client, shared by every event that goes
 * through it (and through the clients a pool hands out). Connection parameters come from the
 * pool's options when given, and are completed from the first client pg creates, which has
 * resolved the connection string, environment variables and defaults.
 */
import type { ConnectionTarget, PoolCounts } from '../core/query-event.js';
import type { PgClientLike, PgPoolLike } from './pg-shapes.js';

function asString(x: unknown): string | undefined {
  return typeof x === 'string' && x !== '' ? x : undefined;
}

function asPort(x: unknown): number | undefined {
  const n = typeof x === 'string' ? Number(x) : x;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

export class PgConnectionTarget implements ConnectionTarget {
  readonly kind: 'pool' | 'client';
  name: string;
  database: string | undefined;
  host: string | undefined;
  port: number | undefined;
  readonly #explicitName: boolean;
  readonly #pool: WeakRef<PgPoolLike> | undefined;

  private constructor(kind: 'pool' | 'client', name: string | undefined, pool: PgPoolLike | undefined) {
    this.kind = kind;
    this.#explicitName = name !== undefined;
    this.name = name ?? 'pg';
    // Weak: sinks may keep targets as metric keys; that must not keep a closed pool alive.
    this.#pool = pool === undefined ? undefined : new WeakRef(pool);
  }

  static forPool(pool: PgPoolLike, name: string | undefined): PgConnectionTarget {
    const target = new PgConnectionTarget('pool', name, pool);
    const options = pool.options;
    target.#learn(options?.database, options?.host, options?.port);
    const url = asString(options?.connectionString);
    if (url !== undefined) {
      try {
        const parsed = new URL(url);
        target.#learn(decodeURIComponent(parsed.pathname.slice(1)), decodeURIComponent(parsed.hostname), parsed.port);
      } catch {
        // Not a URL (a bare socket path or key=value string): the first client will tell.
      }
    }
    return target;
  }

  static forClient(client: PgClientLike, name: string | undefined): PgConnectionTarget {
    const target = new PgConnectionTarget('client', name, undefined);
    target.learnFrom(client);
    return target;
  }

  /** Completes unknown parameters from a client's resolved ones. */
  learnFrom(client: PgClientLike): void {
    if (this.database === undefined || this.host === undefined || this.port === undefined) {
      this.#learn(client.database, client.host, client.port);
    }
  }

  #learn(database: unknown, host: unknown, port: unknown): void {
    this.database ??= asString(database);
    this.host ??= asString(host);
    this.port ??= asPort(port);
    if (!this.#explicitName && this.database !== undefined) {
      this.name = this.host === undefined ? this.database : `${this.database}@${this.host}${this.port === undefined ? '' : `:${this.port}`}`;
    }
  }

  poolCounts(): PoolCounts | undefined {
    const pool = this.#pool?.deref();
    if (pool === undefined) return undefined;
    return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount ?? 0 };
  }
}
