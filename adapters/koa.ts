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
import { describeValue, hasMethods, methodAndPath, runRequestScope, whenResponseDone, type NodeResponseLike } from './support.js';

/** The part of a @koa/router layer this adapter reads. */
export interface KoaRouterLayerLike {
  readonly path?: unknown;
  readonly methods?: readonly string[];
}

/** The part of the Node response this adapter reads (Koa's `ctx.res`). */
export type KoaNodeResponseLike = NodeResponseLike;

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


/**
 * Koa middleware that opens one request scope per request. Register it before the router.
 * Throws a TypeError if `lens` is not a lens; never throws into a request.
 * @example app.use(querylensKoa(lens));
 */
export function querylensKoa(lens: Lens): QuerylensKoaMiddleware {
  if (!hasMethods(lens, ['scope'])) {
    throw new TypeError(
      `querylens/adapters/koa: querylensKoa() expects a lens from createLens(), as in app.use(querylensKoa(createLens())); got ${describeValue(lens)}`,
    );
  }
  return function querylensKoaScope(ctx, next) {
    return runRequestScope(lens, next, {
      routeName: () => routeName(ctx),
      fallbackName: methodAndPath(ctx.method, ctx.originalUrl ?? ctx.path ?? '/'),
      whenDone: (done) => whenKoaResponseDone(ctx.res, done),
    });
  };
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


/** Without a Node response to watch (a test double, another runtime), the request is done at once. */
function whenKoaResponseDone(res: KoaNodeResponseLike | undefined, done: (failed: boolean) => void): void {
  if (res === undefined || typeof res.once !== 'function') return done(false);
  whenResponseDone(res, done);
}
