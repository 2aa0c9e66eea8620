/**
 * querylens with raw node-postgres and Express.
 *
 *   node examples/express-pg/server.mjs            # serves on http://localhost:3000
 *   node examples/express-pg/server.mjs --smoke    # calls both endpoints, prints the findings, exits
 *
 * Two endpoints return the same JSON (ten posts with their comments):
 *   GET /posts/n-plus-one  one query for the posts, then one query per post for its comments (an N+1)
 *   GET /posts             the fix: the comments of all ten posts in one query (= ANY($1))
 *
 * The lens runs in development mode (unless NODE_ENV says otherwise): each finding is printed as a
 * readable warning on stderr when its request ends, with the line of this file that issued the loop,
 * the query that fed it and the batched statement to use instead.
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) must be a PostgreSQL the example may
 * create a schema in; EXAMPLE_SCHEMA names it (default querylens_example_express). It is recreated at
 * start, and dropped again when the smoke run ends.
 */
import express from 'express';
import pg from 'pg';
import { createLens } from 'querylens';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = process.env.EXAMPLE_SCHEMA ?? 'querylens_example_express';
const SMOKE = process.argv.includes('--smoke') || process.env.SMOKE === '1';
const PORT = SMOKE ? 0 : Number(process.env.PORT ?? 3000);

// One lens per process. The mode comes from NODE_ENV: development (the default) prints warnings,
// test makes lens.scope() reject, production writes structured records.
const lens = createLens();

// Instrument the pool the application already has: same object, same API, every query observed.
// search_path puts the example's tables first, so the SQL below stays unqualified.
const pool = lens.instrument(new pg.Pool({ connectionString: DATABASE_URL, options: `-c search_path=${SCHEMA}` }));

await setUp();

const app = express();
// One unit of work per request, named after the route ("GET /posts/n-plus-one").
app.use(lens.middleware());

app.get('/posts/n-plus-one', async (_req, res) => {
  const { rows: posts } = await pool.query('SELECT id, title FROM posts ORDER BY id LIMIT 10');
  for (const post of posts) {
    // One round trip per post: querylens reports this line.
    const { rows } = await pool.query('SELECT id, body FROM comments WHERE post_id = $1 ORDER BY id', [post.id]);
    post.comments = rows;
  }
  res.json(posts);
});

app.get('/posts', async (_req, res) => {
  const { rows: posts } = await pool.query('SELECT id, title FROM posts ORDER BY id LIMIT 10');
  // The fix querylens suggests: every post's comments in one query, grouped in code.
  const { rows: comments } = await pool.query('SELECT id, post_id, body FROM comments WHERE post_id = ANY($1) ORDER BY id', [posts.map((p) => p.id)]);
  for (const post of posts) post.comments = comments.filter((c) => c.post_id === post.id).map(({ id, body }) => ({ id, body }));
  res.json(posts);
});

const server = app.listen(PORT);
await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
const base = `http://localhost:${server.address().port}`;

if (!SMOKE) {
  console.log(`listening on ${base}: try ${base}/posts/n-plus-one and ${base}/posts`);
} else {
  const reported = collectFindings(lens);
  for (const path of ['/posts/n-plus-one', '/posts']) {
    const response = await fetch(base + path);
    const body = await response.json();
    const findings = await reported.forRequest(`GET ${path}`);
    console.log(`GET ${path} → ${response.status}, ${body.length} posts, ${countComments(body)} comments; querylens reported ${findings.length === 0 ? 'nothing' : findings.length + ' finding(s)'}`);
    for (const f of findings) console.log(`  finding: ${f.kind} "${f.summary}" ×${f.count} at ${f.callsite ? `${f.callsite.file}:${f.callsite.line}` : 'unknown'}\n    fix: ${f.suggestion}`);
  }
  await new Promise((resolve) => server.close(resolve));
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await pool.end();
  await lens.close();
}

/** Creates the example's schema: 10 posts with 3 comments each. */
async function setUp() {
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await pool.query(`CREATE SCHEMA ${SCHEMA}`);
  await pool.query(`
    CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL);
    CREATE TABLE comments (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES posts (id), body text NOT NULL);
    CREATE INDEX ON comments (post_id);
    INSERT INTO posts SELECT i, 'Post ' || i FROM generate_series(1, 10) i;
    INSERT INTO comments (post_id, body) SELECT p, 'Comment ' || c || ' on post ' || p FROM generate_series(1, 10) p, generate_series(1, 3) c;
  `);
}

function countComments(posts) {
  return posts.reduce((n, p) => n + p.comments.length, 0);
}

/**
 * Smoke mode: findings arrive when a request's unit of work ends (the response has finished), which
 * can be a moment after the client has read it; wait for them briefly.
 */
function collectFindings(lens) {
  const byScope = new Map();
  lens.on('finding', (finding, scope) => {
    const name = scope?.name ?? '(none)';
    byScope.set(name, [...(byScope.get(name) ?? []), finding]);
  });
  return {
    async forRequest(name, waitMs = 300) {
      const deadline = Date.now() + waitMs;
      while (!byScope.has(name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return byScope.get(name) ?? [];
    },
  };
}
