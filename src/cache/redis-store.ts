/**
 * The shared tier: version tokens and key lists in Redis, so every process that shares the Redis
 * and the database sees the others' writes. Layout (prefix `querylens:<namespace>:`; every key
 * has a TTL):
 *
 *   <prefix>epoch                    random namespace epoch                    (metaTtl)
 *   <prefix><epoch>:t:<relname>      random version token of a table           (metaTtl)
 *   <prefix><epoch>:e:<key hash>     "<token digest>\n<JSON key list>"         (entry ttl)
 *   <prefix>h:<relname>              sorted set of writes in flight, scored by expiry (holdTtl)
 *   channel <prefix>invalidate       {"o":origin,"t":[relnames]} | {"o","e":1} | {"o","s":1}
 *
 * Lua scripts keep each step atomic: `get` (read or create the epoch and tokens, return the list
 * only if it was stored under the current tokens and no write to its tables is in flight — or just
 * "same" when the in-process copy is current), `fill` (check-and-set: store only if epoch and
 * tokens are unchanged), `hold`/`release` (a write is on its way: announced before the database
 * gets it, so another process that hears of the commit from the application cannot read ahead of
 * the token bump), `bump` (new tokens + PUBLISH). Scripts go by EVALSHA, falling back to EVAL on NOSCRIPT. Keys are built inside
 * the scripts, so this targets a single Redis (or a primary), not Redis Cluster.
 *
 * Fail-open: every command has a short timeout; consecutive failures open a circuit breaker
 * (lookups answer "unavailable", so queries go to the database and nothing is stored); a write
 * that could not bump its tokens, or any outage, leaves the namespace "dirty", and the first
 * command after recovery replaces the epoch — every list and token written before it becomes
 * unreachable, so nothing from before the outage can be served. Nothing here ever throws to the
 * caller, and no Redis error reaches a query.
 *
 * In front sits an in-process ListTier (the lru-cache tier): a lookup whose tokens match the
 * in-process copy's gets "same" from Redis instead of the list. Pub/sub messages drop in-process
 * copies early and tell the cache about other processes' writes and schema changes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CachedKey, PkStore, StoreEvents, StoreLookup, StoreStats } from './pk-store.js';
import { ListTier, newToken } from './memory-store.js';
import type { RedisConnection, Subscription } from './redis-connection.js';

export interface RedisStoreOptions {
  readonly namespace: string;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  /** TTL of the epoch and token keys, refreshed by fills. */
  readonly metaTtlMs: number;
  /** How long a hold (a write in flight) counts if its release never comes (a crashed process). */
  readonly holdTtlMs: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
}

const GET_SCRIPT = `
local prefix = ARGV[1]
local now = redis.call('TIME')
now = now[1] * 1000 + math.floor(now[2] / 1000)
local held = redis.call('ZCOUNT', prefix .. 'h:*', now, '+inf') > 0
for i = 7, #ARGV do
  if held then break end
  held = redis.call('ZCOUNT', prefix .. 'h:' .. ARGV[i], now, '+inf') > 0
end
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[1], epoch, 'PX', ARGV[5])
end
local tokens = {}
for i = 7, #ARGV do
  local key = prefix .. epoch .. ':t:' .. ARGV[i]
  local t = redis.call('GET', key)
  if not t then
    t = ARGV[4] .. (i - 6)
    redis.call('SET', key, t, 'PX', ARGV[5])
  end
  tokens[#tokens + 1] = t
end
local digest = table.concat(tokens, ',')
if held then return {epoch, digest, 'held'} end
if ARGV[6] == epoch .. '|' .. digest then return {epoch, digest, 'same'} end
local entry = redis.call('GET', prefix .. epoch .. ':e:' .. ARGV[2])
if entry then
  local nl = string.find(entry, '\\n', 1, true)
  if nl and string.sub(entry, 1, nl - 1) == digest then
    return {epoch, digest, 'hit', string.sub(entry, nl + 1), redis.call('PTTL', prefix .. epoch .. ':e:' .. ARGV[2])}
  end
end
return {epoch, digest, 'miss'}
`;

const FILL_SCRIPT = `
local prefix = ARGV[1]
local epoch = redis.call('GET', KEYS[1])
if epoch ~= ARGV[2] then return 0 end
local tokens = {}
for i = 8, #ARGV do
  local t = redis.call('GET', prefix .. epoch .. ':t:' .. ARGV[i])
  if not t then return 0 end
  tokens[#tokens + 1] = t
end
if table.concat(tokens, ',') ~= ARGV[3] then return 0 end
redis.call('SET', prefix .. epoch .. ':e:' .. ARGV[4], ARGV[3] .. '\\n' .. ARGV[6], 'PX', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
for i = 8, #ARGV do redis.call('PEXPIRE', prefix .. epoch .. ':t:' .. ARGV[i], ARGV[7]) end
return 1
`;

const BUMP_SCRIPT = `
local prefix = ARGV[1]
local epoch = redis.call('GET', KEYS[1])
if epoch then
  for i = 6, #ARGV do
    redis.call('SET', prefix .. epoch .. ':t:' .. ARGV[i], ARGV[2] .. (i - 5), 'PX', ARGV[3])
  end
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`;

const HOLD_SCRIPT = `
local now = redis.call('TIME')
now = now[1] * 1000 + math.floor(now[2] / 1000)
for i = 4, #ARGV do
  local key = ARGV[1] .. 'h:' .. ARGV[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  redis.call('ZADD', key, now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', key, ARGV[3])
end
return 1
`;

const RELEASE_SCRIPT = `
for i = 3, #ARGV do redis.call('ZREM', ARGV[1] .. 'h:' .. ARGV[i], ARGV[2]) end
return 1
`;

const EPOCH_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const SCRIPTS = {
  get: script(GET_SCRIPT),
  fill: script(FILL_SCRIPT),
  bump: script(BUMP_SCRIPT),
  hold: script(HOLD_SCRIPT),
  release: script(RELEASE_SCRIPT),
  epoch: script(EPOCH_SCRIPT),
};

interface Hold {
  readonly id: string;
  readonly relnames: readonly string[];
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

class UnavailableError extends Error {
  constructor() {
    super('Redis is not connected');
    this.name = 'UnavailableError';
  }
}

function asString(x: unknown): string {
  if (typeof x === 'string') return x;
  if (Buffer.isBuffer(x)) return x.toString('utf8');
  return String(x);
}

export class RedisStore implements PkStore {
  readonly #conn: RedisConnection;
  readonly #o: RedisStoreOptions;
  readonly #events: StoreEvents;
  readonly #prefix: string;
  readonly #epochKey: string;
  readonly #channel: string;
  readonly #origin = randomBytes(8).toString('hex');
  readonly #tier: ListTier;
  /** In-process copies are valid only together with the epoch they were read under. */
  #lastEpoch: string | undefined;
  #failures = 0;
  #openUntil = 0;
  #probing = false;
  /** A bump was lost or Redis was unreachable: the epoch must be replaced before Redis is trusted again. */
  #dirty = false;
  /** Counts the events that made the namespace dirty, so an epoch bump only clears what it covered. */
  #dirtyGen = 0;
  #errors = 0;
  #epochBumps = 0;
  #closed = false;
  #subscription: Subscription | undefined;
  #nextSubscribe = 0;

  constructor(conn: RedisConnection, options: RedisStoreOptions, events: StoreEvents) {
    this.#conn = conn;
    this.#o = options;
    this.#events = events;
    this.#prefix = `querylens:${options.namespace}:`;
    this.#epochKey = `${this.#prefix}epoch`;
    this.#channel = `${this.#prefix}invalidate`;
    this.#tier = new ListTier({ maxEntries: options.maxEntries, maxBytes: options.maxBytes });
    this.#subscribe();
  }

  /**
   * Subscribes (again, when an earlier attempt failed: at most every 5 s, from lookups). Without
   * the subscription, in-process copies are still validated against the Redis tokens on every
   * read; only early eviction and remote schema notices are lost (the poll covers those).
   */
  #subscribe(): void {
    if (this.#closed || this.#subscription !== undefined || performance.now() < this.#nextSubscribe) return;
    let sub: Subscription;
    try {
      sub = this.#conn.subscribe(this.#channel, (m) => this.#onMessage(m));
    } catch {
      this.#errors++;
      this.#nextSubscribe = performance.now() + 5000;
      return;
    }
    this.#subscription = sub;
    sub.ready.then(undefined, () => {
      this.#errors++;
      sub.close();
      if (this.#subscription === sub) this.#subscription = undefined;
      this.#nextSubscribe = performance.now() + 5000;
    });
  }

  #onMessage(message: string): void {
    let m: { o?: unknown; t?: unknown; e?: unknown; s?: unknown };
    try {
      m = JSON.parse(message) as typeof m;
    } catch {
      return;
    }
    if (m.o === this.#origin) return;
    try {
      if (m.e === 1) {
        this.#tier.clear();
        this.#events.remoteBump('*');
      } else if (Array.isArray(m.t)) {
        const relnames = m.t.filter((x): x is string => typeof x === 'string');
        this.#tier.dropTables(relnames);
        this.#events.remoteBump(relnames);
      }
      if (m.s === 1) this.#events.remoteSchemaChange();
    } catch {
      // a listener problem must not break the subscription
    }
  }

  // ---- circuit breaker -------------------------------------------------------------------

  /** May a command go out now? Half-open lets one probe through after the cooldown. */
  #allow(): boolean {
    if (this.#closed) return false;
    if (this.#failures < this.#o.failureThreshold) return true;
    if (performance.now() < this.#openUntil || this.#probing) return false;
    this.#probing = true;
    return true;
  }

  #succeeded(): void {
    this.#failures = 0;
    this.#probing = false;
  }

  /** `lostBump`: a version-token bump did not reach Redis. */
  #failed(lostBump = false): void {
    this.#errors++;
    this.#probing = false;
    if (lostBump) this.#markDirty();
    if (++this.#failures >= this.#o.failureThreshold) {
      // an outage: whatever happened meanwhile (lost bumps, a restarted Redis) is unknown
      this.#openUntil = performance.now() + this.#o.cooldownMs;
      this.#markDirty();
    }
  }

  /** Settles the breaker from a command whose reply nobody waits for. Never rejects. */
  #settle(command: Promise<unknown>, lostBump = false): Promise<void> {
    return command.then(
      () => this.#succeeded(),
      () => this.#failed(lostBump),
    );
  }

  #markDirty(): void {
    this.#dirty = true;
    this.#dirtyGen++;
  }

  async #send(args: readonly (string | number)[]): Promise<unknown> {
    if (!this.#conn.ready()) throw new UnavailableError();
    const ms = this.#o.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const reply = this.#conn.command(args);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
      timer.unref();
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
      reply.then(undefined, () => {}); // a late rejection is not unhandled
    }
  }

  async #eval(s: Script, keys: readonly string[], argv: readonly (string | number)[]): Promise<unknown> {
    try {
      return await this.#send(['EVALSHA', s.sha, keys.length, ...keys, ...argv]);
    } catch (err) {
      if (!String((err as Error | null)?.message ?? '').includes('NOSCRIPT')) throw err;
      return await this.#send(['EVAL', s.source, keys.length, ...keys, ...argv]);
    }
  }

  /** Before trusting Redis again after any failure: a new epoch, announced to everyone. */
  async #ensureClean(): Promise<void> {
    if (!this.#dirty) return;
    const gen = this.#dirtyGen;
    const epoch = newToken();
    await this.#eval(SCRIPTS.epoch, [this.#epochKey], [epoch, this.#o.metaTtlMs, this.#channel, JSON.stringify({ o: this.#origin, e: 1 })]);
    // a bump lost while this one was on its way is not covered by it
    if (this.#dirtyGen === gen) this.#dirty = false;
    this.#epochBumps++;
    this.#tier.clear();
  }

  // ---- the store contract --------------------------------------------------------------------

  async lookup(id: string, relnames: readonly string[]): Promise<StoreLookup | undefined> {
    if (!this.#allow()) return undefined;
    try {
      await this.#ensureClean();
      const local = this.#tier.get(id);
      const known = local !== undefined && local.digest.startsWith(`${this.#lastEpoch ?? ''}|`) ? local.digest : '';
      this.#subscribe();
      const reply = (await this.#eval(SCRIPTS.get, [this.#epochKey], [
        this.#prefix,
        id,
        newToken(),
        `${newToken()}.`,
        this.#o.metaTtlMs,
        known,
        ...relnames,
      ])) as unknown[];
      this.#succeeded();
      const epoch = asString(reply[0]);
      const digest = asString(reply[1]);
      const status = asString(reply[2]);
      if (epoch !== this.#lastEpoch) {
        if (this.#lastEpoch !== undefined) this.#tier.clear();
        this.#lastEpoch = epoch;
      }
      const snapshot = `${epoch}|${digest}`;
      if (status === 'same' && local !== undefined) return { snapshot, ids: local.ids };
      if (status === 'hit' && reply[3] !== undefined && reply[3] !== null) {
        const ids = JSON.parse(asString(reply[3])) as CachedKey[];
        // the in-process copy lives no longer than the Redis entry
        const pttl = Number(reply[4]);
        if (pttl > 0) this.#tier.set(id, snapshot, ids, relnames, pttl);
        return { snapshot, ids: this.#tier.get(id)?.ids ?? Object.freeze(ids) };
      }
      return { snapshot, ids: undefined };
    } catch {
      this.#failed();
      return undefined;
    }
  }

  async fill(id: string, relnames: readonly string[], snapshot: string, ids: readonly CachedKey[], ttlMs: number): Promise<boolean> {
    if (this.#dirty || !this.#allow()) return false;
    const bar = snapshot.indexOf('|');
    const epoch = snapshot.slice(0, bar);
    const digest = snapshot.slice(bar + 1);
    try {
      const stored = await this.#eval(SCRIPTS.fill, [this.#epochKey], [
        this.#prefix,
        epoch,
        digest,
        id,
        ttlMs,
        JSON.stringify(ids),
        this.#o.metaTtlMs,
        ...relnames,
      ]);
      this.#succeeded();
      if (Number(stored) !== 1) return false;
      this.#tier.set(id, snapshot, ids, relnames, ttlMs);
      return true;
    } catch {
      this.#failed();
      return false;
    }
  }

  remove(id: string): void {
    this.#tier.delete(id);
    const epoch = this.#lastEpoch;
    if (epoch === undefined || !this.#allow()) return;
    void this.#settle(this.#send(['DEL', `${this.#prefix}${epoch}:e:${id}`]));
  }

  bump(relnames: readonly string[] | '*'): Promise<void> {
    this.#tier.dropTables(relnames);
    if (!this.#allow()) {
      // the bump is lost: whatever Redis holds for these tables must not be served later
      this.#markDirty();
      return Promise.resolve();
    }
    return this.#settle(relnames === '*' ? this.#bumpEpoch() : this.#bumpTables(relnames), true);
  }

  async #bumpTables(relnames: readonly string[]): Promise<void> {
    if (relnames.length === 0) return;
    await this.#eval(SCRIPTS.bump, [this.#epochKey], [
      this.#prefix,
      `${newToken()}.`,
      this.#o.metaTtlMs,
      this.#channel,
      JSON.stringify({ o: this.#origin, t: relnames }),
      ...relnames,
    ]);
  }

  async #bumpEpoch(): Promise<void> {
    this.#markDirty();
    await this.#ensureClean();
  }

  hold(relnames: readonly string[] | '*'): Hold | undefined {
    const rels = relnames === '*' ? ['*'] : relnames;
    if (rels.length === 0 || !this.#allow()) return undefined;
    const hold: Hold = { id: newToken(), relnames: rels };
    void this.#settle(this.#eval(SCRIPTS.hold, [], [this.#prefix, hold.id, this.#o.holdTtlMs, ...rels]));
    return hold;
  }

  release(handle: unknown): void {
    const hold = handle as Hold | undefined;
    if (hold === undefined || !this.#allow()) return; // an unreleased hold expires by itself
    void this.#settle(this.#eval(SCRIPTS.release, [], [this.#prefix, hold.id, ...hold.relnames]));
  }

  publishSchemaChange(): void {
    if (!this.#allow()) return;
    void this.#settle(this.#send(['PUBLISH', this.#channel, JSON.stringify({ o: this.#origin, s: 1 })]));
  }

  stats(): StoreStats {
    const open = this.#failures >= this.#o.failureThreshold;
    const circuit = !open ? 'closed' : this.#probing || performance.now() >= this.#openUntil ? 'half-open' : 'open';
    return { kind: 'redis', entries: this.#tier.size, bytes: this.#tier.bytes, errors: this.#errors, circuit, epochBumps: this.#epochBumps };
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#subscription?.close();
    this.#subscription = undefined;
    this.#tier.clear();
    return Promise.resolve();
  }
}
