/**
 * The blog schema the Drizzle and Kysely adapter tests share: authors → posts → comments, in a
 * PostgreSQL schema of its own per test file (so files run in parallel and the tables keep the
 * names an application would use). Created, seeded and dropped through a plain admin pool that no
 * lens observes, so setup never counts.
 */
import type pg from 'pg';
import type { Finding, NPlusOneFinding, QueryStartEvent } from 'querylens';
import { tableName } from '../../helpers/database.js';

export const POSTS = 10;
export const COMMENTS_PER_POST = 3;
export const AUTHORS = 4;
/**
 * Authors are numbered from 101, as ids of different tables diverge in a real database: post ids
 * (1…10) never cover author ids, so a loop over `post.author_id` links to exactly that column.
 */
export const FIRST_AUTHOR_ID = 101;

export interface BlogSchema {
  /** The PostgreSQL schema name; tables are `${s}.authors`, `${s}.posts`, `${s}.comments`. */
  readonly s: string;
  drop(): Promise<void>;
}

export async function createBlogSchema(admin: pg.Pool, label: string): Promise<BlogSchema> {
  const s = tableName(label);
  await admin.query(`
    CREATE SCHEMA ${s};
    CREATE TABLE ${s}.authors (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE ${s}.posts (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES ${s}.authors, title text NOT NULL);
    CREATE TABLE ${s}.comments (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES ${s}.posts, author_id int NOT NULL REFERENCES ${s}.authors, body text NOT NULL);
    INSERT INTO ${s}.authors (id, name) SELECT ${FIRST_AUTHOR_ID} + g, 'author ' || g FROM generate_series(0, ${AUTHORS - 1}) g;
    SELECT setval('${s}.authors_id_seq', ${FIRST_AUTHOR_ID + AUTHORS});
    INSERT INTO ${s}.posts (author_id, title) SELECT ${FIRST_AUTHOR_ID} + g % ${AUTHORS}, 'post ' || g FROM generate_series(1, ${POSTS}) g;
    INSERT INTO ${s}.comments (post_id, author_id, body)
      SELECT 1 + (g - 1) / ${COMMENTS_PER_POST}, ${FIRST_AUTHOR_ID} + g % ${AUTHORS}, 'comment ' || g FROM generate_series(1, ${POSTS * COMMENTS_PER_POST}) g;
  `);
  return {
    s,
    drop: async () => void (await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`)),
  };
}

export { collectFindings } from '../../helpers/record-events.js';

export function nPlusOnes(findings: readonly Finding[]): NPlusOneFinding[] {
  return findings.filter((f): f is NPlusOneFinding => f.kind === 'n-plus-one');
}

/** What a query event says about its ORM operation, and the line it was issued from. */
export function described(e: QueryStartEvent): { orm: string | undefined; model: string | undefined; operation: string | undefined; line: number | undefined } {
  return { orm: e.operation?.orm, model: e.operation?.model, operation: e.operation?.operation, line: e.callsite?.resolve()?.line };
}
