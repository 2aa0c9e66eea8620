/**
 * The small blog schema the detector tests run against: categories → posts → comments, and
 * authors, in a schema of their own per test file (so files run in parallel and table names stay
 * the ones an application would use: `posts`, `comments`). Seeding runs inside `lens.ignore`
 * when a lens is given, so it never counts.
 */
import type pg from 'pg';
import { createLens, type Finding, type Lens, type LensOptions } from 'querylens';
import { tableName, type TestDatabase } from '../../helpers/database.js';
import { collectFindings } from '../../helpers/record-events.js';

export interface BlogSchema {
  /** Schema name; tables are `${s}.posts` etc. */
  readonly s: string;
  readonly posts: string;
  readonly comments: string;
  readonly authors: string;
  readonly categories: string;
  /** Drops and recreates the rows: `posts` posts over 3 categories, `perPost` comments each, 5 authors. */
  seed(pool: pg.Pool, options?: { posts?: number; perPost?: number }): Promise<void>;
  drop(pool: pg.Pool): Promise<void>;
}

export async function createBlogSchema(pool: pg.Pool, label: string): Promise<BlogSchema> {
  const s = tableName(label);
  await pool.query(`CREATE SCHEMA ${s}`);
  await pool.query(`
    CREATE TABLE ${s}.categories (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE ${s}.authors (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE ${s}.posts (id serial PRIMARY KEY, category_id int NOT NULL, author_id int NOT NULL, editor_id int NOT NULL, title text NOT NULL);
    CREATE TABLE ${s}.comments (id serial PRIMARY KEY, post_id int NOT NULL, author_id int NOT NULL, body text NOT NULL);
  `);
  const schema: BlogSchema = {
    s,
    posts: `${s}.posts`,
    comments: `${s}.comments`,
    authors: `${s}.authors`,
    categories: `${s}.categories`,
    async seed(p, { posts = 10, perPost = 3 } = {}) {
      await p.query(`TRUNCATE ${s}.categories, ${s}.authors, ${s}.posts, ${s}.comments RESTART IDENTITY`);
      await p.query(`INSERT INTO ${s}.categories (name) SELECT 'category ' || g FROM generate_series(1, 3) g`);
      await p.query(`INSERT INTO ${s}.authors (name) SELECT 'author ' || g FROM generate_series(1, 5) g`);
      await p.query(
        `INSERT INTO ${s}.posts (category_id, author_id, editor_id, title) SELECT 1 + (g - 1) % 3, 1 + (g - 1) % 5, 1 + g % 5, 'post ' || g FROM generate_series(1, $1::int) g`,
        [posts],
      );
      await p.query(
        `INSERT INTO ${s}.comments (post_id, author_id, body) SELECT 1 + (g - 1) / $2::int, 1 + g % 5, 'comment ' || g FROM generate_series(1, $1::int * $2::int) g`,
        [posts, perPost],
      );
    },
    async drop(p) {
      await p.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    },
  };
  return schema;
}

export { collectFindings };

export function ofKind<K extends Finding['kind']>(findings: readonly Finding[], kind: K): Extract<Finding, { kind: K }>[] {
  return findings.filter((f): f is Extract<Finding, { kind: K }> => f.kind === kind);
}

/**
 * Runs `body` with a development-mode lens (plus `options`) and a pool of `poolSize` connections it
 * instruments; returns every finding. Pool and lens are closed whatever `body` does.
 */
export async function findingsWithLens(
  db: TestDatabase,
  options: LensOptions,
  body: (lens: Lens, pool: pg.Pool) => Promise<void>,
  poolSize = 4,
): Promise<Finding[]> {
  const lens = createLens({ mode: 'development', logger: false, ...options });
  const findings = collectFindings(lens);
  const pool = lens.instrument(db.pool({ max: poolSize }));
  try {
    await body(lens, pool);
  } finally {
    await pool.end();
    await lens.close();
  }
  return findings;
}
