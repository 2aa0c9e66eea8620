/**
 * querylens with Prisma 7 and its node-postgres driver adapter (@prisma/adapter-pg).
 *
 *   node examples/prisma/main.mjs
 *
 * The first run generates the Prisma client from schema.prisma (see generate.mjs; no database or
 * network needed). A script, not a server: it loads ten posts with their comments twice, each time
 * as one unit of work (`lens.scope`), prints what querylens reported for each, and exits. `--smoke`
 * is accepted (the script is a one-shot run either way).
 *   1. "posts, comments per post": `comment.findMany` once per post, the N+1 querylens reports;
 *   2. "posts include comments": the fix, `include: { comments: true }`.
 *
 * Wiring: Prisma's driver adapter is given the instrumented pool, and the client is handed to the
 * querylens Prisma adapter: `withPrisma(new PrismaClient({ adapter: new PrismaPg(lens.instrument(pool)) }), lens)`.
 * Without `withPrisma` the same N+1 is found, with a SQL-worded fix.
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); EXAMPLE_SCHEMA (default
 * querylens_example_prisma) is created for the run and dropped at its end.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { createLens, formatFinding } from 'querylens';
import { withPrisma } from 'querylens/adapters/prisma';
import { generate, isGenerated } from './generate.mjs';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = process.env.EXAMPLE_SCHEMA ?? 'querylens_example_prisma';

if (!isGenerated()) {
  console.log('generating the Prisma client (first run)…');
  generate();
}
const { PrismaClient } = await import('./generated/client.js');

// Findings are printed by the script below, so the lens's own warnings are off (logger: false).
// Without it, development mode prints each finding as a readable warning on stderr.
const lens = createLens({ mode: 'development', logger: false });
const pool = lens.instrument(new pg.Pool({ connectionString: DATABASE_URL }));
// `schema`: the PostgreSQL schema Prisma's SQL names (default "public").
const adapter = new PrismaPg(pool, { schema: SCHEMA });
// withPrisma tells querylens which Prisma operation issued each statement: findings then name the
// ORM and relation, and the fix is worded in Prisma (include: …).
const prisma = withPrisma(new PrismaClient({ adapter }), lens);

const reported = [];
lens.on('finding', (finding) => reported.push(finding));

try {
  await setUp();

  const loop = await unitOfWork('posts, comments per post', async () => {
    const posts = await prisma.post.findMany({ orderBy: { id: 'asc' }, take: 10 });
    for (const post of posts) {
      // One statement per post: the N+1.
      post.comments = await prisma.comment.findMany({ where: { postId: post.id }, orderBy: { id: 'asc' } });
    }
    return posts;
  });

  const fixed = await unitOfWork('posts include comments', () =>
    // The fix: the relation is loaded with its parent.
    prisma.post.findMany({ orderBy: { id: 'asc' }, take: 10, include: { comments: { orderBy: { id: 'asc' } } } }),
  );

  const same = JSON.stringify(loop) === JSON.stringify(fixed);
  console.log(`both units of work return the same ${fixed.length} posts: ${same}`);
  process.exitCode = same ? 0 : 1;
} finally {
  await prisma.$disconnect();
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

/** The tables schema.prisma maps, created with SQL (a real application would run `prisma migrate`). */
async function setUp() {
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await pool.query(`CREATE SCHEMA ${SCHEMA}`);
  await pool.query(`
    SET search_path = ${SCHEMA};
    CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL);
    CREATE TABLE comments (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES posts (id), body text NOT NULL);
    CREATE INDEX ON comments (post_id);
    INSERT INTO posts SELECT i, 'Post ' || i FROM generate_series(1, 10) i;
    INSERT INTO comments (post_id, body) SELECT p, 'Comment ' || c || ' on post ' || p FROM generate_series(1, 10) p, generate_series(1, 3) c;
    RESET search_path;
  `);
}
