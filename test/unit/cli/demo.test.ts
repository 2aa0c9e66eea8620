/**
 * `querylens demo` end to end, through `runCli` with captured output: on the embedded database
 * (forced with --embedded even when a PostgreSQL is running), then on the test database through
 * DATABASE_URL. The assertions read what a developer reads: the findings printed under each
 * request, with call sites pointing at the lines of demo-app.ts that issued the queries.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../../src/cli/main.js';
import { tableName, testDatabase } from '../../helpers/database.js';

interface Captured {
  readonly io: CliIo;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

function capture(env: Record<string, string | undefined>): Captured {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env,
    readStdin: async () => '',
  };
  return { io, stdout: () => out, stderr: () => err };
}

const APP_FILE = 'src/cli/demo-app.ts';
const APP_LINES = readFileSync(new URL(`../../../${APP_FILE}`, import.meta.url), 'utf8').split('\n');

/** The 1-based line of demo-app.ts containing `marker` (exactly one). */
function lineOf(marker: string): number {
  const lines = APP_LINES.flatMap((l, i) => (l.includes(marker) ? [i + 1] : []));
  if (lines.length !== 1) throw new Error(`marker ${JSON.stringify(marker)} is on ${lines.length} lines of ${APP_FILE}`);
  return lines[0]!;
}

/** The output of one step: from its "▶ <start>" header to the next header. */
function section(output: string, start: string): string {
  const parts = output.split('\n▶ ');
  const found = parts.filter((p) => p.startsWith(start));
  if (found.length !== 1) throw new Error(`${found.length} sections start with ${JSON.stringify(start)}:\n${output}`);
  return found[0]!;
}

function socketCounts(): { servers: number; sockets: number } {
  const info = process.getActiveResourcesInfo();
  return { servers: info.filter((r) => r === 'TCPServerWrap').length, sockets: info.filter((r) => r === 'TCPSocketWrap').length };
}

describe('querylens demo on the embedded database', () => {
  let code: number;
  let out: string;
  let err: string;
  let handlesBefore: { servers: number; sockets: number };

  beforeAll(async () => {
    handlesBefore = socketCounts();
    // DATABASE_URL is set on purpose: --embedded must win over it.
    const c = capture({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    code = await runCli(['demo', '--embedded'], c.io);
    out = c.stdout();
    err = c.stderr();
  }, 120_000);

  it('runs on the embedded database, seeds with a progress report and exits 0', () => {
    expect(code, out).toBe(0);
    expect(out.split('\n')[0]).toMatch(/^querylens demo — embedded PostgreSQL \(PGlite, served over the wire protocol on 127\.0\.0\.1:\d+\), PostgreSQL \d+/);
    expect(out).toMatch(/seeded a blog: 200 authors, 2,000 posts, 200,000 comments/);
    // not a TTY here: plain progress lines on stderr, per table and per quarter of a long one
    expect(err).toMatch(/seeding +\d+% {2}authors 200 rows\n/);
    expect(err).toMatch(/seeding +\d+% {2}comments [\d,]+ of 200,000 rows\n[^]*seeding 100% {2}comments 200,000 rows\n/);
    expect(out).not.toContain('demo checks failed');
  });

  it('prints the N+1 with the line that issued it and the query that fed the loop', () => {
    const s = section(out, 'GET /feed  (');
    expect(s).toContain('WARN querylens: N+1: "SELECT comments" ran 20 times');
    expect(s).toContain('21 queries');
    expect(s).toMatch(/kind: +N\+1 query in "GET \/feed"/);
    expect(s).toContain(`at:     ${APP_FILE}:${lineOf('// N+1: one query per post')}:`);
    expect(s).toContain(`parent: "SELECT posts" at ${APP_FILE}:${lineOf('(await pool.query<Post>(LATEST_POSTS_SQL))')} — its rows' values were the loop's parameters`);
    expect(s).toMatch(/count: +20 executions, 20 distinct parameter sets/);
    expect(s).toContain('fix:');
  });

  it('prints the duplicate and the write loop at their lines', () => {
    const dup = section(out, 'GET /posts/42  (');
    expect(dup).toContain('WARN querylens: Duplicate');
    expect(dup).toContain(`at:     ${APP_FILE}:${lineOf("'SELECT id, name, email FROM authors WHERE id = $1'")}:`);
    expect(dup).not.toContain('N+1');
    const loop = section(out, 'POST /posts/42/tags  (');
    expect(loop).toContain('WARN querylens: Write loop');
    expect(loop).toContain(`at:     ${APP_FILE}:${lineOf('// write loop')}:`);
    expect(loop).toMatch(/count: +6 executions, 6 distinct parameter sets/);
  });

  it('prints the slow query with its plan and the index hint', () => {
    const s = section(out, 'GET /comments?by=reader42%40example.com  (slow');
    expect(s).toMatch(/WARN querylens: slow query: SELECT comments took [\d.]+ ms \(threshold [\d.]+ ms\)/);
    expect(s).toContain(`at ${APP_FILE}:${lineOf('(COMMENTS_BY_EMAIL_SQL, [by])')}`);
    expect(s).toContain('sequential scan on comments filtered by lower(commenter_email) — consider an expression index on comments ((lower(commenter_email)))');
    expect(s).toMatch(/plan: +\w[\w ]*, cost \d+, ~\d+ rows; Seq Scan on comments \(\d[\d,]+ rows\) filter \(lower\(comments\.commenter_email\) = /);
  });

  it('reports nothing for the fixed routes, and says so', () => {
    for (const start of ['GET /feed/fixed', 'GET /posts/42/fixed', 'POST /posts/43/tags/fixed', 'GET /comments?by=reader42%40example.com  (fixed']) {
      const s = section(out, start);
      expect(s, start).toContain('✓ querylens: no findings');
      expect(s, start).not.toContain('WARN');
    }
  });

  it('shows the cache miss → hit → schema change → miss, with rows equal to a fresh read each time', () => {
    const s = section(out, 'GET /posts/popular ×2');
    expect(s).toMatch(/1st call: cache miss/);
    expect(s).toMatch(/2nd call: cache hit/);
    expect(s.match(/✓ same rows as a fresh uncached read/g)).toHaveLength(2);
    expect(s).toContain('columns: id, author_id, title, published_at\n');
    const after = section(out, 'GET /posts/popular  (after the schema change)');
    expect(after).toMatch(/3rd call: cache miss/);
    expect(after).toContain('columns: id, author_id, title, published_at, reading_minutes');
    expect(after).toContain('✓ same rows as a fresh uncached read');
  });

  it('ends with the top queries table and a summary', () => {
    const s = section(out, 'top queries');
    expect(s).toMatch(/#\s+total ms\s+calls\s+mean ms\s+p95 ms\s+max ms\s+rows\s+err\s+query/);
    expect(s).toContain('SELECT comments');
    expect(s).toMatch(/querylens found 1 N\+1, 1 duplicate, 1 write loop, 1 slow query; the fixed routes: nothing\. Demo finished in [\d.]+ s\./);
  });

  it('leaves no server or connection behind', async () => {
    // client sockets of fetch's pool see the server's close a moment later
    const deadline = Date.now() + 2000;
    let now = socketCounts();
    while ((now.servers > handlesBefore.servers || now.sockets > handlesBefore.sockets) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      now = socketCounts();
    }
    expect(now.servers).toBeLessThanOrEqual(handlesBefore.servers);
    expect(now.sockets).toBeLessThanOrEqual(handlesBefore.sockets);
  });
});

describe('querylens demo with DATABASE_URL', () => {
  it('fails with one line and exit code 2 when the database cannot be reached', async () => {
    const c = capture({ DATABASE_URL: 'postgres://demo@127.0.0.1:1/none' });
    expect(await runCli(['demo'], c.io)).toBe(2);
    expect(c.stderr()).toMatch(/^querylens: cannot connect to 127\.0\.0\.1:1: connection refused — .+\n$/);
  });

  it('uses the database it is given, in a schema of its own that it drops at the end', async (ctx) => {
    const db = await testDatabase();
    if (db.backend === 'embedded PGlite') {
      process.stderr.write('[querylens tests] demo on DATABASE_URL skipped: no PostgreSQL server here (the embedded run above covers the demo)\n');
      ctx.skip();
    }
    const schema = tableName('demo');
    const c = capture({ DATABASE_URL: db.url, QUERYLENS_DEMO_SCHEMA: schema });
    const code = await runCli(['demo'], c.io);
    const out = c.stdout();
    expect(code, out).toBe(0);
    expect(out.split('\n')[0]).toContain(`querylens demo — DATABASE_URL (`);
    expect(out.split('\n')[0]).toContain(`schema ${schema}`);
    expect(section(out, 'GET /feed  (')).toContain(`at:     ${APP_FILE}:${lineOf('// N+1: one query per post')}:`);
    expect(section(out, 'GET /comments?by=reader42%40example.com  (slow')).toContain(`consider an expression index on ${schema}.comments ((lower(commenter_email)))`);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      expect(rows).toEqual([]);
    } finally {
      await client.end();
    }
  }, 120_000);
});
