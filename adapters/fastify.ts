/**
 * One querylens unit of work per Fastify request, named by the route pattern (`GET /posts/:id`,
 * prefixes included), or `GET /path` when no route matched (the 404 handler).
 *
 * ```ts
 * const app = Fastify();
 * await app.register(querylensFastify, { lens });
 * ```
 *
 * The plugin skips Fastify's encapsulation (as fastify-plugin does), so its hooks apply to every
 * route of the instance it is registered on, whatever the plugin context the routes live in, and
 * to the 404 handler. Its `onRequest` hook runs the rest of the request lifecycle inside the scope,
 * so every query the request causes (hooks, handler, sync or async) is attributed to it; Fastify
 * itself carries the async context across body parsing. The scope ends when the response has been
 * sent (`onResponse`) or the connection closed (which also covers aborted and hijacked replies).
 *
 * Fastify routes before `onRequest`, so the name is known from the start. Fastify objects are
 * described structurally: fastify is not imported.
 */
import type { Lens } from 'querylens';
import { describeValue, hasMethods, ignore, methodAndPath, RESPONSE_FAILED } from './support.js';

/** The part of a Fastify request this plugin reads. */
export interface FastifyRequestLike {
  readonly method: string;
  /** The URL as received, with its query string. */
  readonly url: string;
  /** Fastify ≥ 4.10: `url` is the route pattern, undefined for the 404 handler. */
  readonly routeOptions?: { readonly url?: string | undefined };
  /** Fastify < 4.10 (removed in 5): the route pattern. */
  readonly routerPath?: string | undefined;
}

/** The part of the Node response this plugin reads (`reply.raw`). */
export interface FastifyNodeResponseLike {
  readonly statusCode: number;
  readonly writableFinished?: boolean;
  once(event: 'close', listener: () => void): unknown;
}

/** The part of a Fastify reply this plugin reads. */
export interface FastifyReplyLike {
  readonly raw: FastifyNodeResponseLike;
}

export type FastifyHookDone = (err?: Error) => void;

/** The part of a Fastify instance this plugin uses (method syntax: Fastify's hook types are richer). */
export interface FastifyInstanceLike {
  addHook(name: 'onRequest' | 'onResponse', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: FastifyHookDone) => void): unknown;
}

/** Options of `app.register(querylensFastify, { lens })`. */
export interface QuerylensFastifyOptions {
  /** The lens whose scopes the requests become (`createLens()`). Required. */
  readonly lens: Lens;
}

export interface QuerylensFastifyPlugin {
  (instance: FastifyInstanceLike, options: QuerylensFastifyOptions, done: FastifyHookDone): void;
  /** fastify-plugin's marker: the hooks go to the instance registering the plugin, not a child context. */
  readonly [key: symbol]: unknown;
}

/**
 * The Fastify plugin: one request scope per request, for every route of the instance it is
 * registered on. Registering it without a lens fails `app.ready()` with a TypeError; a request is
 * never failed by querylens.
 * @example await app.register(querylensFastify, { lens });
 */
export const querylensFastify: QuerylensFastifyPlugin = Object.assign(
  function querylensFastify(instance: FastifyInstanceLike, options: QuerylensFastifyOptions, done: FastifyHookDone): void {
    const lens = (options as Partial<QuerylensFastifyOptions> | undefined)?.lens;
    if (!hasMethods(lens, ['scope'])) {
      done(
        new TypeError(
          `querylens/adapters/fastify: register the plugin with a lens from createLens(), as in app.register(querylensFastify, { lens }); got lens: ${describeValue(lens)}`,
        ),
      );
      return;
    }
    // Ends a request's scope (once); set in onRequest, called from onResponse or the close event.
    const ends = new WeakMap<FastifyRequestLike, (failed: boolean) => void>();

    instance.addHook('onRequest', function querylensOnRequest(request, reply, next) {
      let entered = false;
      let thrown: { readonly error: unknown } | undefined;
      // The scope's work: the rest of the lifecycle (run by `next()`, inside the scope's async
      // context), then the wait for the response to be done.
      const work = (): Promise<void> => {
        entered = true;
        const responded = new Promise<void>((endScope, failScope) => {
          let ended = false;
          const end = (failed: boolean): void => {
            if (ended) return;
            ended = true;
            ends.delete(request);
            if (failed) failScope(RESPONSE_FAILED);
            else endScope();
          };
          ends.set(request, end);
          const raw = reply.raw;
          raw.once('close', () => end(raw.writableFinished !== true || raw.statusCode >= 500));
        });
        try {
          next();
        } catch (error) {
          // Fastify's hook runner handles what its own continuation throws: hand it back (below).
          thrown = { error };
        }
        return responded;
      };
      try {
        // A request scope never rejects for findings; a failed response is Fastify's business.
        lens.scope(() => routeName(request), work, { kind: 'request', fallbackName: methodAndPath(request.method, request.url) }).then(ignore, ignore);
      } catch {
        // not a working lens after all: the request goes on without a scope (below)
      }
      if (thrown !== undefined) throw thrown.error;
      if (!entered) next();
    });

    instance.addHook('onResponse', function querylensOnResponse(request, reply, next) {
      ends.get(request)?.(reply.raw.statusCode >= 500);
      next();
    });
    done();
  },
  {
    // fastify-plugin's conventions, without depending on it.
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'querylens',
    [Symbol.for('plugin-meta')]: { name: 'querylens', fastify: '>=4' },
  },
);

/** `METHOD /route/:pattern`, or undefined for the 404 handler (the fallback name stands). */
function routeName(request: FastifyRequestLike): string | undefined {
  try {
    const pattern = request.routeOptions?.url ?? request.routerPath;
    return pattern === undefined || pattern === '' ? undefined : `${request.method} ${pattern}`;
  } catch {
    return undefined;
  }
}


