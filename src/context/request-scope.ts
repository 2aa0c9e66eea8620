/**
 * One unit of work per HTTP request, for Express and Connect. The scope opens before the rest of
 * the middleware chain runs (so every query the request causes, sync or async, is inside it) and
 * ends when the response finishes or the connection closes, whichever comes first. Its name is the
 * route pattern (`GET /posts/:id`), which the router only knows after matching, so it is resolved
 * lazily and settled at scope end; requests no route matched are named by their path.
 *
 * Request and response are described structurally: no framework types are imported.
 */
import { currentFrame, deriveFrame, runInFrame } from './context-frame.js';
import { Scope } from './scope.js';

export interface RequestLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  /** Express: the URL before routers stripped their mount paths. */
  readonly originalUrl?: string | undefined;
  /** Express: the mount path of the router that matched. */
  readonly baseUrl?: string | undefined;
  /** Express: set once a route matched; `path` is the pattern (`/posts/:id`). */
  readonly route?: { readonly path?: unknown } | undefined;
}

export interface ResponseLike {
  readonly statusCode?: number | undefined;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

export type NextFunctionLike = (err?: unknown) => void;

export type RequestMiddleware = (req: RequestLike, res: ResponseLike, next: NextFunctionLike) => void;

export interface RequestScopeHooks {
  readonly onStart: (scope: Scope) => void;
  /** `failed`: a 5xx status, or the connection closed before the response finished. */
  readonly onEnd: (scope: Scope, endTime: number, failed: boolean) => void;
}

/** `METHOD /mount/route/:pattern` once a route matched, else undefined. */
export function routeScopeName(req: RequestLike): string | undefined {
  const pattern = req.route?.path;
  if (pattern === undefined) return undefined;
  const base = req.baseUrl ?? '';
  const path = typeof pattern === 'string' ? pattern : String(pattern);
  const full = base !== '' && path === '/' ? base : base + path;
  return `${req.method ?? 'GET'} ${full === '' ? '/' : full}`;
}

/** `METHOD /path` without the query string: the name of a request no route matched. */
export function pathScopeName(req: RequestLike): string {
  const url = req.originalUrl ?? req.url ?? '/';
  const q = url.indexOf('?');
  return `${req.method ?? 'GET'} ${q === -1 ? url : url.slice(0, q)}`;
}

export function createRequestMiddleware(hooks: RequestScopeHooks): RequestMiddleware {
  return function querylensRequestScope(req, res, next) {
    const parent = currentFrame();
    const scope = new Scope('request', () => routeScopeName(req), parent?.scope, performance.now(), {
      fallbackName: pathScopeName(req),
    });
    hooks.onStart(scope);
    let finished = false;
    res.once('finish', () => {
      finished = true;
      if (scope.end()) hooks.onEnd(scope, performance.now(), (res.statusCode ?? 200) >= 500);
    });
    res.once('close', () => {
      if (scope.end()) hooks.onEnd(scope, performance.now(), !finished);
    });
    runInFrame(deriveFrame(parent, { scope }), () => next());
  };
}
