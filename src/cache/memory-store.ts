/**
 * The in-process store: version tokens in a Map, key lists in an lru-cache bounded by entries and
 * by bytes, each list frozen and stored with the token digest it was filled under and a TTL. Used
 * alone (one process), and as the first tier of the Redis store (which keeps its own tokens).
 *
 * Every operation is synchronous underneath; the async signatures are the store contract's.
 */
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CachedKey, PkStore, StoreLookup, StoreStats } from './pk-store.js';
import { sizeOfKeys } from './pk-store.js';

export interface ListTierOptions {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

interface TierEntry {
  /** Whatever validates the list: the token digest (plus the epoch, in the Redis tier). */
  readonly digest: string;
  readonly ids: readonly CachedKey[];
  readonly relnames: readonly string[];
}

/**
 * Key lists in an lru-cache, indexed by table so a bump can drop the lists that depend on it
 * (they are invalid anyway — the index only frees memory early).
 */
export class ListTier {
  readonly #lru: LRUCache<string, TierEntry>;
  readonly #byTable = new Map<string, Set<string>>();

  constructor(options: ListTierOptions) {
    this.#lru = new LRUCache<string, TierEntry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (e) => Math.max(1, sizeOfKeys(e.ids)),
      dispose: (e, id) => this.#unindex(id, e.relnames),
    });
  }

  get(id: string): TierEntry | undefined {
    return this.#lru.get(id);
  }

  set(id: string, digest: string, ids: readonly CachedKey[], relnames: readonly string[], ttlMs: number): void {
    const frozen = Object.isFrozen(ids) ? ids : Object.freeze(ids.map((k) => (Array.isArray(k) ? Object.freeze([...k]) : k)) as CachedKey[]);
    this.#lru.set(id, Object.freeze({ digest, ids: frozen, relnames }), { ttl: ttlMs });
    if (!this.#lru.has(id)) return; // larger than maxBytes: not kept
    for (const r of relnames) {
      let set = this.#byTable.get(r);
      if (set === undefined) this.#byTable.set(r, (set = new Set()));
      set.add(id);
    }
  }

  delete(id: string): void {
    this.#lru.delete(id);
  }

  dropTables(relnames: readonly string[] | '*'): void {
    if (relnames === '*') return this.clear();
    for (const r of relnames) {
      const ids = this.#byTable.get(r);
      if (ids === undefined) continue;
      this.#byTable.delete(r);
      for (const id of ids) this.#lru.delete(id);
    }
  }

  #unindex(id: string, relnames: readonly string[]): void {
    for (const r of relnames) {
      const set = this.#byTable.get(r);
      if (set === undefined) continue;
      set.delete(id);
      if (set.size === 0) this.#byTable.delete(r);
    }
  }

  get size(): number {
    return this.#lru.size;
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  clear(): void {
    this.#lru.clear();
    this.#byTable.clear();
  }
}

export function newToken(): string {
  return randomBytes(9).toString('base64url');
}

export class MemoryStore implements PkStore {
  readonly #tokens = new Map<string, string>();
  readonly #tier: ListTier;

  constructor(options: ListTierOptions) {
    this.#tier = new ListTier(options);
  }

  #digest(relnames: readonly string[]): string {
    let digest = '';
    for (let i = 0; i < relnames.length; i++) {
      const r = relnames[i]!;
      let t = this.#tokens.get(r);
      if (t === undefined) this.#tokens.set(r, (t = newToken()));
      digest = i === 0 ? t : `${digest},${t}`;
    }
    return digest;
  }

  lookup(id: string, relnames: readonly string[]): Promise<StoreLookup> {
    const snapshot = this.#digest(relnames);
    const entry = this.#tier.get(id);
    return Promise.resolve({ snapshot, ids: entry !== undefined && entry.digest === snapshot ? entry.ids : undefined });
  }

  fill(id: string, relnames: readonly string[], snapshot: string, ids: readonly CachedKey[], ttlMs: number): Promise<boolean> {
    if (this.#digest(relnames) !== snapshot) return Promise.resolve(false);
    this.#tier.set(id, snapshot, ids, relnames, ttlMs);
    return Promise.resolve(true);
  }

  remove(id: string): void {
    this.#tier.delete(id);
  }

  bump(relnames: readonly string[] | '*'): Promise<void> {
    if (relnames === '*') this.#tokens.clear();
    else for (const r of relnames) this.#tokens.set(r, newToken());
    this.#tier.dropTables(relnames);
    return Promise.resolve();
  }

  hold(): undefined {
    return undefined; // the cache's own write book covers this process
  }

  release(): void {}

  publishSchemaChange(): void {}

  stats(): StoreStats {
    return { kind: 'memory', entries: this.#tier.size, bytes: this.#tier.bytes, errors: 0, circuit: 'closed', epochBumps: 0 };
  }

  close(): Promise<void> {
    this.#tier.clear();
    return Promise.resolve();
  }
}
