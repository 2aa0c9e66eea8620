/**
 * One small surface over the two Redis clients users have: ioredis (`call`, `duplicate`,
 * `status`) and node-redis ≥ 4 (`sendCommand`, `duplicate` + `connect`, `isReady`). Both are
 * described structurally (neither package is imported), commands go out as raw argument arrays,
 * and pub/sub runs on a duplicated connection that this module owns, connects and closes — the
 * application's own client is never put into subscriber mode and never closed here.
 */

type Listener = (...args: never[]) => void;

interface IoRedisLike {
  call(...args: (string | number)[]): Promise<unknown>;
  duplicate(): IoRedisLike;
  readonly status: string;
  on(event: string, listener: Listener): unknown;
  subscribe(...channels: string[]): Promise<unknown>;
  disconnect(): void;
}

interface NodeRedisLike {
  sendCommand(args: readonly string[]): Promise<unknown>;
  duplicate(): NodeRedisLike;
  readonly isReady: boolean;
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  on(event: string, listener: Listener): unknown;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  destroy?(): void;
  disconnect?(): Promise<unknown>;
  quit?(): Promise<unknown>;
}

/** A pub/sub subscription on a connection of its own. `close` works whether or not it is ready yet. */
export interface Subscription {
  /** Settles once subscribed (rejects if subscribing failed; the subscription is then unusable). */
  readonly ready: Promise<void>;
  close(): void;
}

export interface RedisConnection {
  /** Sends one command; the reply as the client parsed it. */
  command(args: readonly (string | number)[]): Promise<unknown>;
  /** Connected and able to answer now (commands sent otherwise would queue until reconnect). */
  ready(): boolean;
  /**
   * Subscribes a duplicated connection to `channel`. The duplicate reconnects and re-subscribes by
   * itself (both clients do). Throws only if the client cannot be duplicated.
   */
  subscribe(channel: string, onMessage: (message: string) => void): Subscription;
}

function isIoRedis(c: unknown): c is IoRedisLike {
  const o = c as Partial<IoRedisLike> | null;
  return o !== null && typeof o === 'object' && typeof o.call === 'function' && typeof o.duplicate === 'function' && typeof o.status === 'string';
}

function isNodeRedis(c: unknown): c is NodeRedisLike {
  const o = c as Partial<NodeRedisLike> | null;
  return o !== null && typeof o === 'object' && typeof o.sendCommand === 'function' && typeof o.duplicate === 'function' && 'isReady' in o;
}

/** True for an ioredis or node-redis client. */
export function isRedisClient(c: unknown): boolean {
  return isIoRedis(c) || isNodeRedis(c);
}

const noop = (): void => {};

export function connectRedis(client: unknown): RedisConnection {
  if (isIoRedis(client)) {
    return {
      command: (args) => client.call(...args),
      ready: () => client.status === 'ready',
      subscribe: (channel, onMessage) => {
        const sub = client.duplicate();
        sub.on('error', noop);
        sub.on('message', ((ch: string, message: string) => {
          if (ch === channel) onMessage(message);
        }) as Listener);
        return { ready: sub.subscribe(channel).then(() => undefined), close: () => sub.disconnect() };
      },
    };
  }
  if (isNodeRedis(client)) {
    return {
      command: (args) => client.sendCommand(args.map(String)),
      ready: () => client.isReady,
      subscribe: (channel, onMessage) => {
        const sub = client.duplicate();
        sub.on('error', noop);
        let closed = false;
        const close = (): void => {
          closed = true;
          try {
            if (typeof sub.destroy === 'function') sub.destroy();
            else void sub.disconnect?.().catch(noop);
          } catch {
            // not connected (yet), or already closed
          }
        };
        const ready = (async () => {
          await sub.connect();
          if (closed) return close();
          await sub.subscribe(channel, (message) => onMessage(message));
        })();
        return { ready, close };
      },
    };
  }
  throw new TypeError('querylens: cache option "store.redis" must be an ioredis or node-redis client');
}
