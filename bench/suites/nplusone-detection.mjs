// N+1 detection overhead: CPU per query that querylens adds, detectors included, on an N+1-shaped
// workload inside units of work — each scope lists 20 posts, then loads each post's comments with
// its own query (21 statements, one n-plus-one finding per scope, reported at scope end).
//
// Same method as pg-overhead.mjs: each variant runs in its own child process (fresh JIT and heap),
// variants alternate within each round, a child warms up and reports its cheapest of ten slices
// (process CPU time, user + system, per query), and the table shows the median over rounds and the
// difference to raw pg running the same loop (without scopes). With a local database, each child
// and its backend share one pinned CPU. Findings go to a counting listener (`logger: false`), so
// the numbers are the detection's cost, not the cost of printing warnings. Not a gate.
//
// Two floor rows run the raw loop with only what the platform charges for the same guarantees,
// without querylens: each unit of work inside an AsyncLocalStorage (what attributing statements to
// a unit of work costs on this Node, promise hooks included), and that plus one
// Error.captureStackTrace per statement at querylens's default depth (what a call site for every
// statement costs). The last table subtracts them: querylens's own share of each mode.
//
// Usage: node bench/suites/nplusone-detection.mjs [--rounds 5] [--scopes 1500] [--no-pin]
// Needs a PostgreSQL: DATABASE_URL, else postgres://127.0.0.1:5432/test.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { arg, argText, cheapestSlice, databaseUrl, median, pinTogether, printOverheadTable, runRounds } from '../lib.mjs';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const DIST = new URL('../../dist/src/index.js', import.meta.url).href;

const SEGMENTS = 10;
const CHILDREN = 20;
/** querylens's default `callsiteDepth`. */
const CALLSITE_DEPTH = 32;
const POSTS = `ql_bench_n1_posts_${process.pid}`;
const COMMENTS = `ql_bench_n1_comments_${process.pid}`;

const VARIANTS = [
  { id: 'raw', label: 'raw pg (same loop, no scopes)' },
  { id: 'floor-als', label: 'floor: raw pg, each unit of work in an AsyncLocalStorage (no querylens)' },
  { id: 'floor-als-stack', label: 'floor: the same + one Error.captureStackTrace per statement (no querylens)' },
  { id: 'production', label: 'querylens production defaults (detectors on, sampled call sites)', target: 3 },
  { id: 'production-off', label: 'querylens production, every detector off' },
  { id: 'development', label: 'querylens development (detectors on, call sites always)', target: 15 },
  { id: 'development-off', label: 'querylens development, nPlusOne: false (no call sites)' },
];

const LENS_OPTIONS = {
  production: { mode: 'production', logger: false },
  'production-off': { mode: 'production', logger: false, nPlusOne: false, duplicates: false, batchableWrites: false, largeResult: false },
  development: { mode: 'development', logger: false },
  'development-off': { mode: 'development', logger: false, nPlusOne: false },
};

/** The child: set up one variant, warm up, measure, print one JSON line. */
async function child(variant, url, scopes, posts, comments) {
  const pg = require('pg');
  let pool = new pg.Pool({ connectionString: url, max: 1 });
  let lens;
  let findings = 0;
  if (variant !== 'raw' && !variant.startsWith('floor')) {
    const { createLens } = await import(DIST);
    lens = createLens(LENS_OPTIONS[variant]);
    lens.on('finding', () => void findings++);
    pool = lens.instrument(pool);
  }
  const listText = `SELECT id, title FROM ${posts} ORDER BY id LIMIT ${CHILDREN}`;
  const childText = `SELECT id, post_id, body FROM ${comments} WHERE post_id = $1`;
  const unit = async () => {
    const { rows } = await pool.query(listText);
    for (const p of rows) await pool.query(childText, [p.id]);
  };
  // The floors: the same loop with only the platform's costs (see the header).
  const storage = new AsyncLocalStorage();
  // A fresh holder per capture, kept until the next one, as querylens keeps its captures.
  let holder;
  const capture = () => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = CALLSITE_DEPTH;
    holder = {};
    Error.captureStackTrace(holder, capture);
    Error.stackTraceLimit = limit;
  };
  const unitWithStacks = async () => {
    capture();
    const { rows } = await pool.query(listText);
    for (const p of rows) {
      capture();
      await pool.query(childText, [p.id]);
    }
  };
  const frame = { name: 'GET /posts' };
  const run =
    variant === 'floor-als'
      ? () => storage.run(frame, unit)
      : variant === 'floor-als-stack'
        ? () => storage.run(frame, unitWithStacks)
        : lens === undefined
          ? unit
          : () => lens.scope('GET /posts', unit);
  const pinned = await pinTogether(pool, url);
  for (let i = 0; i < Math.min(200, scopes); i++) await run();
  globalThis.gc?.();
  const per = Math.ceil(scopes / SEGMENTS);
  const { cpuUs, wallUs } = await cheapestSlice(SEGMENTS, per, per * (CHILDREN + 1), run);
  await pool.end();
  await lens?.close();
  process.stdout.write(`${JSON.stringify({ variant, cpuUs, wallUs, pinned, findings })}\n`);
}

/** Each mode minus the floor that provides the same guarantees: what querylens itself adds. */
function printOwnShare(samples) {
  const cpu = (id) => {
    const s = samples.get(id);
    return s.length === 0 ? undefined : median(s.map((x) => x.cpuUs));
  };
  console.log('\n| variant | over floor | querylens\'s own CPU µs/query |');
  console.log('|---|---|---:|');
  for (const [id, floor] of [['production', 'floor-als'], ['production-off', 'floor-als'], ['development', 'floor-als-stack'], ['development-off', 'floor-als']]) {
    const a = cpu(id);
    const b = cpu(floor);
    if (a === undefined || b === undefined) continue;
    const d = a - b;
    console.log(`| ${VARIANTS.find((v) => v.id === id).label} | ${floor} | ${d >= 0 ? '+' : ''}${d.toFixed(2)} |`);
  }
}

async function parent() {
  const rounds = arg('rounds', 5);
  const scopes = arg('scopes', 1500);
  const pg = require('pg');
  const url = await databaseUrl(pg);
  if (url === undefined) {
    console.log('nplusone-detection: no PostgreSQL (set DATABASE_URL); skipped.');
    return;
  }
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  await admin.query(`CREATE TABLE ${POSTS} (id serial PRIMARY KEY, title text NOT NULL)`);
  await admin.query(`CREATE TABLE ${COMMENTS} (id serial PRIMARY KEY, post_id int NOT NULL, body text NOT NULL)`);
  await admin.query(`CREATE INDEX ON ${COMMENTS} (post_id)`);
  await admin.query(`INSERT INTO ${POSTS} (title) SELECT 'post ' || g FROM generate_series(1, ${CHILDREN}) g`);
  await admin.query(`INSERT INTO ${COMMENTS} (post_id, body) SELECT 1 + (g - 1) / 3, 'comment ' || g FROM generate_series(1, ${CHILDREN * 3}) g`);
  try {
    console.log(`nplusone-detection: ${rounds} rounds × ${VARIANTS.length} variants × ${scopes} scopes of ${CHILDREN + 1} statements (after warm-up), one process each`);
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}\n`);
    const samples = runRounds({
      script: SELF,
      variants: VARIANTS,
      rounds,
      url,
      childArgs: ['--scopes', String(scopes), '--posts', POSTS, '--comments', COMMENTS],
      describe: (result) => `, ${result.findings} findings`,
    });
    printOverheadTable(VARIANTS, samples);
    printOwnShare(samples);
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${POSTS}, ${COMMENTS}`);
    await admin.end();
  }
}

const childIndex = process.argv.indexOf('--child');
if (childIndex !== -1) {
  await child(process.argv[childIndex + 1], process.env.DATABASE_URL, arg('scopes', 1500), argText('posts'), argText('comments'));
} else {
  await parent();
}
