/**
 * HTTP scopes for Fastify, Koa and Hono (querylens/adapters/fastify, koa, hono): a real server on
 * 127.0.0.1 per framework, serving one small blog app against the real PostgreSQL. Concurrent
 * requests are held at a gate until all of them are in flight, so their queries interleave; each
 * request must still be its own scope, named by its route pattern (`GET /posts/:id`) or, when no
 * route matched, by its path, holding exactly its own queries and its own findings.
 */
import { createRequire } from 'node:module';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import { serve } from '@hono/node-server';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type Finding, type Lens, type ScopeEndEvent, type ScopeInfo } from 'querylens';
import { querylensFastify } from 'querylens/adapters/fastify';
import { querylensHono } from 'querylens/adapters/hono';
import { querylensKoa } from 'querylens/adapters/koa';
import { recordEvents, type EventLog } from '../../helpers/record-events.js';
import { tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';
import { here } from '../../helpers/here.js';

// koa 3 ships no type declarations and @types/koa is not a devDependency: load it with the little
// shape these tests use.
interface KoaContext {
  method: string;
  path: string;
  status: number;
  type: string;
  body: unknown;
  params: Record<string, string>;
  query: Record<string, string | string[] | undefined>;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => unknown;
interface KoaApp {
  silent: boolean;
  use(middleware: KoaMiddleware): KoaApp;
  listen(port: number, host: string, callback: () => void): Server;
}
const Koa = createRequire(import.meta.url)('koa') as new () => KoaApp;

let db: TestDatabase;
let admin: pg.Pool;
let s: string;
/** The line of the N+1 loop's query in `createBlog`, as the stack shows it. */
let loopLine = 0;

beforeAll(async () => {
  db = await testDatabase();
  admin = db.pool({ max: 2 });
  s = tableName('http');
  // 4 posts by authors 1 and 2 alternately; post p has comments 5(p-1)+1 … 5p.
  await admin.query(`
    CREATE SCHEMA ${s};
    CREATE TABLE ${s}.posts (id serial PRIMARY KEY, author_id int NOT NULL, title text NOT NULL);
    CREATE TABLE ${s}.comments (id serial PRIMARY KEY, post_id int NOT NULL, body text NOT NULL);
    INSERT INTO ${s}.posts (author_id, title) SELECT 1 + (g - 1) % 2, 'post ' || g FROM generate_series(1, 4) g;
    INSERT INTO ${s}.comments (post_id, body) SELECT 1 + (g - 1) / 5, 'comment ' || g FROM generate_series(1, 20) g;
  `);
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.end();
  await db.close();
});

/** Resolves every waiter once `n` have arrived (or after 5 s, so a broken test fails instead of hanging). */
function createGate(n: number): { wait(): Promise<void>; readonly arrived: number } {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
    setTimeout(resolve, 5000).unref();
  });
  return {
    wait() {
      if (++arrived >= n) open();
      return opened;
    },
    get arrived() {
      return arrived;
    },
  };
}

/** The application: route handlers of every framework call these. */
interface Blog {
  /** Awaited mid-request by the concurrent requests. */
  gate: () => Promise<void>;
  /** N+1: the post's comment ids, then one query per comment. */
  commentsOf(postId: number): Promise<string[]>;
  /** Duplicate: the same query twice. */
  postsBy(authorId: number): Promise<number[]>;
  /** One query: nothing to report. */
  count(): Promise<number>;
  /** The not-found handler's work: a duplicate, so the unmatched request has a finding to show. */
  missing(path: string): Promise<void>;
  /** One query, then a failure. */
  boom(): Promise<never>;
  /**
   * A streamed body produced after the route's handler has returned: two chunks, each after the
   * same query (a duplicate), so the request's scope must last until the response is done.
   */
  feed(write: (chunk: string) => unknown): Promise<void>;
}

function createBlog(pool: pg.Pool): Blog {
  const blog: Blog = {
    gate: () => Promise.resolve(),
    async commentsOf(postId) {
      const { rows } = await pool.query<{ id: number }>(`SELECT id FROM ${s}.comments WHERE post_id = $1 ORDER BY id`, [postId]);
      await blog.gate();
      const bodies: string[] = [];
      for (const row of rows) {
        loopLine = here().line + 1;
        const { rows: found } = await pool.query<{ body: string }>(`SELECT body FROM ${s}.comments WHERE id = $1`, [row.id]);
        bodies.push(found[0]?.body ?? '?');
      }
      return bodies;
    },
    async postsBy(authorId) {
      const first = await pool.query<{ id: number }>(`SELECT id FROM ${s}.posts WHERE author_id = $1 ORDER BY id`, [authorId]);
      await blog.gate();
      await pool.query(`SELECT id FROM ${s}.posts WHERE author_id = $1 ORDER BY id`, [authorId]);
      return first.rows.map((r) => r.id);
    },
    async count() {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.posts`);
      return rows[0]?.n ?? 0;
    },
    async missing(path) {
      await pool.query(`SELECT count(*) FROM ${s}.posts WHERE title = $1`, [path]);
      await pool.query(`SELECT count(*) FROM ${s}.posts WHERE title = $1`, [path]);
    },
    async boom() {
      await pool.query('SELECT 1 AS before_the_failure');
      throw new Error('boom (expected by the test)');
    },
    async feed(write) {
      for (const chunk of ['chunk 1\n', 'chunk 2\n']) {
        await new Promise((r) => setTimeout(r, 20));
        await pool.query(`SELECT title FROM ${s}.posts WHERE id = $1`, [4]);
        await write(chunk);
      }
    },
  };
  return blog;
}

interface Started {
  readonly base: string;
  close(): Promise<void>;
}

/** Starts a framework's server serving `blog`, with the framework's querylens adapter. */
type StartApp = (lens: Lens, blog: Blog) => Promise<Started>;

interface Outcome {
  readonly log: EventLog;
  readonly findings: readonly { readonly finding: Finding; readonly scope: ScopeInfo | undefined }[];
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function getJson(base: string, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(base + path);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (an error page): keep the text
  }
  return { status: res.status, body };
}

/**
 * The scenario every framework runs: three concurrent requests (two on the same route with
 * different ids, one on another route) held at a gate, then a one-query route, an unmatched
 * path and a failing route.
 */
async function runScenario(start: StartApp): Promise<Outcome> {
  const lens = createLens({ mode: 'test', logger: false });
  const log = recordEvents(lens);
  const findings: { finding: Finding; scope: ScopeInfo | undefined }[] = [];
  lens.on('finding', (finding, scope) => void findings.push({ finding, scope }));
  const pool: pg.Pool = lens.instrument(db.pool({ max: 8 }));
  const blog = createBlog(pool);
  const app = await start(lens, blog);
  try {
    const gate = createGate(3);
    blog.gate = () => gate.wait();
    const concurrent = await Promise.all([getJson(app.base, '/posts/1?page=1'), getJson(app.base, '/posts/2'), getJson(app.base, '/authors/1/posts')]);
    expect(gate.arrived).toBe(3);
    blog.gate = () => Promise.resolve();
    expect(concurrent).toEqual([
      { status: 200, body: ['comment 1', 'comment 2', 'comment 3', 'comment 4', 'comment 5'] },
      { status: 200, body: ['comment 6', 'comment 7', 'comment 8', 'comment 9', 'comment 10'] },
      { status: 200, body: [1, 3] },
    ]);
    expect(await getJson(app.base, '/stats')).toEqual({ status: 200, body: { posts: 4 } });
    expect(await getJson(app.base, '/nothing/here?x=1')).toEqual({ status: 404, body: { missing: '/nothing/here' } });
    // querylens never changes the response: the framework's own error handling answers.
    expect((await getJson(app.base, '/boom')).status).toBe(500);
    expect(await getJson(app.base, '/feed')).toEqual({ status: 200, body: 'chunk 1\nchunk 2\n' });
    // Scopes end when the response is done on the server side, which the client need not wait for.
    await waitFor(() => log.scopeEnds().length >= 7, 'seven request scopes to end');
  } finally {
    await app.close();
    await pool.end();
    await lens.close();
  }
  return { log, findings };
}

const sortJson = <T>(items: readonly T[]): T[] => [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** What every framework's scenario must show. */
function expectRequestScopes({ log, findings }: Outcome): void {
  // Every query ran inside a request scope, and each scope holds exactly its own request's queries
  // (the two GET /posts/:id scopes are told apart by their parameters: post id, then comment ids).
  const ends = log.ends();
  expect(ends.filter((e) => e.scope === undefined).map((e) => e.text)).toEqual([]);
  const byScope = new Map<ScopeInfo, unknown[]>();
  for (const e of ends) if (e.scope !== undefined) byScope.set(e.scope, [...(byScope.get(e.scope) ?? []), e.values ?? []]);
  const scopes = [...byScope].map(([scope, values]) => ({ kind: scope.kind, name: scope.name, values }));
  expect(sortJson(scopes)).toEqual(
    sortJson([
      { kind: 'request', name: 'GET /posts/:id', values: [[1], [1], [2], [3], [4], [5]] },
      { kind: 'request', name: 'GET /posts/:id', values: [[2], [6], [7], [8], [9], [10]] },
      { kind: 'request', name: 'GET /authors/:id/posts', values: [[1], [1]] },
      { kind: 'request', name: 'GET /stats', values: [[]] },
      { kind: 'request', name: 'GET /nothing/here', values: [['/nothing/here'], ['/nothing/here']] },
      { kind: 'request', name: 'GET /boom', values: [[]] },
      { kind: 'request', name: 'GET /feed', values: [[4], [4]] },
    ]),
  );

  // Each scope ends once, after its last query (GET /feed: after the streamed body's); only the
  // failed response marks its scope failed.
  const scopeEnds = log.scopeEnds();
  expect(sortJson(scopeEnds.map((e) => [e.scope.name, e.failed]))).toEqual(
    sortJson([
      ['GET /posts/:id', false],
      ['GET /posts/:id', false],
      ['GET /authors/:id/posts', false],
      ['GET /stats', false],
      ['GET /nothing/here', false],
      ['GET /boom', true],
      ['GET /feed', false],
    ]),
  );
  const position = (e: unknown): number => log.events.indexOf(e as (typeof log.events)[number]);
  for (const end of scopeEnds) {
    for (const q of ends.filter((e) => e.scope === end.scope)) expect(position(q)).toBeLessThan(position(end));
  }

  // Each finding lands in its own request's scope, named by the route pattern; GET /stats (one
  // query) and GET /boom report nothing.
  expect(
    sortJson(
      findings.map(({ finding, scope }) => ({
        kind: finding.kind,
        scope: scope?.name,
        sameScope: finding.scope?.id === scope?.id && finding.scope?.name === scope?.name,
        count: finding.count,
      })),
    ),
  ).toEqual(
    sortJson([
      { kind: 'n-plus-one', scope: 'GET /posts/:id', sameScope: true, count: 5 },
      { kind: 'n-plus-one', scope: 'GET /posts/:id', sameScope: true, count: 5 },
      { kind: 'duplicate', scope: 'GET /authors/:id/posts', sameScope: true, count: 2 },
      { kind: 'duplicate', scope: 'GET /nothing/here', sameScope: true, count: 2 },
      // counted although both queries ran after the handler returned: the scope lasts until the response is done
      { kind: 'duplicate', scope: 'GET /feed', sameScope: true, count: 2 },
    ]),
  );
  const loops = findings.filter(({ finding }) => finding.kind === 'n-plus-one');
  // one per request, not one for both: repeats split across scopes never add up
  expect(new Set(loops.map(({ scope }) => scope))).toHaveProperty('size', 2);
  for (const { finding, scope } of loops) {
    expect(finding.distinctParams).toBe(5);
    expect(finding.callsite).toMatchObject({ file: expect.stringMatching(/http\.test\.ts$/), line: loopLine });
    // the finding's scope is the one whose queries it counted
    expect(scope === undefined ? undefined : byScope.get(scope)?.length).toBe(6);
  }
}

/** The scope name each query sees when it starts, read then (which settles a lazy name that answers). */
function readNamesAtQueryStart(lens: Lens): (string | undefined)[] {
  const names: (string | undefined)[] = [];
  lens.addSink({ name: 'names-at-query-start', accepts: ['query-start'], handle: (e) => void (e.type === 'query-start' && names.push(e.scope?.name)) });
  return names;
}

function baseOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((err?: Error) => (err ? reject(err) : resolve())));
}

/** POSTs a JSON body in two parts, the second after a pause, so the body arrives after the headers. */
function postSlowly(base: string, path: string, body: string): Promise<{ status: number; body: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.flushHeaders();
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    setTimeout(() => req.end(body.slice(half)), 50);
  });
}

describe('Fastify: app.register(querylensFastify, { lens })', () => {
  const startFastify: StartApp = async (lens, blog) => {
    const app = Fastify();
    await app.register(querylensFastify, { lens });
    // The routes live in a sibling plugin context: the querylens hooks reach them only because the
    // plugin skips encapsulation, as fastify-plugin does.
    await app.register(async (routes) => {
      routes.get<{ Params: { id: string } }>('/posts/:id', async (req) => blog.commentsOf(Number(req.params.id)));
      routes.get<{ Params: { id: string } }>('/authors/:id/posts', async (req) => blog.postsBy(Number(req.params.id)));
      routes.get('/stats', async () => ({ posts: await blog.count() }));
      routes.get('/boom', async () => blog.boom());
      routes.get('/feed', (_req, reply) => {
        const body = new PassThrough();
        blog.feed((chunk) => body.write(chunk)).then(() => body.end(), (err: unknown) => body.destroy(err as Error));
        return reply.type('text/plain').send(body);
      });
    });
    app.setNotFoundHandler(async (req, reply) => {
      const path = req.url.split('?')[0] ?? '';
      await blog.missing(path);
      return reply.code(404).send({ missing: path });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { base: baseOf(app.server), close: () => app.close() };
  };

  it('gives each request its own scope named by the route pattern, and names unmatched requests by path', async () => {
    expectRequestScopes(await runScenario(startFastify));
  });

  it('keeps the scope across a body that arrives after the headers, and names prefixed routes in full', async () => {
    const lens = createLens({ mode: 'test', logger: false });
    const log = recordEvents(lens);
    const findings: string[] = [];
    lens.on('finding', (f, scope) => void findings.push(`${f.kind}@${scope?.name ?? '-'}`));
    const pool: pg.Pool = lens.instrument(db.pool({ max: 4 }));
    const app = Fastify();
    await app.register(querylensFastify, { lens });
    await app.register(
      async (api) => {
        api.post<{ Params: { id: string }; Body: { body: string } }>('/posts/:id/comments', async (req) => {
          const id = Number(req.params.id);
          // the same lookup twice: a duplicate, which must land in this request's scope
          await pool.query(`SELECT id FROM ${s}.posts WHERE id = $1`, [id]);
          await pool.query(`SELECT id FROM ${s}.posts WHERE id = $1`, [id]);
          return { post: id, body: req.body.body };
        });
      },
      { prefix: '/api' },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await postSlowly(baseOf(app.server), '/api/posts/3/comments?draft=1', JSON.stringify({ body: 'a comment long enough to be split' }));
      expect(res).toEqual({ status: 200, body: JSON.stringify({ post: 3, body: 'a comment long enough to be split' }) });
      await waitFor(() => log.scopeEnds().length >= 1, 'the request scope to end');
    } finally {
      await app.close();
      await pool.end();
      await lens.close();
    }
    expect(log.ends().map((e) => e.scope?.name)).toEqual(['POST /api/posts/:id/comments', 'POST /api/posts/:id/comments']);
    expect(findings).toEqual(['duplicate@POST /api/posts/:id/comments']);
  });

  it('fails app.ready() with a TypeError saying what to pass when registered without a lens', async () => {
    const app = Fastify();
    await expect(app.register(querylensFastify, {} as never).ready()).rejects.toThrow(
      /querylens\/adapters\/fastify: register the plugin with a lens from createLens\(\), as in app\.register\(querylensFastify, \{ lens \}\); got lens: undefined/,
    );
    await app.close();
    const other = Fastify();
    await expect(other.register(querylensFastify, { lens: { middleware() {} } } as never).ready()).rejects.toThrow(TypeError);
    await other.close();
  });
});

describe('Koa: app.use(querylensKoa(lens)) before the router', () => {
  const startKoa: StartApp = async (lens, blog) => {
    const app = new Koa();
    app.silent = true; // the failing route's error is expected: keep it off stderr
    app.use(querylensKoa(lens));
    const router = new Router();
    router.get('/posts/:id', async (ctx: KoaContext) => void (ctx.body = await blog.commentsOf(Number(ctx.params['id']))));
    router.get('/stats', async (ctx: KoaContext) => void (ctx.body = { posts: await blog.count() }));
    router.get('/boom', async () => blog.boom());
    router.get('/feed', (ctx: KoaContext) => {
      const body = new PassThrough();
      blog.feed((chunk) => body.write(chunk)).then(() => body.end(), (err: unknown) => body.destroy(err as Error));
      ctx.type = 'text/plain';
      ctx.body = body;
    });
    const authors = new Router({ prefix: '/authors' });
    authors.get('/:id/posts', async (ctx: KoaContext) => void (ctx.body = await blog.postsBy(Number(ctx.params['id']))));
    app.use(router.routes() as unknown as KoaMiddleware);
    app.use(authors.routes() as unknown as KoaMiddleware);
    app.use(async (ctx) => {
      await blog.missing(ctx.path);
      ctx.status = 404;
      ctx.body = { missing: ctx.path };
    });
    const server = await new Promise<Server>((resolve) => {
      const started = app.listen(0, '127.0.0.1', () => resolve(started));
    });
    return { base: baseOf(server), close: () => closeServer(server) };
  };

  it('gives each request its own scope named by the route pattern, and names unmatched requests by path', async () => {
    expectRequestScopes(await runScenario(startKoa));
  });

  it('names a request answered by router middleware (a 401) by its route, not by the middleware path', async () => {
    const lens = createLens({ mode: 'test', logger: false });
    const log = recordEvents(lens);
    const namesWhileRunning = readNamesAtQueryStart(lens);
    const pool: pg.Pool = lens.instrument(db.pool({ max: 2 }));
    const app = new Koa();
    app.use(querylensKoa(lens));
    const router = new Router();
    // Router-level middleware: while it runs, @koa/router reports its own path as the matched route.
    router.use(async (ctx: KoaContext, next: () => Promise<void>) => {
      await pool.query('SELECT 1 AS auth_check');
      if (ctx.query['deny'] !== undefined) ctx.status = 401;
      else await next();
    });
    router.get('/posts/:id', (ctx: KoaContext) => void (ctx.body = { id: ctx.params['id'] }));
    app.use(router.routes() as unknown as KoaMiddleware);
    const server = await new Promise<Server>((resolve) => {
      const started = app.listen(0, '127.0.0.1', () => resolve(started));
    });
    try {
      expect((await fetch(`${baseOf(server)}/posts/7?deny=1`)).status).toBe(401);
      expect((await fetch(`${baseOf(server)}/posts/8`)).status).toBe(200);
      await waitFor(() => log.scopeEnds().length >= 2, 'two request scopes to end');
    } finally {
      await closeServer(server);
      await pool.end();
      await lens.close();
    }
    // Read mid-request (as a slow-query record would), the name is the path: the route is only
    // settled once the router is done, so a router middleware's path never sticks.
    expect(namesWhileRunning).toEqual(['GET /posts/7', 'GET /posts/8']);
    expect(log.ends().map((e) => e.scope?.name)).toEqual(['GET /posts/:id', 'GET /posts/:id']);
    expect(log.scopeEnds().map((e) => e.scope.name)).toEqual(['GET /posts/:id', 'GET /posts/:id']);
  });

  it('throws a TypeError saying what to pass for anything but a lens', async () => {
    expect(() => querylensKoa(undefined as never)).toThrow(/querylens\/adapters\/koa: querylensKoa\(\) expects a lens from createLens\(\).*got undefined/);
    const pool = db.pool();
    expect(() => querylensKoa(pool as never)).toThrow(/got a (BoundPool|Pool)/);
    await pool.end();
  });
});

describe("Hono: app.use('*', querylensHono(lens))", () => {
  const startHono: StartApp = async (lens, blog) => {
    const app = new Hono();
    app.use('*', querylensHono(lens));
    app.get('/posts/:id', async (c) => c.json(await blog.commentsOf(Number(c.req.param('id')))));
    app.get('/stats', async (c) => c.json({ posts: await blog.count() }));
    app.get('/boom', async () => blog.boom());
    app.get('/feed', (c) => stream(c, (out) => blog.feed((chunk) => out.write(chunk))));
    const authors = new Hono();
    authors.get('/:id/posts', async (c) => c.json(await blog.postsBy(Number(c.req.param('id')))));
    app.route('/authors', authors);
    app.notFound(async (c) => {
      await blog.missing(c.req.path);
      return c.json({ missing: c.req.path }, 404);
    });
    app.onError((_err, c) => c.text('failed', 500)); // the default handler logs the expected error
    const server = await new Promise<Server>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started as Server));
    });
    return { base: baseOf(server), close: () => closeServer(server) };
  };

  it('gives each request its own scope named by the route pattern, and names unmatched requests by path', async () => {
    expectRequestScopes(await runScenario(startHono));
  });

  it('names a request answered by middleware (a 401) by the route it matched, not by the middleware pattern', async () => {
    const lens = createLens({ mode: 'test', logger: false });
    const log = recordEvents(lens);
    const namesWhileRunning = readNamesAtQueryStart(lens);
    const pool: pg.Pool = lens.instrument(db.pool({ max: 2 }));
    const app = new Hono();
    app.use('*', querylensHono(lens));
    app.use('/posts/*', async (c, next) => {
      await pool.query('SELECT 1 AS auth_check');
      if (c.req.query('deny') !== undefined) return c.text('denied', 401);
      await next();
      return undefined;
    });
    app.get('/posts/:id', (c) => c.json({ id: c.req.param('id') }));
    const server = await new Promise<Server>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started as Server));
    });
    try {
      expect((await fetch(`${baseOf(server)}/posts/7?deny=1`)).status).toBe(401);
      expect((await fetch(`${baseOf(server)}/posts/8`)).status).toBe(200);
      await waitFor(() => log.scopeEnds().length >= 2, 'two request scopes to end');
    } finally {
      await closeServer(server);
      await pool.end();
      await lens.close();
    }
    expect(namesWhileRunning).toEqual(['GET /posts/7', 'GET /posts/8']);
    expect(log.scopeEnds().map((e: ScopeEndEvent) => e.scope.name)).toEqual(['GET /posts/:id', 'GET /posts/:id']);
  });

  it('throws a TypeError saying what to pass for anything but a lens', () => {
    expect(() => querylensHono({} as never)).toThrow(/querylens\/adapters\/hono: querylensHono\(\) expects a lens from createLens\(\).*got a plain object/);
  });
});
