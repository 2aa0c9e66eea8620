/**
 * Smoke tests of examples/: each example runs as a user runs it (`node examples/<name>/….mjs
 * --smoke`, importing the built package by its name), against a real PostgreSQL, in a schema of its
 * own, and its output must show what querylens found: the N+1 with the example's own line, nothing
 * for the fixed version, and for the OpenTelemetry example the statement spans, the finding event
 * and the duration metric as the SDK's console exporters print them.
 *
 * Needs the build (`npm run build`; `npm test` runs it first). The database is PostgreSQL at
 * DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test; when none answers (or with
 * QUERYLENS_TEST_BACKEND=pglite), each test gets a fresh embedded PGlite served over the wire
 * protocol, because PGlite multiplexes every connection onto one session (an example's
 * search_path would leak into the next one's on a shared instance).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { answers, startPglite, tableName } from '../helpers/database.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The database of the running test: the server, or this test's own embedded PGlite. */
let DATABASE_URL = SERVER_URL;
let embedded = false;
let stopEmbedded: (() => Promise<void>) | undefined;
/** Per example; the examples themselves take about a second (Prisma's first run: two). */
const EXAMPLE_TIMEOUT_MS = 14_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runExample(script: string, schema: string): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, '--smoke'], {
      cwd: ROOT,
      // vitest sets NODE_ENV=test; the examples are shown in development mode, as a developer runs them.
      env: { ...process.env, NODE_ENV: 'development', DATABASE_URL, EXAMPLE_SCHEMA: schema, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} --smoke did not exit within ${EXAMPLE_TIMEOUT_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, EXAMPLE_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Asserts a clean exit, showing the example's output when it was not. */
function expectSuccess(run: Run, script: string): void {
  expect(run.code, `${script} exited with ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
}

/** 1-based line of the only line of `file` containing `text` (the example's N+1 loop). */
function lineOf(file: string, text: string): number {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const found = lines.flatMap((line, i) => (line.includes(text) ? [i + 1] : []));
  expect(found, `${file} should contain ${JSON.stringify(text)} exactly once`).toHaveLength(1);
  return found[0]!;
}

async function schemaExists(schema: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

/**
 * The top-level objects `console.dir` printed (the console exporters' output): each starts with a
 * line `{` and ends with a line `}`; anything between objects is the example's own output.
 */
function printedObjects(stdout: string): string[] {
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    if (current === undefined) {
      if (line === '{') current = [line];
    } else {
      current.push(line);
      if (line === '}') {
        blocks.push(current.join('\n'));
        current = undefined;
      }
    }
  }
  return blocks;
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/src/index.js'))) {
    throw new Error('The examples import the built package (dist/): run `npm run build` first (`npm test` does).');
  }
  embedded = process.env['QUERYLENS_TEST_BACKEND'] === 'pglite' || !(await answers(SERVER_URL));
  if (embedded) {
    const why = process.env['QUERYLENS_TEST_BACKEND'] === 'pglite' ? 'QUERYLENS_TEST_BACKEND=pglite' : `${SERVER_URL.replace(/\/\/[^@/]*@/, '//')} did not answer`;
    process.stderr.write(`[examples] ${why}: each example runs on a fresh embedded PGlite\n`);
  }
});

beforeEach(async () => {
  if (!embedded) return;
  const db = await startPglite();
  DATABASE_URL = db.url;
  stopEmbedded = () => db.close();
});

afterEach(async () => {
  await stopEmbedded?.();
  stopEmbedded = undefined;
});


describe('examples/express-pg', () => {
  const script = 'examples/express-pg/server.mjs';

  it('reports the N+1 endpoint at its loop line, nothing for the fixed endpoint, and drops its schema', async () => {
    const schema = tableName('example_express');
    const run = await runExample(script, schema);
    expectSuccess(run, script);
    const loopLine = lineOf(script, "'SELECT id, body FROM comments WHERE post_id = $1 ORDER BY id'");

    expect(run.stdout).toContain('GET /posts/n-plus-one → 200, 10 posts, 30 comments; querylens reported 1 finding(s)');
    expect(run.stdout).toContain(`finding: n-plus-one "SELECT comments" ×10 at ${script}:${loopLine}`);
    expect(run.stdout).toContain('fix: Batch it: SELECT id, body FROM comments WHERE post_id = ANY($1)');
    // The fixed endpoint returns the same data and is not reported.
    expect(run.stdout).toContain('GET /posts → 200, 10 posts, 30 comments; querylens reported nothing');
    // The development-mode warning a developer sees on the console.
    expect(run.stderr).toContain(`N+1: "SELECT comments" ran 10 times with 10 distinct parameter sets at ${script}:${loopLine}`);
    expect(run.stderr).toContain('in "GET /posts/n-plus-one"');
    expect(run.stderr).not.toContain('"GET /posts" (#');
    expect(await schemaExists(schema)).toBe(false);
  });
});

describe('examples/otel', () => {
  const script = 'examples/otel/server.mjs';

  it('exports statement spans under the request span, the finding as a span event, and db.client.operation.duration', async () => {
    const schema = tableName('example_otel');
    const run = await runExample(script, schema);
    expectSuccess(run, script);
    const loopLine = lineOf(script, "'SELECT id, body FROM comments WHERE post_id = $1 ORDER BY id'");
    expect(run.stdout).toContain(`querylens finding in "GET /posts/n-plus-one": n-plus-one "SELECT comments" ×5 at ${script}:${loopLine}`);
    expect(run.stdout).not.toContain('querylens finding in "GET /posts":');

    const objects = printedObjects(run.stdout);
    const spansNamed = (name: string): string[] => objects.filter((o) => o.includes(`\n  name: '${name}',\n`));

    // One CLIENT span (kind 2) per statement of the loop, named by db.query.summary, child of the request span.
    const loopSpans = spansNamed('SELECT comments').filter((s) => s.includes("'db.query.text': 'SELECT id, body FROM comments WHERE post_id = $1 ORDER BY id'"));
    expect(loopSpans).toHaveLength(5);
    const [requestSpan] = spansNamed('GET /posts/n-plus-one');
    expect(requestSpan, 'the request span of GET /posts/n-plus-one').toBeDefined();
    const requestSpanId = /\n  id: '([0-9a-f]{16})'/.exec(requestSpan!)?.[1];
    expect(requestSpanId).toBeDefined();
    for (const span of loopSpans) {
      expect(span).toContain('  kind: 2,');
      expect(span).toContain("'db.system.name': 'postgresql'");
      expect(span).toContain("'db.query.summary': 'SELECT comments'");
      expect(span).toContain("'db.response.returned_rows': 2");
      expect(span).toContain(`'code.line.number': ${loopLine}`);
      expect(span).toMatch(new RegExp(`parentSpanContext: \\{[^}]*spanId: '${requestSpanId}'`));
    }
    // The N+1 is an event on the request span; the fixed request's span has none.
    expect(requestSpan).toContain("name: 'querylens.finding'");
    expect(requestSpan).toContain("'querylens.finding.kind': 'n-plus-one'");
    const [fixedSpan] = spansNamed('GET /posts');
    expect(fixedSpan, 'the request span of GET /posts').toBeDefined();
    expect(fixedSpan).not.toContain('querylens.finding');

    // The duration histogram, in seconds, per summary: "SELECT comments" counts the loop's five
    // executions and the fixed endpoint's one batched query.
    const duration = objects.find((o) => o.includes("name: 'db.client.operation.duration'"));
    expect(duration, 'the db.client.operation.duration metric').toBeDefined();
    expect(duration).toContain("unit: 's'");
    expect(duration).toMatch(/'db\.query\.summary': 'SELECT comments'\n(?:(?!attributes:)[\s\S])*?count: 6\n/);
    const findingsCounter = objects.find((o) => o.includes("name: 'querylens.findings'"));
    expect(findingsCounter, 'the querylens.findings counter').toBeDefined();
    expect(await schemaExists(schema)).toBe(false);
  });
});

describe('examples/drizzle', () => {
  const script = 'examples/drizzle/main.mjs';

  it('reports the per-post loop as an N+1 and nothing for the relational query with `with`', async () => {
    const schema = tableName('example_drizzle');
    const run = await runExample(script, schema);
    expectSuccess(run, script);
    const loopLine = lineOf(script, 'post.comments = await db.select().from(comments)');
    expect(run.stdout).toContain('"posts, comments per post": querylens reported 1 finding(s)');
    // withDrizzle: the call site is the builder's line (Drizzle itself runs it later, from a promise job).
    expect(run.stdout).toContain(`N+1: "select "comments"" ran 10 times with 10 distinct parameter sets at ${script}:${loopLine}`);
    expect(run.stdout).toContain('kind:   N+1 query in "posts, comments per post"');
    expect(run.stdout).toContain("its rows' values were the loop's parameters");
    expect(run.stdout).toContain('orm:    drizzle');
    expect(run.stdout).toContain('fix:    Drizzle: load it with the parent');
    expect(run.stdout).toContain('"posts with comments": querylens reported nothing');
    expect(run.stdout).toContain('both units of work return the same 10 posts: true');
    expect(await schemaExists(schema)).toBe(false);
  });
});

describe('examples/prisma', () => {
  const script = 'examples/prisma/main.mjs';

  it('generates the client when needed, reports the per-post findMany at its line, and nothing for `include`', async () => {
    const schema = tableName('example_prisma');
    const run = await runExample(script, schema);
    expectSuccess(run, script);
    const loopLine = lineOf(script, 'await prisma.comment.findMany(');
    expect(run.stdout).toContain('"posts, comments per post": querylens reported 1 finding(s)');
    expect(run.stdout).toContain(`ran 10 times with 10 distinct parameter sets at ${script}:${loopLine}`);
    expect(run.stdout).toContain('kind:   N+1 query in "posts, comments per post"');
    expect(run.stdout).toContain("its rows' values were the loop's parameters");
    expect(run.stdout).toContain('orm:    prisma');
    expect(run.stdout).toContain('fix:    Prisma: load the relation with the parent query — include: { comments: true }');
    expect(run.stdout).toContain('"posts include comments": querylens reported nothing');
    expect(run.stdout).toContain('both units of work return the same 10 posts: true');
    expect(await schemaExists(schema)).toBe(false);
  });
});

describe('examples/', () => {
  it('import querylens only by its public names, as an application does', () => {
    const files = readdirSync(join(ROOT, 'examples'), { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.mjs') && !f.split(/[\\/]/).includes('generated'),
    );
    expect(files.length).toBeGreaterThanOrEqual(5);
    const specifiers = files.flatMap((file) =>
      [...readFileSync(join(ROOT, 'examples', file), 'utf8').matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)].map((m) => ({ file, spec: m[1]! })),
    );
    const wrong = specifiers.filter(({ spec }) =>
      spec.startsWith('.') ? spec.startsWith('../') : spec.startsWith('querylens/') && !/^querylens\/(testing|adapters\/[a-z-]+)$/.test(spec),
    );
    expect(wrong).toEqual([]);
    expect(specifiers.filter(({ spec }) => spec === 'querylens').length).toBe(4);
  });
});
