/**
 * querylens with Drizzle ORM (drizzle-orm/node-postgres).
 *
 *   node examples/drizzle/main.mjs
 *
 * A script, not a server: it loads ten posts with their comments twice, each time as one unit of
 * work (`lens.scope`), prints what querylens reported for each, and exits. `--smoke` is accepted
 * (the script is a one-shot run either way).
 *   1. "posts, comments per post": a loop issuing one comments query per post, the N+1 querylens reports;
 *   2. "posts with comments": the fix, Drizzle's relational query `with: { comments: true }`, one statement.
 *
 * Wiring: Drizzle is given the instrumented pool, and the db is handed to the Drizzle adapter:
 * `withDrizzle(drizzle({ client: lens.instrument(pool), schema }), lens)`. The plain wiring without
 * `withDrizzle` finds the same N+1, but with no call site and a SQL-worded fix.
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); EXAMPLE_SCHEMA (default
 * querylens_example_drizzle) is created for the run and dropped at its end.
 */
import { asc, eq, relations } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { integer, pgTable, serial, text } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { createLens, formatFinding } from 'querylens';
import { withDrizzle } from 'querylens/adapters/drizzle';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = process.env.EXAMPLE_SCHEMA ?? 'querylens_example_drizzle';

// The Drizzle schema. Its tables live in a PostgreSQL schema of the example's own, which the
// pool's search_path selects (pgSchema() would qualify every table name in the SQL instead).
const posts = pgTable('posts', {
  id: integer('id').primaryKey(),
  title: text('title').notNull(),
});
const comments = pgTable('comments', {
  id: serial('id').primaryKey(),
  postId: integer('post_id')
    .notNull()
    .references(() => posts.id),
  body: text('body').notNull(),
});
const postsRelations = relations(posts, ({ many }) => ({ comments: many(comments) }));
const commentsRelations = relations(comments, ({ one }) => ({ post: one(posts, { fields: [comments.postId], references: [posts.id] }) }));

// Findings are printed by the script below, so the lens's own warnings are off (logger: false).
// Without it, development mode prints each finding as a readable warning on stderr.
const lens = createLens({ mode: 'development', logger: false });
const pool = lens.instrument(new pg.Pool({ connectionString: DATABASE_URL, options: `-c search_path=${SCHEMA}` }));
// withDrizzle tells querylens which Drizzle call issued each statement: findings then carry the
// application's line (Drizzle runs a builder later, when it is awaited) and a Drizzle-worded fix.
const db = withDrizzle(drizzle({ client: pool, schema: { posts, comments, postsRelations, commentsRelations } }), lens);

const reported = [];
lens.on('finding', (finding) => reported.push(finding));

try {
  await setUp();

  const loop = await unitOfWork('posts, comments per post', async () => {
    const rows = await db.select().from(posts).orderBy(asc(posts.id)).limit(10);
    for (const post of rows) {
      // One statement per post: querylens reports this line.
      post.comments = await db.select().from(comments).where(eq(comments.postId, post.id)).orderBy(asc(comments.id));
    }
    return rows;
  });

  const fixed = await unitOfWork('posts with comments', () =>
    // The fix: the relation is loaded with its parent, in one statement.
    db.query.posts.findMany({ with: { comments: { orderBy: [asc(comments.id)] } }, orderBy: [asc(posts.id)], limit: 10 }),
  );

  const same = JSON.stringify(loop) === JSON.stringify(fixed);
  console.log(`both units of work return the same ${fixed.length} posts: ${same}`);
  process.exitCode = same ? 0 : 1;
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await pool.end();
  await lens.close();
}

/** Runs `fn` as one unit of work and prints the findings querylens reported for it. */
async function unitOfWork(name, fn) {
  const before = reported.length;
  const result = await lens.scope(name, fn);
  const findings = reported.slice(before);
  console.log(`\n"${name}": querylens reported ${findings.length === 0 ? 'nothing' : `${findings.length} finding(s)`}`);
  for (const finding of findings) console.log(formatFinding(finding));
  return result;
}

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
