/**
 * The contract between the PK cache and where it keeps things. A store holds two kinds of state:
 *
 * - a version token per table (by relname): random, replaced on every committed write (`bump`);
 *   a missing token is created on first read, so a lost token can only invalidate, never validate;
 * - key lists (the cached primary keys of one query), each stored with the digest of the tokens
 *   that were current *before* the query ran. A lookup returns a list only when its digest equals
 *   the current one, and `fill` stores only if the digest it was given is still current
 *   (check-and-set), which closes the invalidate-then-refill race.
 *
 * `lookup` returning `undefined` means the store cannot answer (Redis down, circuit open): the
 * caller goes to the database and stores nothing. Stores never throw.
 */

/** A primary-key value as cached (see typed-values.ts keyValue); composite keys are tuples. */
export type KeyValue = string | number | boolean | null;
export type CachedKey = KeyValue | readonly KeyValue[];

export interface StoreLookup {
  /** Opaque: the token digest (and epoch) current at lookup time, to hand back to `fill`. */
  readonly snapshot: string;
  /** The cached list when one is stored under the current tokens. Frozen. */
  readonly ids: readonly CachedKey[] | undefined;
}

export interface StoreStats {
  readonly kind: 'memory' | 'redis';
  /** Lists held in process (the lru-cache tier). */
  readonly entries: number;
  /** Approximate bytes they take. */
  readonly bytes: number;
  /** Redis only: commands that failed or timed out. */
  readonly errors: number;
  /** Redis only: 'closed' (healthy), 'open' (bypassing Redis), 'half-open' (probing). */
  readonly circuit: 'closed' | 'open' | 'half-open';
  /** Redis only: namespace epoch bumps done by this process (after outages, or for "everything changed"). */
  readonly epochBumps: number;
}

export interface PkStore {
  lookup(id: string, relnames: readonly string[]): Promise<StoreLookup | undefined>;
  fill(id: string, relnames: readonly string[], snapshot: string, ids: readonly CachedKey[], ttlMs: number): Promise<boolean>;
  /** Forgets one list (it referenced rows that no longer exist). */
  remove(id: string): void;
  /** New tokens for these tables ('*': every table). Never rejects; callers may ignore the promise. */
  bump(relnames: readonly string[] | '*'): Promise<void>;
  /**
   * A write to these tables is on its way to the database (Redis: announced to every process, so
   * their reads distrust the cache until `release`). Returns a handle for `release`; no-op in process.
   */
  hold(relnames: readonly string[] | '*'): unknown;
  release(handle: unknown): void;
  /** Tells other processes that the schema changed (Redis); no-op in process. */
  publishSchemaChange(): void;
  stats(): StoreStats;
  close(): Promise<void>;
}

/** Callbacks a shared store uses to tell its cache about other processes' writes. */
export interface StoreEvents {
  remoteBump(relnames: readonly string[] | '*'): void;
  remoteSchemaChange(): void;
}

/** Rough heap size of a key list, for the byte bound. */
export function sizeOfKeys(ids: readonly CachedKey[]): number {
  let n = 96 + ids.length * 8;
  for (const id of ids) {
    if (Array.isArray(id)) {
      n += 32;
      for (const part of id as readonly KeyValue[]) n += typeof part === 'string' ? 16 + part.length * 2 : 16;
    } else n += typeof id === 'string' ? 16 + id.length * 2 : 8;
  }
  return n;
}
