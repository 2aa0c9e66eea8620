/**
 * Small helpers the adapters share (internal: not part of the public API, may change without
 * notice). Like every adapter, this file uses nothing from querylens beyond the package entry.
 */
import type { Lens } from 'querylens';

/** Anything that can carry properties: objects and functions (classes, callable builders). */
export function isObject(value: unknown): value is Record<PropertyKey, unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function');
}

/** Whether `value` looks like a lens: an object with these methods (adapters check what they call). */
export function hasMethods<K extends keyof Lens>(value: unknown, names: readonly K[]): value is Pick<Lens, K> {
  if (value === null || typeof value !== 'object') return false;
  for (const name of names) if (typeof (value as Record<string, unknown>)[name] !== 'function') return false;
  return true;
}

/** `METHOD /path` without the query string: a request's name until (or unless) a route answers. */
export function methodAndPath(method: string, url: string): string {
  const q = url.indexOf('?');
  return `${method} ${q === -1 ? url : url.slice(0, q)}`;
}

/** What the caller passed, for error messages: `null`, `string "x"`, `a function (knex)`, `a Pool`, `a plain object`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return value.name === '' ? 'a function' : `a function (${value.name})`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'a plain object';
}

/**
 * Sets `target[name]` as an own, non-enumerable property (an adapter's wrapper on one instance:
 * invisible to spreads and `Object.keys`, removable with `delete`).
 */
export function defineHidden(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
}

/** The parts of a Node `ServerResponse` a request scope watches. */
export interface NodeResponseLike {
  readonly statusCode?: number;
  readonly writableFinished?: boolean;
  readonly destroyed?: boolean;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

/**
 * Calls `done` once, when the response has finished (`failed`: a 5xx status) or the connection
 * closed before it did (`failed`: true); at once when it already has.
 */
export function whenResponseDone(res: NodeResponseLike, done: (failed: boolean) => void): void {
  const failedStatus = (): boolean => (res.statusCode ?? 200) >= 500;
  if (res.writableFinished === true) return done(failedStatus());
  if (res.destroyed === true) return done(true);
  let called = false;
  const once = (failed: boolean): void => {
    if (called) return;
    called = true;
    done(failed);
  };
  res.once('finish', () => once(failedStatus()));
  res.once('close', () => once(res.writableFinished !== true || failedStatus()));
}

/** Rejects a request scope's work so its end is marked failed; never reaches the application. */
export const RESPONSE_FAILED = new Error('querylens: the response failed (5xx or connection closed early)');
/** For the scope promise of a request: findings never fail a request, a failed response is the framework's. */
export const ignore = (): void => {};

/** `next()` as a promise, a synchronous throw included. */
function callNext(next: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(next());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** How a framework's middleware describes its request to `runRequestScope`. */
export interface RequestScopeSource {
  /** The route pattern name, read once the chain has settled (undefined: no route matched). */
  routeName(): string | undefined;
  /** `METHOD /path` without the query string, the name until (or unless) a route answers. */
  readonly fallbackName: string;
  /** Calls `done` once when the response is done (see whenResponseDone). */
  whenDone(done: (failed: boolean) => void): void;
}

/**
 * Runs the rest of a middleware chain (`next`) inside one request scope of `lens` (Koa, Hono):
 * the chain's outcome goes straight back to the framework, unchanged; the scope stays open until
 * the response is done (a streamed body's queries count), is named by the route once the chain
 * has settled, and never rejects for findings. A lens whose `scope()` throws leaves the request
 * running without a scope.
 */
export function runRequestScope(lens: Pick<Lens, 'scope'>, next: () => unknown, source: RequestScopeSource): Promise<void> {
  // True once the chain has settled: from then on the router knows which route answered.
  let settled = false;
  return new Promise<void>((resolveChain, rejectChain) => {
    let entered = false;
    const work = (): Promise<void> =>
      new Promise<void>((endScope, failScope) => {
        entered = true;
        const awaitResponse = (): void => {
          settled = true;
          source.whenDone((failed) => (failed ? failScope(RESPONSE_FAILED) : endScope()));
        };
        callNext(next).then(
          () => {
            awaitResponse();
            resolveChain();
          },
          (err: unknown) => {
            awaitResponse();
            // The framework turns the error into the response: hand it over unchanged.
            rejectChain(err);
          },
        );
      });
    try {
      const namer = (): string | undefined => (settled ? source.routeName() : undefined);
      lens.scope(namer, work, { kind: 'request', fallbackName: source.fallbackName }).then(ignore, ignore);
    } catch {
      // not a working lens after all: the request goes on without a scope (below)
    }
    if (!entered) callNext(next).then(() => resolveChain(), rejectChain);
  });
}
