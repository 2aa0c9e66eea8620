/**
 * `querylens demo`: querylens finding real problems in a real service, with no database to set up.
 *
 * With `DATABASE_URL` unset (or `--embedded`), an embedded PostgreSQL — PGlite, served over the
 * wire protocol by pglite-socket — is started in-process and used through an ordinary `pg.Pool`;
 * otherwise the demo works in a schema of its own (`querylens_demo`) of that database and drops it
 * at the end. It seeds a blog (demo-seed.ts), runs the Express service of demo-app.ts on
 * 127.0.0.1:0 with `lens.middleware()`, calls each route with `fetch`, and prints what querylens
 * reports, as a developer would see it in the console: the N+1, the duplicate, the write loop, the
 * slow query with its plan and index hint, nothing for the fixed routes, the primary-key cache's
 * miss → hit → schema change → miss, and the top-queries table.
 *
 * The demo checks itself: a missing finding, a finding on a fixed route or cached rows that differ
 * from a fresh read make it exit with 1. Everything it starts (server, pool, PGlite) is closed.
 * pg, express and (for the embedded database) the PGlite packages are loaded lazily, so a missing
 * one is a one-line message, not a stack trace.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { createLens, formatTopQueries, type Finding, type Lens, type LoggerLike, type PkCache, type PlanSummary } from '../index.js';
import { SEED_COUNTS, seedBlog, type ProgressSink } from './demo-seed.js';

export interface DemoIo {
  readonly stdout: { write(s: string): unknown };
  /** Progress goes here; a TTY (`isTTY`) gets a redrawn bar. */
  readonly stderr: ProgressSink;
}

export interface DemoOptions {
  /** The database to use; undefined: start the embedded one. */
  readonly databaseUrl?: string | undefined;
  /** Schema the demo creates (and drops) in a `databaseUrl` database. Default 'querylens_demo'. */
  readonly schema?: string | undefined;
  /** Also print querylens's debug records (why an EXPLAIN failed, …). */
  readonly verbose?: boolean;
}

/** A setup problem the user fixes (a missing package, a bad schema name): one line, exit code 2. */
export class DemoSetupError extends Error {
  readonly code = 'QUERYLENS_DEMO_SETUP';

  constructor(message: string) {
    super(message);
    this.name = 'DemoSetupError';
  }
}

const DEFAULT_SCHEMA = 'querylens_demo';
/** How long to wait for querylens to report a request (scope end, EXPLAIN for the slow-query record). */
const REPORT_WAIT_MS = 5000;
const EMAIL = 'reader42@example.com';
const TAGS = ['postgres', 'performance', 'indexes', 'sql', 'caching', 'testing'];
const WARMUP: readonly (readonly ['GET' | 'POST', string])[] = [
  ['GET', '/feed'],
  ['GET', '/feed/fixed'],
  ['GET', '/posts/7'],
  ['GET', '/posts/7/fixed'],
  ['POST', '/posts/7/tags'],
  ['POST', '/posts/8/tags/fixed'],
  ['GET', `/comments?by=${encodeURIComponent(EMAIL)}`],
];

type Kind = Finding['kind'];

const KIND_NAMES: Readonly<Record<Kind, readonly [string, string]>> = {
  'n-plus-one': ['N+1', 'N+1s'],
  duplicate: ['duplicate', 'duplicates'],
  'batchable-writes': ['write loop', 'write loops'],
  'slow-query': ['slow query', 'slow queries'],
  'large-result': ['large result', 'large results'],
  'query-budget': ['query budget', 'query budgets'],
};

const kindName = (kind: Kind, n = 1): string => KIND_NAMES[kind][n === 1 ? 0 : 1];

interface LogRecord {
  readonly level: 'warn' | 'error' | 'debug';
  readonly fields: Readonly<Record<string, unknown>>;
  readonly msg: string;
}

/** The lens's logger: keeps its records so the demo prints them under the request that caused them. */
class RecordingLogger implements LoggerLike {
  readonly records: LogRecord[] = [];
  readonly #debug: boolean;

  constructor(debug: boolean) {
    this.#debug = debug;
  }

  warn(obj: object, msg?: string): void {
    this.records.push({ level: 'warn', fields: obj as Record<string, unknown>, msg: msg ?? '' });
  }

  error(obj: object, msg?: string): void {
    this.records.push({ level: 'error', fields: obj as Record<string, unknown>, msg: msg ?? '' });
  }

  debug(obj: object, msg?: string): void {
    if (this.#debug) this.records.push({ level: 'debug', fields: obj as Record<string, unknown>, msg: msg ?? '' });
  }

  info(): void {}

  isLevelEnabled(level: string): boolean {
    return level === 'warn' || level === 'error' || level === 'fatal' || (this.#debug && level === 'debug');
  }
}

/** A module the demo loads lazily; a missing package becomes a DemoSetupError saying what to install. */
async function need<T>(load: Promise<T>, missing: string): Promise<T> {
  try {
    return await load;
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND') throw new DemoSetupError(missing);
    throw err;
  }
}

interface DemoDatabase {
  readonly url: string;
  readonly description: string;
  /** The schema the demo works in (URL databases), or undefined (the embedded one is fresh). */
  readonly schema: string | undefined;
  close(): Promise<void>;
}

async function startEmbedded(): Promise<DemoDatabase> {
  const missing =
    'the embedded database needs @electric-sql/pglite and @electric-sql/pglite-socket: npm install --save-dev @electric-sql/pglite @electric-sql/pglite-socket (or set DATABASE_URL to use your own PostgreSQL)';
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    need(import('@electric-sql/pglite'), missing),
    need(import('@electric-sql/pglite-socket'), missing),
  ]);
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 16 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    description: `embedded PostgreSQL (PGlite, served over the wire protocol on ${address})`,
    schema: undefined,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}

function urlDatabase(url: string, schema: string): DemoDatabase {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new DemoSetupError(`"${schema}" is not a usable schema name for the demo (lower-case letters, digits, _)`);
  return {
    url,
    description: `DATABASE_URL (${url.replace(/\/\/[^@/]*@/, '//')}), schema ${schema}`,
    schema,
    close: async () => undefined,
  };
}

/** The directory of querylens's package.json: call sites are shown relative to it. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return process.cwd();
}

/**
 * Built code (dist/…/*.js) run from a checkout: map call sites back to the TypeScript source, which
 * is there to open. Enabled before demo-app is loaded, so its source map is read.
 */
function mapToSource(): void {
  if (!import.meta.url.endsWith('.js') || process.sourceMapsEnabled) return;
  if (existsSync(fileURLToPath(new URL('../../../src/cli/demo-app.ts', import.meta.url)))) process.setSourceMapsEnabled(true);
}

function fmtMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** Runs `text` `runs` times on `client` and returns the durations (after one warming run, not counted). */
async function timings(client: pg.Client, text: string, values: readonly unknown[], runs: number): Promise<number[]> {
  await client.query(text, [...values]);
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await client.query(text, [...values]);
    out.push(performance.now() - t);
  }
  return out;
}

interface Calibration {
  readonly thresholdMs: number;
  readonly slowMs: number;
  readonly fastMs: number;
}

/**
 * The slow-query threshold for this database and machine: 70 % of the fastest run of the
 * unindexed search, so that it is reported every time, while the demo's indexed statements stay
 * far below it (their slowest run, hiccups of a busy machine included, is shown for comparison).
 * A real service keeps the default (200 ms in development).
 */
async function calibrate(client: pg.Client, app: typeof import('./demo-app.js')): Promise<Calibration> {
  const slow = Math.min(...(await timings(client, app.COMMENTS_BY_EMAIL_SQL, [EMAIL], 3)));
  const latest = (await client.query<{ id: number }>(app.LATEST_POSTS_SQL)).rows.map((r) => r.id);
  const fast = Math.max(
    ...(await timings(client, app.COMMENTS_OF_POSTS_SQL, [latest], 10)),
    ...(await timings(client, app.COMMENTS_OF_POST_SQL, [latest[0]], 10)),
    ...(await timings(client, app.LATEST_POSTS_SQL, [], 10)),
    ...(await timings(client, 'UPDATE authors SET name = name WHERE id = $1', [1], 10)),
  );
  return { thresholdMs: Math.max(0.5, Math.round(slow * 7) / 10), slowMs: slow, fastMs: fast };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the demo server has no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/** Runs the demo; returns the exit code (0: every check passed, 1: a check failed). */
export async function runDemo(io: DemoIo, options: DemoOptions = {}): Promise<number> {
  const started = performance.now();
  const print = (s = ''): void => void io.stdout.write(`${s}\n`);
  const pgModule = await need(import('pg'), 'the demo needs the "pg" package: npm install pg');
  const { Pool, Client } = (pgModule as { default?: typeof pg }).default ?? (pgModule as unknown as typeof pg);
  mapToSource();
  const app = await need(import('./demo-app.js'), 'the demo runs an Express service: npm install --save-dev express');

  const database = options.databaseUrl === undefined ? await startEmbedded() : urlDatabase(options.databaseUrl, options.schema ?? DEFAULT_SCHEMA);
  const connection: pg.ClientConfig = {
    connectionString: database.url,
    connectionTimeoutMillis: 5000,
    ...(database.schema === undefined ? {} : { options: `-c search_path=${database.schema}` }),
  };
  const failures: string[] = [];
  let fixedReported = false;
  let raw: pg.Client | undefined;
  let pool: pg.Pool | undefined;
  let server: Server | undefined;
  let cache: PkCache | undefined;
  let lens: Lens | undefined;
  let schemaCreated = false;
  try {
    // The seeding, migration and checking connection: not instrumented, like a migration tool's.
    const client = new Client(connection);
    raw = client;
    client.on('error', () => undefined);
    await client.connect();
    const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
    print(`querylens demo — ${database.description}, PostgreSQL ${version}`);
    if (database.schema !== undefined) {
      await client.query(`DROP SCHEMA IF EXISTS ${database.schema} CASCADE`);
      await client.query(`CREATE SCHEMA ${database.schema}`);
      schemaCreated = true;
    }
    const seedStart = performance.now();
    const rows = await seedBlog(client, io.stderr);
    const c = SEED_COUNTS;
    print(
      `seeded a blog: ${c.authors} authors, ${c.posts.toLocaleString('en-US')} posts, ${c.comments.toLocaleString('en-US')} comments, ${c.tags} tags, ${c.postTags.toLocaleString('en-US')} post_tags (${rows.toLocaleString('en-US')} rows, ${fmtMs(performance.now() - seedStart)})`,
    );
    const cal = await calibrate(client, app);
    print(
      `slow-query threshold: ${cal.thresholdMs} ms (calibrated here: the unindexed search takes ~${fmtMs(cal.slowMs)}, indexed statements at most ${fmtMs(cal.fastMs)}; a real service keeps the default, 200 ms)`,
    );
    if (cal.fastMs * 1.5 > cal.thresholdMs) print('note: this machine is busy (indexed statements come close to the threshold): a fast statement may be reported as slow too');

    const logger = new RecordingLogger(options.verbose === true);
    lens = createLens({
      mode: 'development',
      root: packageRoot(),
      logger,
      slowQuery: { thresholdMs: cal.thresholdMs, explain: true },
    });
    const findings: Finding[] = [];
    lens.on('finding', (f) => void findings.push(f));
    let scopesEnded = 0;
    let queries = 0;
    lens.addSink({
      name: 'demo-progress',
      accepts: ['scope-end', 'query-end'],
      handle: (event) => {
        if (event.type === 'scope-end') scopesEnded++;
        else queries++;
      },
    });
    const appPool = new Pool({ ...connection, max: 4 });
    pool = appPool;
    appPool.on('error', () => undefined);
    const pkCache = lens.cache();
    cache = pkCache;
    server = createServer(app.createDemoApp({ pool: appPool, cache: pkCache, middleware: lens.middleware() }));
    const base = await listen(server);
    // One uninstrumented pass over the routes first (the cached one aside): first executions pay
    // for catalog lookups and planning, which would blur the timings the slow-query log reads.
    for (const [method, path] of WARMUP) {
      const body = method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tags: TAGS }) } : {};
      await (await fetch(`${base}${path}`, { method, ...body })).arrayBuffer();
    }
    lens.instrument(appPool);
    print(`service: Express on ${base}, app.use(lens.middleware()), lens.instrument(pool), lens in development mode`);

    const printRecords = (from: number): number => {
      const records = logger.records.slice(from);
      for (const r of records) for (const line of formatRecord(r)) print(line);
      return records.filter((r) => r.level !== 'debug').length;
    };

    /**
     * One request: prints its header and response line, waits until querylens has reported on it,
     * prints what it reported and checks that against `expected` (empty: a fixed route).
     */
    const request = async (method: 'GET' | 'POST', path: string, title: string, expected: readonly Kind[], body?: unknown): Promise<void> => {
      print();
      print(`▶ ${method} ${path}  (${title})`);
      const fromRecord = logger.records.length;
      const fromFinding = findings.length;
      const scopesBefore = scopesEnded;
      const queriesBefore = queries;
      const t = performance.now();
      const res = await fetch(`${base}${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const json: unknown = await res.json();
      const took = performance.now() - t;
      // Findings are reported when the request's unit of work ends (the response finished); the
      // slow-query record waits for its EXPLAIN.
      await until(() => scopesEnded > scopesBefore, REPORT_WAIT_MS);
      if (expected.includes('slow-query')) await until(() => logger.records.slice(fromRecord).some((r) => r.fields['querylens'] === 'slow-query'), REPORT_WAIT_MS);
      print(`  ${res.status} ${res.statusText} · ${describeBody(json)} · ${plural(queries - queriesBefore, 'query', 'queries')} · ${fmtMs(took)}`);
      const printed = printRecords(fromRecord);
      const kinds = findings.slice(fromFinding).map((f) => f.kind);
      if (expected.length === 0) {
        if (kinds.length === 0 && printed === 0) print('  ✓ querylens: no findings');
        else {
          fixedReported = true;
          failures.push(`${method} ${path} is fixed, yet querylens reported ${kinds.map((k) => kindName(k)).join(', ')}`);
        }
      }
      for (const kind of expected) {
        if (!kinds.includes(kind)) failures.push(`${method} ${path}: expected a ${kindName(kind)} finding, got ${kinds.length === 0 ? 'none' : kinds.map((k) => kindName(k)).join(', ')}`);
      }
      if (!res.ok) failures.push(`${method} ${path} answered ${res.status}`);
    };

    await request('GET', '/feed', 'N+1: the latest posts, then each post’s comments, one query per post', ['n-plus-one']);
    await request('GET', '/feed/fixed', 'fixed: all the comments in one LATERAL join', []);
    await request('GET', '/posts/42', 'duplicate: the byline and the author card load the same author', ['duplicate']);
    await request('GET', '/posts/42/fixed', 'fixed: the author loaded once', []);
    await request('POST', '/posts/42/tags', `write loop: one INSERT per tag, ${TAGS.length} tags`, ['batchable-writes'], { tags: TAGS });
    await request('POST', '/posts/43/tags/fixed', 'fixed: one INSERT … SELECT for all the tags', [], { tags: TAGS });
    await request('GET', `/comments?by=${encodeURIComponent(EMAIL)}`, 'slow: a search on an unindexed column', ['slow-query']);
    print();
    print('▶ migration: CREATE INDEX comments_lower_email_idx ON comments (lower(commenter_email))  (the index the hint points at: on the expression the search compares)');
    await client.query('CREATE INDEX comments_lower_email_idx ON comments (lower(commenter_email))');
    await client.query('ANALYZE comments');
    await request('GET', `/comments?by=${encodeURIComponent(EMAIL)}`, 'fixed: the same search, now an index scan', []);

    // The primary-key cache: miss → hit → schema change → miss, each time checked against a fresh read.
    const fresh = async (): Promise<unknown[]> => {
      const ids = (await client.query<{ id: number }>(app.POPULAR_POSTS_SQL)).rows.map((r) => r.id);
      const byId = new Map((await client.query<{ id: number }>('SELECT * FROM posts WHERE id = ANY($1::int[])', [ids])).rows.map((r) => [r.id, r]));
      return JSON.parse(JSON.stringify(ids.map((id) => byId.get(id)))) as unknown[];
    };
    const cached = async (label: string, expected: 'hit' | 'miss'): Promise<void> => {
      const before = pkCache.stats();
      const t = performance.now();
      const res = await fetch(`${base}/posts/popular`);
      const rows = (await res.json()) as Record<string, unknown>[];
      const took = performance.now() - t;
      const after = pkCache.stats();
      const outcome = after.hits > before.hits ? 'hit' : after.misses > before.misses ? 'miss' : 'bypass';
      const same = JSON.stringify(rows) === JSON.stringify(await fresh());
      const why = outcome === 'hit' ? 'primary keys from the cache, rows read fresh by primary key' : 'ran the query, cached its primary keys';
      print(`  ${label}: cache ${outcome} (${why}) · ${rows.length} rows · ${fmtMs(took)}`);
      print(`    columns: ${Object.keys(rows[0] ?? {}).join(', ')}`);
      print(`    posts:   ${rows.map((r) => `#${String(r['id'])} "${String(r['title'])}"`).join(', ')}`);
      print(`    ${same ? '✓ same rows as a fresh uncached read' : '✗ the rows differ from a fresh uncached read'}`);
      if (!same) failures.push(`GET /posts/popular (${label}): the cached rows differ from a fresh read`);
      if (outcome !== expected) failures.push(`GET /posts/popular (${label}): expected a cache ${expected}, got a ${outcome}`);
    };
    print();
    print('▶ GET /posts/popular ×2  (primary-key cache: the five most commented posts)');
    await cached('1st call', 'miss');
    await cached('2nd call', 'hit');
    print();
    print('▶ migration: ALTER TABLE posts ADD COLUMN reading_minutes int NOT NULL DEFAULT 4  (through the instrumented pool)');
    // lens.ignore: the lens sees the DDL (the cache's schema hash changes) but reports nothing on it.
    await lens.ignore(() => appPool.query('ALTER TABLE posts ADD COLUMN reading_minutes int NOT NULL DEFAULT 4'));
    print();
    print('▶ GET /posts/popular  (after the schema change)');
    await cached('3rd call', 'miss');

    print();
    print('▶ top queries (lens.stats())');
    for (const line of formatTopQueries(lens.stats(), { limit: 8, width: 120 }).split('\n')) print(`  ${line}`);

    print();
    const byKind = new Map<Kind, number>();
    for (const f of findings) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    const found = [...byKind].map(([k, n]) => `${n} ${kindName(k, n)}`).join(', ');
    print(`querylens found ${found === '' ? 'nothing' : found}; the fixed routes: ${fixedReported ? 'see above' : 'nothing'}. Demo finished in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    if (failures.length > 0) {
      print('demo checks failed:');
      for (const f of failures) print(`  ✗ ${f}`);
      return 1;
    }
    return 0;
  } finally {
    // Close everything this run started, whatever failed; closing errors are not the story.
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
    await cache?.close().catch(() => undefined);
    await lens?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    if (schemaCreated) await raw?.query(`DROP SCHEMA IF EXISTS ${database.schema} CASCADE`).catch(() => undefined);
    await raw?.end().catch(() => undefined);
    await database.close().catch(() => undefined);
  }
}

/** A lens log record as the developer's console shows it (the default logger's compact format, without the time). */
function formatRecord(r: LogRecord): string[] {
  const [first = '', ...rest] = r.msg.split('\n');
  const lines = [`  ${r.level.toUpperCase()} querylens: ${first}`, ...rest.map((line) => `  ${line}`)];
  const plan = r.fields['plan'] as PlanSummary | undefined;
  if (plan !== undefined) {
    const scans = plan.seqScans.map((scan) => `; Seq Scan on ${scan.table} (${scan.tableRows.toLocaleString('en-US')} rows)${scan.filter === undefined ? '' : ` filter ${scan.filter}`}`);
    lines.push(`    plan:   ${plan.node}, cost ${Math.round(plan.totalCost)}, ~${plan.estimatedRows} rows${scans.join('')}`);
  } else if (r.fields['plan_unavailable'] !== undefined) {
    lines.push(`    plan:   unavailable (${String(r.fields['plan_unavailable'])})`);
  }
  const text = r.fields['db.query.text'];
  if (typeof text === 'string') lines.push(`    sql:    ${text.replace(/\s+/g, ' ')}`);
  return lines;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A few words on what a route answered. */
function describeBody(json: unknown): string {
  if (Array.isArray(json)) {
    const comments = json.reduce<number>((n, x) => n + (Array.isArray((x as { comments?: unknown }).comments) ? (x as { comments: unknown[] }).comments.length : 0), 0);
    return comments > 0 ? `${json.length} posts, ${comments} comments` : `${json.length} rows`;
  }
  if (json !== null && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    if (typeof o['tagged'] === 'number') return `${o['tagged']} tags added`;
    if (typeof o['title'] === 'string') return `"${o['title']}" by ${String(o['byline'])}`;
  }
  return 'ok';
}
