/**
 * One querylens unit of work per Hono request, named by the route pattern of the handler that
 * answered (`GET /posts/:id`), or `GET /path` when no route matched.
 *
 * ```ts
 * const app = new Hono();
 * app.use('*', querylensHono(lens)); // first, so every route comes after it
 * app.get('/posts/:id', handler);
 * ```
 *
 * The rest of the chain runs inside the scope, so every query the request causes (sync or async)
 * is attributed to it. On Node (@hono/node-server hands the ServerResponse over as
 * `c.env.outgoing`) the scope stays open until the response has finished or the connection closed,
 * so a streamed body that still queries is part of the request; on other runtimes it ends when the
 * chain has produced the Response.
 *
 * The name is read once the chain has settled: Hono routes before the middleware runs, but only
 * then is it known which matched handler answered (`/posts/:id` and `/posts/new` both match
 * `/posts/new`; the first answers unless it calls `next()`). Until then the scope is called by its
 * path (slow-query records written mid-request show that).
 *
 * Hono objects are described structurally: hono is not imported.
 */
import type { Lens } from 'querylens';
import { describeValue, hasMethods, runRequestScope, whenResponseDone, type NodeResponseLike } from './support.js';

/** A route Hono matched for the request (`app.use`, `app.get`, … registrations). */
export interface HonoRouteLike {
  readonly method: string;
  readonly path: string;
}

/** The part of the Node response this adapter reads (@hono/node-server's `c.env.outgoing`). */
export type HonoNodeResponseLike = NodeResponseLike;

/** The part of a Hono context this adapter reads. */
export interface HonoContextLike {
  readonly req: {
    readonly method: string;
    /** The path without the query string. */
    readonly path: string;
    /** Index into `matchedRoutes` of the handler running (after the chain: that ran last). */
    readonly routeIndex: number;
    readonly matchedRoutes: readonly HonoRouteLike[];
  };
  /** Runtime bindings; on @hono/node-server `{ incoming, outgoing }`. */
  readonly env?: unknown;
  readonly res?: { readonly status?: number };
  readonly error?: Error | undefined;
}

export type HonoNext = () => Promise<void>;

export type QuerylensHonoMiddleware = (c: HonoContextLike, next: HonoNext) => Promise<void>;


/**
 * Hono middleware that opens one request scope per request. Register it first, for every path.
 * Throws a TypeError if `lens` is not a lens; never throws into a request.
 * @example app.use('*', querylensHono(lens));
 */
export function querylensHono(lens: Lens): QuerylensHonoMiddleware {
  if (!hasMethods(lens, ['scope'])) {
    throw new TypeError(
      `querylens/adapters/hono: querylensHono() expects a lens from createLens(), as in app.use('*', querylensHono(createLens())); got ${describeValue(lens)}`,
    );
  }
  return function querylensHonoScope(c, next) {
    return runRequestScope(lens, next, {
      routeName: () => routeName(c),
      fallbackName: pathName(c),
      whenDone: (done) => whenHonoResponseDone(c, done),
    });
  };
}


/**
 * `app.use()` registrations (method ALL, a path ending in `*`) wrap routes; they do not name them.
 * A catch-all handler registered with `app.all('*', …)` looks the same and is named by its path.
 */
function isMiddleware(route: HonoRouteLike): boolean {
  return route.method === 'ALL' && route.path.endsWith('*');
}

/**
 * `METHOD /route/:pattern` of the handler that answered, else of the first matched handler (a
 * middleware answered first, e.g. a 401), else undefined (no route matched: the fallback stands).
 */
function routeName(c: HonoContextLike): string | undefined {
  try {
    const routes = c.req.matchedRoutes;
    const answered = routes[c.req.routeIndex];
    const route = answered !== undefined && !isMiddleware(answered) ? answered : routes.find((r) => !isMiddleware(r));
    return route === undefined ? undefined : `${c.req.method} ${route.path}`;
  } catch {
    return undefined;
  }
}

/** `METHOD /path` (Hono's `c.req.path` has no query string). */
function pathName(c: HonoContextLike): string {
  try {
    return `${c.req.method} ${c.req.path}`;
  } catch {
    return 'HTTP request';
  }
}

/** The Node ServerResponse, when the runtime is @hono/node-server. */
function nodeResponse(c: HonoContextLike): HonoNodeResponseLike | undefined {
  const env = c.env;
  if (env === null || typeof env !== 'object') return undefined;
  const outgoing = (env as { outgoing?: unknown }).outgoing;
  if (outgoing === null || typeof outgoing !== 'object') return undefined;
  return typeof (outgoing as { once?: unknown }).once === 'function' ? (outgoing as HonoNodeResponseLike) : undefined;
}

/**
 * On @hono/node-server, when the Node response is done; elsewhere at once (`failed`: an error or a
 * 5xx status).
 */
function whenHonoResponseDone(c: HonoContextLike, done: (failed: boolean) => void): void {
  const res = nodeResponse(c);
  if (res === undefined) return done(c.error !== undefined || (c.res?.status ?? 200) >= 500);
  whenResponseDone(res, done);
}
