/**
 * One querylens unit of work per Koa request, named by the @koa/router route pattern
 * (`GET /posts/:id`), or `GET /path` when no route matched.
 *
 * ```ts
 * const app = new Koa();
 * app.use(querylensKoa(lens)); // before the router
 * app.use(router.routes());
 * ```
 *
 * The rest of the middleware chain runs inside the scope, so every query the request causes (sync
 * or async) is attributed to it. The middleware itself settles when the chain does (Koa then writes
 * the response), while the scope stays open until the response has finished or the connection
 * closed: a streamed body that still queries is part of the request.
 *
 * The name is read once the chain has settled: while it runs, `ctx._matchedRoute` passes through
 * router-level middleware paths (`/posts`, `(?:\/|$)`) before the route's own. Until then the scope
 * is called by its path (slow-query records written mid-request show that).
 *
 * Koa objects are described structurally: koa is not imported.
 */
import type { Lens } from 'querylens';
import { describeValue, whenResponseDone } from './support.js';

/** The part of a @koa/router layer this adapter reads. */
export interface KoaRouterLayerLike {
  readonly path?: unknown;
  readonly methods?: readonly string[];
}

/** The part of the Node response this adapter reads (Koa's `ctx.res`). */
export interface KoaNodeResponseLike {
  readonly statusCode?: number;
  readonly writableFinished?: boolean;
  readonly destroyed?: boolean;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

/** The part of a Koa context this adapter reads. */
export interface KoaContextLike {
  readonly method: string;
  readonly path?: string;
  /** The URL as received, before any mount (koa-mount) stripped a prefix. */
  readonly originalUrl?: string;
  readonly res?: KoaNodeResponseLike;
  /** @koa/router: the path of the layer that ran last (the route, once the router is done). */
  readonly _matchedRoute?: unknown;
  /** @koa/router: every layer whose path matched, across routers. */
  readonly matched?: readonly KoaRouterLayerLike[];
}

export type KoaNext = () => Promise<unknown>;

export type QuerylensKoaMiddleware = (ctx: KoaContextLike, next: KoaNext) => Promise<void>;

/** Rejects the scope's work so its end is marked failed; never reaches the application. */
const RESPONSE_FAILED = new Error('querylens: the response failed (5xx or connection closed early)');
const ignore = (): void => {};

/**
 * Koa middleware that opens one request scope per request. Register it before the router.
 * Throws a TypeError if `lens` is not a lens; never throws into a request.
 * @example app.use(querylensKoa(lens));
 */
export function querylensKoa(lens: Lens): QuerylensKoaMiddleware {
  if (lens === null || typeof lens !== 'object' || typeof (lens as Partial<Lens>).scope !== 'function') {
    throw new TypeError(
      `querylens/adapters/koa: querylensKoa() expects a lens from createLens(), as in app.use(querylensKoa(createLens())); got ${describeValue(lens)}`,
    );
  }
  return function querylensKoaScope(ctx, next) {
    // True once the chain has settled: from then on ctx._matchedRoute is the route that answered.
    let settled = false;
    return new Promise<void>((resolveChain, rejectChain) => {
      let entered = false;
      // The scope's work: the rest of the chain, whose outcome goes straight back to Koa, and then
      // the wait for the response to be done.
      const work = (): Promise<void> =>
        new Promise<void>((endScope, failScope) => {
          entered = true;
          const awaitResponse = (): void => {
            settled = true;
            whenKoaResponseDone(ctx.res, (failed) => (failed ? failScope(RESPONSE_FAILED) : endScope()));
          };
          callNext(next).then(
            () => {
              awaitResponse();
              resolveChain();
            },
            (err: unknown) => {
              awaitResponse();
              // Koa turns the error into the response (ctx.onerror): hand it over unchanged.
              rejectChain(err);
            },
          );
        });
      try {
        const namer = (): string | undefined => (settled ? routeName(ctx) : undefined);
        // A request scope never rejects for findings; a failed response was already handed to Koa.
        lens.scope(namer, work, { kind: 'request', fallbackName: pathName(ctx) }).then(ignore, ignore);
      } catch {
        // not a working lens after all: the request goes on without a scope (below)
      }
      if (!entered) callNext(next).then(() => resolveChain(), rejectChain);
    });
  };
}

/** `next()` as a promise, a synchronous throw included. */
function callNext(next: KoaNext): Promise<unknown> {
  try {
    return Promise.resolve(next());
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * `METHOD /route/:pattern` of the route that answered (`ctx._matchedRoute`), else of the last route
 * the router matched for this method (a router middleware answered first, e.g. a 401), else
 * undefined (no route matched: the fallback name stands).
 */
function routeName(ctx: KoaContextLike): string | undefined {
  try {
    const method = ctx.method;
    const answered = ctx._matchedRoute;
    const layers = ctx.matched;
    if (layers === undefined) return typeof answered === 'string' && answered !== '' ? `${method} ${answered}` : undefined;
    let last: string | undefined;
    for (const layer of layers) {
      if (layer.methods === undefined || !layer.methods.includes(method)) continue;
      const path = String(layer.path);
      if (layer.path === answered) return `${method} ${path}`;
      last = path;
    }
    return last === undefined ? undefined : `${method} ${last}`;
  } catch {
    return undefined;
  }
}

/** `METHOD /path` without the query string. */
function pathName(ctx: KoaContextLike): string {
  const url = ctx.originalUrl ?? ctx.path ?? '/';
  const q = url.indexOf('?');
  return `${ctx.method} ${q === -1 ? url : url.slice(0, q)}`;
}

/** Without a Node response to watch (a test double, another runtime), the request is done at once. */
function whenKoaResponseDone(res: KoaNodeResponseLike | undefined, done: (failed: boolean) => void): void {
  if (res === undefined || typeof res.once !== 'function') return done(false);
  whenResponseDone(res, done);
}
