/**
 * `querylens doctor` against a real PostgreSQL, on a schema built to contain each problem it
 * looks for — and its healthy counterparts, which must not be reported.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorReport } from '../../../src/cli/doctor.js';
import { formatDoctor, runCli, type CliIo } from '../../../src/cli/main.js';
import { tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';

let db: TestDatabase;
let client: pg.Client;
let report: DoctorReport;
const schema = tableName('doctor');

beforeAll(async () => {
  db = await testDatabase();
  client = db.client();
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await client.query(`
    CREATE TABLE ${schema}.authors (id serial PRIMARY KEY, email text UNIQUE, name text);
    CREATE TABLE ${schema}.posts (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES ${schema}.authors(id), title text, created_at timestamptz DEFAULT now());
    CREATE TABLE ${schema}.comments (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES ${schema}.posts(id), body text);
    CREATE INDEX comments_post_id ON ${schema}.comments (post_id);              -- covers its FK: not reported
    CREATE INDEX posts_title_unused ON ${schema}.posts (title);                 -- never scanned: unused
    CREATE INDEX posts_created_a ON ${schema}.posts (created_at);
    CREATE INDEX posts_created_b ON ${schema}.posts (created_at);               -- duplicate of posts_created_a
    CREATE INDEX posts_title_created ON ${schema}.posts (title, created_at);    -- posts_title_unused is its prefix
    CREATE TABLE ${schema}.events (id serial PRIMARY KEY, kind text, payload text);
    INSERT INTO ${schema}.authors (email, name) SELECT 'a' || g || '@x.test', 'author ' || g FROM generate_series(1, 20) g;
    INSERT INTO ${schema}.posts (author_id, title) SELECT 1 + g % 20, 'post ' || g FROM generate_series(1, 200) g;
    INSERT INTO ${schema}.events (kind, payload) SELECT CASE WHEN g % 10 = 0 THEN 'login' ELSE 'view' END, 'p' FROM generate_series(1, 3000) g;
    ANALYZE ${schema}.authors; ANALYZE ${schema}.posts; ANALYZE ${schema}.events; ANALYZE ${schema}.comments;
  `);
  // Many sequential scans of a 3 000-row table filtered on an unindexed column; index scans on
  // comments(post_id) so that index counts as used.
  for (let i = 0; i < 60; i++) await client.query(`SELECT count(*) FROM ${schema}.events WHERE kind = $1`, ['login']);
  await client.query(`SET enable_seqscan = off`);
  for (let i = 0; i < 3; i++) await client.query(`SELECT * FROM ${schema}.comments WHERE post_id = $1`, [i]);
  for (let i = 0; i < 3; i++) await client.query(`SELECT * FROM ${schema}.posts WHERE created_at > now() AND title = 'x'`);
  await client.query(`RESET enable_seqscan`);
  // statistics are flushed by the backend asynchronously; PostgreSQL 15 can force it
  await client.query(`SELECT pg_stat_force_next_flush()`).catch(() => undefined);
  await client.query(`SELECT pg_sleep(0.05)`);
  report = await runDoctor(client, { seqScanMinScans: 50, seqScanMinRows: 1000 });
});

afterAll(async () => {
  await client?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await client?.end();
});

const mine = <T extends { schema: string }>(xs: readonly T[]): T[] => xs.filter((x) => x.schema === schema);

describe('querylens doctor', () => {
  it('reports an index that was never scanned, but not primary keys, unique indexes or used indexes', () => {
    const unused = mine(report.unusedIndexes).map((i) => i.index);
    expect(unused).toContain('posts_title_unused');
    expect(unused).not.toContain('posts_pkey');
    expect(unused).not.toContain('authors_email_key');
    expect(unused).not.toContain('comments_post_id');
  });

  it('reports a duplicate index and a prefix-redundant one, naming the index that covers each', () => {
    const redundant = report.redundantIndexes.filter((r) => r.index.schema === schema);
    expect(redundant).toContainEqual(expect.objectContaining({ kind: 'duplicate', index: expect.objectContaining({ index: 'posts_created_b' }), coveredBy: expect.objectContaining({ index: 'posts_created_a' }) }));
    expect(redundant).toContainEqual(expect.objectContaining({ kind: 'prefix', index: expect.objectContaining({ index: 'posts_title_unused' }), coveredBy: expect.objectContaining({ index: 'posts_title_created' }) }));
    // the pair is reported once, not in both directions
    expect(redundant.filter((r) => r.kind === 'duplicate')).toHaveLength(1);
  });

  it('reports a foreign key whose columns lead no index, with the CREATE INDEX that fixes it', () => {
    const fks = mine(report.unindexedForeignKeys);
    expect(fks.map((f) => `${f.table}(${f.columns.join(',')})`)).toEqual(['posts(author_id)']);
    expect(fks[0]!.suggestion).toBe(`CREATE INDEX CONCURRENTLY ON ${schema}.posts (author_id);`);
  });

  it('reports a table read by many sequential scans over many rows', () => {
    const seq = mine(report.seqScanTables);
    expect(seq.map((t) => t.table)).toEqual(['events']);
    expect(seq[0]!.seqScans).toBeGreaterThanOrEqual(60);
    // ANALYZE and the insert count as scans too, so the average is a little under the table size
    expect(seq[0]!.avgRowsPerScan).toBeGreaterThanOrEqual(2500);
  });

  it('prints a readable report with every section', () => {
    const text = formatDoctor(report);
    for (const heading of ['## Unused indexes', '## Duplicate and prefix-redundant indexes', '## Foreign keys without an index', '## Tables with many sequential scans', '## Top statements by total time']) {
      expect(text).toContain(heading);
    }
    expect(text).toContain('posts_title_unused');
    expect(text).toContain(`CREATE INDEX CONCURRENTLY ON ${schema}.posts (author_id);`);
  });

  it('groups pg_stat_statements entries by querylens fingerprint when the extension is available', async (ctx) => {
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await client.query('SELECT count(*) FROM pg_stat_statements');
    } catch (err) {
      const reason = `pg_stat_statements is not usable on this server (${(err as Error).message}); .ci/run preloads it on the CI machine`;
      console.log(`[doctor] skipped: ${reason}`);
      const r = await runDoctor(client);
      // without it the report says why instead of failing
      expect(r.statements.available).toBe(false);
      ctx.skip();
      return;
    }
    // The rest of the suite fills pg_stat_statements (default max 5 000 entries) with its own
    // statements: start from an empty view so ours are neither evicted nor outranked.
    await client.query('SELECT pg_stat_statements_reset()').catch(() => undefined);
    // pg_stat_statements keeps IN lists of different lengths apart (PostgreSQL < 18); querylens merges them
    await client.query(`SELECT * FROM ${schema}.events WHERE id IN (1, 2)`);
    await client.query(`SELECT * FROM ${schema}.events WHERE id IN (1, 2, 3)`);
    await client.query(`SELECT * FROM ${schema}.events WHERE id IN (1, 2, 3, 4)`);
    const r = await runDoctor(client, { topStatements: 1_000_000 });
    expect(r.statements.available).toBe(true);
    if (!r.statements.available) return;
    const group = r.statements.groups.find((g) => g.example.includes(`${schema}.events WHERE id IN`));
    expect(group).toBeDefined();
    expect(group!.entries).toBeGreaterThanOrEqual(3);
    expect(group!.summary).toBe(`SELECT ${schema}.events`);
  });
});

function captureIo(env: Record<string, string | undefined> = {}, stdin = ''): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env,
    stdout: { write: (s: string) => (io.out += s) },
    stderr: { write: (s: string) => (io.err += s) },
    readStdin: async () => stdin,
  };
  return io;
}

describe('querylens doctor on bad input', () => {
  it('says in one line that the server refused the connection, exit code 2, no stack trace', async () => {
    const io = captureIo();
    expect(await runCli(['doctor', 'postgres://postgres@127.0.0.1:1/test'], io)).toBe(2);
    expect(io.err.trim().split('\n')).toHaveLength(1);
    expect(io.err).toMatch(/connection refused — is PostgreSQL running/);
    expect(io.err).not.toMatch(/\n\s+at /);
  });

  it('prints the stack trace only with --verbose', async () => {
    const io = captureIo();
    expect(await runCli(['doctor', 'postgres://postgres@127.0.0.1:1/test', '--verbose'], io)).toBe(2);
    expect(io.err).toMatch(/\n\s+at /);
  });

  it('rejects a URL that is not a PostgreSQL URL, without echoing the password', async () => {
    const io = captureIo();
    expect(await runCli(['doctor', 'mysql://root:s3cret@localhost/db'], io)).toBe(2);
    expect(io.err).toMatch(/is not a PostgreSQL URL/);
    expect(io.err).not.toContain('s3cret');
    const io2 = captureIo();
    expect(await runCli(['doctor', 'not a url'], io2)).toBe(2);
    expect(io2.err).toMatch(/is not a database URL: expected postgres:\/\/user:password@host:5432\/database/);
  });

  it('names an unknown database and an unknown role', async (ctx) => {
    // The embedded fallback accepts any database and role name: only a real server can refuse them.
    if (db.backend === 'embedded PGlite') ctx.skip('the embedded PGlite accepts every database and role name');
    const base = new URL(db.url);
    const io = captureIo();
    expect(await runCli(['doctor', `${base.protocol}//${base.username || 'postgres'}@${base.host}/no_such_db_querylens`], io)).toBe(2);
    expect(io.err).toMatch(/no_such_db_querylens.*check the database name/);
    const io2 = captureIo();
    expect(await runCli(['doctor', `${base.protocol}//no_such_role_querylens@${base.host}${base.pathname}`], io2)).toBe(2);
    expect(io2.err).toMatch(/no_such_role_querylens/);
  });

  it('asks for a URL when neither an argument nor DATABASE_URL is given', async () => {
    const io = captureIo({});
    expect(await runCli(['doctor'], io)).toBe(2);
    expect(io.err).toMatch(/doctor needs a database URL/);
  });

  it('uses DATABASE_URL and prints JSON with --json', async () => {
    const io = captureIo({ DATABASE_URL: db.url });
    expect(await runCli(['doctor', '--json'], io)).toBe(0);
    const parsed = JSON.parse(io.out) as DoctorReport;
    expect(Array.isArray(parsed.unusedIndexes)).toBe(true);
  });
});

describe('querylens fingerprint', () => {
  it('prints the fingerprint, summary and normalized text of an argument or of stdin', async () => {
    const io = captureIo();
    expect(await runCli(['fingerprint', 'SELECT * FROM posts WHERE id IN (1, 2, 3)'], io)).toBe(0);
    expect(io.out).toMatch(/^fingerprint {2}[0-9a-f]{16}\nsummary {6}SELECT posts\nnormalized {3}SELECT \* FROM posts WHERE id IN \(\$1 \/\*, \.\.\. \*\/\)\n$/);
    const io2 = captureIo({}, 'select * from posts where id = $1');
    expect(await runCli(['fingerprint', '--json'], io2)).toBe(0);
    const a = io.out.split('\n')[0]!.split(/\s+/)[1];
    expect((JSON.parse(io2.out) as { fingerprint: string }).fingerprint).toBe(a);
  });

  it('rejects an unknown command or flag with the usage text', async () => {
    const io = captureIo();
    expect(await runCli(['frobnicate'], io)).toBe(2);
    expect(io.err).toMatch(/unknown command "frobnicate"[\s\S]*usage:/);
    const io2 = captureIo();
    expect(await runCli(['fingerprint', '--fast', 'SELECT 1'], io2)).toBe(2);
    expect(io2.err).toMatch(/unknown flag --fast/);
  });
});
