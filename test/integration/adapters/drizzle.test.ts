/**
 * The Drizzle adapter against a real PostgreSQL and the real drizzle-orm (node-postgres driver):
 * wiring and transactions, the canonical N+1 reported at this file's loop line with Drizzle's fix,
 * the fixed versions (`with`, `inArray`) quiet, transaction control never counted, bad input.
 */
import { and, eq, inArray, relations, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { integer, pgSchema, serial, text } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type Finding, type Lens, type QueryStartEvent } from 'querylens';
import { withDrizzle } from 'querylens/adapters/drizzle';
import { testDatabase, type TestDatabase } from '../../helpers/database.js';
import { here } from '../../helpers/here.js';
import { recordEvents } from '../../helpers/record-events.js';
import { AUTHORS, COMMENTS_PER_POST, FIRST_AUTHOR_ID, POSTS, collectFindings, createBlogSchema, described, nPlusOnes, type BlogSchema } from './drizzle-kysely-schema.js';

const FILE = 'test/integration/adapters/drizzle.test.ts';

/** The Drizzle schema for the blog tables in PostgreSQL schema `s`, with its relations. */
function blogTables(s: string) {
  const schema = pgSchema(s);
  const authors = schema.table('authors', { id: serial('id').primaryKey(), name: text('name').notNull() });
  const posts = schema.table('posts', { id: serial('id').primaryKey(), authorId: integer('author_id').notNull(), title: text('title').notNull() });
  const comments = schema.table('comments', {
    id: serial('id').primaryKey(),
    postId: integer('post_id').notNull(),
    authorId: integer('author_id').notNull(),
    body: text('body').notNull(),
  });
  const authorsRelations = relations(authors, ({ many }) => ({ posts: many(posts), comments: many(comments) }));
  const postsRelations = relations(posts, ({ one, many }) => ({
    author: one(authors, { fields: [posts.authorId], references: [authors.id] }),
    comments: many(comments),
  }));
  const commentsRelations = relations(comments, ({ one }) => ({
    post: one(posts, { fields: [comments.postId], references: [posts.id] }),
    author: one(authors, { fields: [comments.authorId], references: [authors.id] }),
  }));
  return { authors, posts, comments, authorsRelations, postsRelations, commentsRelations };
}

type Tables = ReturnType<typeof blogTables>;
const makeDb = (pool: pg.Pool, schema: Tables) => drizzle({ client: pool, schema });
type Db = ReturnType<typeof makeDb>;

let database: TestDatabase;
let admin: pg.Pool;
let blog: BlogSchema;
let t: Tables;

beforeAll(async () => {
  database = await testDatabase();
  admin = database.pool({ max: 2 });
  blog = await createBlogSchema(admin, 'drizzle');
  t = blogTables(blog.s);
});

afterAll(async () => {
  await blog.drop();
  await admin.end();
  await database.close();
});

interface Run {
  readonly findings: Finding[];
  readonly starts: QueryStartEvent[];
}

/** A lens in development mode, an instrumented pool and a wired Drizzle db, closed afterwards. */
async function withDb(body: (db: Db, lens: Lens, pool: pg.Pool) => Promise<void>, options: { wire?: boolean } = {}): Promise<Run> {
  const lens = createLens({ mode: 'development', logger: false });
  const findings = collectFindings(lens);
  const log = recordEvents(lens, ['query-start']);
  const pool = lens.instrument(database.pool({ max: 4 }));
  const plain = makeDb(pool, t);
  const db = options.wire === false ? plain : withDrizzle(plain, lens);
  try {
    await body(db, lens, pool);
  } finally {
    await pool.end();
    await lens.close();
  }
  return { findings, starts: log.starts() };
}

describe('withDrizzle: wiring', () => {
  it('every statement produces an event naming drizzle, the table, the operation and the line that built it', async () => {
    const lines: number[] = [];
    const { starts, findings } = await withDb((db, lens) =>
      lens.scope('wiring', async () => {
        const rows = await db.select().from(t.posts).where(eq(t.posts.id, 1)); lines.push(here().line);
        expect(rows).toHaveLength(1);
        const [author] = await db.insert(t.authors).values({ name: 'new' }).returning(); lines.push(here().line);
        await db.update(t.authors).set({ name: 'renamed' }).where(eq(t.authors.id, author!.id)); lines.push(here().line);
        await db.delete(t.authors).where(eq(t.authors.id, author!.id)); lines.push(here().line);
        const found = await db.query.posts.findMany({ where: eq(t.posts.authorId, FIRST_AUTHOR_ID), with: { comments: true } }); lines.push(here().line);
        expect(found.length).toBeGreaterThan(0);
        await db.execute(sql`select count(*) from ${t.posts}`); lines.push(here().line);
        expect(await db.$count(t.comments)).toBe(POSTS * COMMENTS_PER_POST); lines.push(here().line);
      }),
    );
    expect(starts.map(described)).toEqual([
      { orm: 'drizzle', model: 'posts', operation: 'select', line: lines[0] },
      { orm: 'drizzle', model: 'authors', operation: 'insert', line: lines[1] },
      { orm: 'drizzle', model: 'authors', operation: 'update', line: lines[2] },
      { orm: 'drizzle', model: 'authors', operation: 'delete', line: lines[3] },
      { orm: 'drizzle', model: 'posts', operation: 'findMany', line: lines[4] },
      { orm: 'drizzle', model: undefined, operation: 'execute', line: lines[5] },
      { orm: 'drizzle', model: 'comments', operation: 'count', line: lines[6] },
    ]);
    expect(starts.every((e) => e.callsite?.resolve()?.file === FILE)).toBe(true);
    expect(findings).toEqual([]);
  });

  it('a transaction runs on one connection, its statements attributed to the lines inside the callback', async () => {
    let insertLine = 0;
    let nestedLine = 0;
    const { starts } = await withDb(async (db) => {
      const id = await db.transaction(async (tx) => {
        const [row] = await tx.insert(t.authors).values({ name: 'in tx' }).returning(); insertLine = here().line;
        await tx.transaction(async (nested) => {
          await nested.select().from(t.authors).where(eq(t.authors.id, row!.id)); nestedLine = here().line;
        });
        return row!.id;
      });
      // Rolled back: the row must not exist afterwards (BEGIN and the insert shared a connection).
      await expect(
        db.transaction(async (tx) => {
          await tx.delete(t.authors).where(eq(t.authors.id, id));
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      const still = await db.select().from(t.authors).where(eq(t.authors.id, id));
      expect(still).toHaveLength(1);
      await db.delete(t.authors).where(eq(t.authors.id, id));
    });
    const texts = starts.map((e) => e.text.toLowerCase().split(' ')[0]);
    expect(texts).toEqual(['begin', 'insert', 'savepoint', 'select', 'release', 'commit', 'begin', 'delete', 'rollback', 'select', 'delete']);
    const first = starts.slice(0, 6);
    expect(first[0]!.connection).toBeDefined();
    expect(new Set(first.map((e) => e.connection)).size).toBe(1);
    expect(new Set(starts.slice(6, 9).map((e) => e.connection)).size).toBe(1);
    expect(described(starts[1]!)).toEqual({ orm: 'drizzle', model: 'authors', operation: 'insert', line: insertLine });
    expect(described(starts[3]!)).toEqual({ orm: 'drizzle', model: 'authors', operation: 'select', line: nestedLine });
    // BEGIN/COMMIT carry no Drizzle operation: the adapter attributes only what the application built.
    expect(starts[0]!.operation).toBeUndefined();
  });

  it('after an awaited builder the application is back in its own context: a raw query gets its own line', async () => {
    let rawLine = 0;
    const { starts } = await withDb((db, lens, pool) =>
      lens.scope('no leak', async () => {
        await db.select().from(t.posts).where(eq(t.posts.id, 1));
        await pool.query(`SELECT 1 AS one`); rawLine = here().line;
      }),
    );
    expect(starts).toHaveLength(2);
    expect(starts[1]!.operation).toBeUndefined();
    expect(starts[1]!.callsite?.resolve()).toMatchObject({ file: FILE, line: rawLine });
  });

  it('a builder created outside a unit of work and awaited inside one counts in the unit where it runs', async () => {
    let builtLine = 0;
    const { starts } = await withDb(async (db, lens) => {
      const query = db.select().from(t.posts).where(eq(t.posts.id, 1)); builtLine = here().line;
      await lens.scope('awaited here', async () => {
        await query;
      });
    });
    expect(starts).toHaveLength(1);
    expect(starts[0]!.scope?.name).toBe('awaited here');
    expect(described(starts[0]!)).toEqual({ orm: 'drizzle', model: 'posts', operation: 'select', line: builtLine });
  });

  it('a named prepared statement is attributed to the line that executes it', async () => {
    let execLine = 0;
    const { starts } = await withDb((db, lens) =>
      lens.scope('prepared', async () => {
        const byId = db.select().from(t.posts).where(eq(t.posts.id, sql.placeholder('id'))).prepare('ql_drizzle_post_by_id');
        for (const id of [1, 2]) {
          await byId.execute({ id }); execLine = here().line;
        }
      }),
    );
    expect(starts.map(described)).toEqual([
      { orm: 'drizzle', model: 'posts', operation: 'select', line: execLine },
      { orm: 'drizzle', model: 'posts', operation: 'select', line: execLine },
    ]);
  });
});

describe('withDrizzle: N+1', () => {
  it('comments selected per listed post are an N+1 at the loop line, with the Drizzle fix', async () => {
    let listLine = 0;
    let loopLine = 0;
    const { findings } = await withDb((db, lens) =>
      lens.scope('drizzle comments', async () => {
        const list = await db.select().from(t.posts).orderBy(t.posts.id); listLine = here().line;
        for (const post of list) {
          await db.select().from(t.comments).where(eq(t.comments.postId, post.id)); loopLine = here().line;
        }
      }),
    );
    expect(findings).toHaveLength(1);
    const [f] = nPlusOnes(findings);
    expect(f).toMatchObject({ count: POSTS, distinctParams: POSTS, orm: 'drizzle', concurrent: false, callsite: { file: FILE, line: loopLine } });
    expect(f!.parent).toMatchObject({ evidence: 'result-rows', callsite: { line: listLine } });
    expect(f!.suggestion).toContain('db.query.posts.findMany({ with: { comments: true } })');
    expect(f!.suggestion).toContain('inArray(comments.post_id, ids)');
  });

  it("each post's author loaded with findFirst is an N+1 whose fix is with: { author: true }", async () => {
    let loopLine = 0;
    const { findings } = await withDb((db, lens) =>
      lens.scope('drizzle authors', async () => {
        const list = await db.query.posts.findMany({ orderBy: t.posts.id });
        for (const post of list) {
          await db.query.authors.findFirst({ where: eq(t.authors.id, post.authorId) }); loopLine = here().line;
        }
      }),
    );
    expect(findings).toHaveLength(1);
    const [f] = nPlusOnes(findings);
    expect(f).toMatchObject({ count: POSTS, distinctParams: AUTHORS, orm: 'drizzle', callsite: { file: FILE, line: loopLine }, parent: { evidence: 'result-rows' } });
    expect(f!.suggestion).toContain('with: { author: true }');
  });

  it('a Promise.all fan-out built in a plain map callback is reported at the map line, concurrent', async () => {
    let mapLine = 0;
    const { findings } = await withDb((db, lens) =>
      lens.scope('drizzle fan-out', async () => {
        const list = await db.select({ id: t.posts.id }).from(t.posts);
        mapLine = here().line + 1;
        await Promise.all(list.map((post) => db.select().from(t.comments).where(eq(t.comments.postId, post.id))));
      }),
    );
    expect(nPlusOnes(findings)).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'n-plus-one', orm: 'drizzle', concurrent: true, callsite: { file: FILE, line: mapLine } });
  });

  it('without withDrizzle the same loop has no application call site: Drizzle runs the builder from a microtask', async () => {
    const { findings } = await withDb(
      (db, lens) =>
        lens.scope('unwired', async () => {
          const list = await db.select().from(t.posts);
          for (const post of list) await db.select().from(t.comments).where(eq(t.comments.postId, post.id));
        }),
      { wire: false },
    );
    const [f] = nPlusOnes(findings);
    expect(f).toBeDefined();
    expect(f!.orm).toBeUndefined();
    expect(f!.callsite?.file).not.toBe(FILE);
  });
});

describe('withDrizzle: the fixed versions stay quiet', () => {
  it('db.query.posts.findMany({ with: { comments, author } }) is one query and reports nothing', async () => {
    const { findings, starts } = await withDb((db, lens) =>
      lens.scope('drizzle with', async () => {
        const list = await db.query.posts.findMany({ with: { comments: true, author: true } });
        expect(list).toHaveLength(POSTS);
        expect(list.reduce((n, p) => n + p.comments.length, 0)).toBe(POSTS * COMMENTS_PER_POST);
        expect(list.every((p) => p.author.id === p.authorId)).toBe(true);
      }),
    );
    expect(starts).toHaveLength(1);
    expect(findings).toEqual([]);
  });

  it('one inArray query for all the listed posts reports nothing', async () => {
    const { findings, starts } = await withDb((db, lens) =>
      lens.scope('drizzle inArray', async () => {
        const list = await db.select().from(t.posts);
        const rows = await db.select().from(t.comments).where(inArray(t.comments.postId, list.map((p) => p.id)));
        expect(rows).toHaveLength(POSTS * COMMENTS_PER_POST);
      }),
    );
    expect(starts).toHaveLength(2);
    expect(findings).toEqual([]);
  });
});

describe('withDrizzle: what never counts', () => {
  it('Drizzle issues no bootstrap statement, and its BEGIN/SAVEPOINT/COMMIT never count', async () => {
    const { findings, starts } = await withDb((db, lens) =>
      lens.scope('drizzle transactions', async () => {
        // Four transactions (below the N+1 threshold), each with a nested one: control statements repeat 4×.
        for (const id of [1, 2, 3, 4]) {
          await db.transaction(async (tx) => {
            await tx.select().from(t.posts).where(and(eq(t.posts.id, id), eq(t.posts.id, id)));
            await tx.transaction(async () => {});
          });
        }
      }),
    );
    // Only what the application asked for: no version probe or type lookup on a fresh db.
    expect(starts.filter((e) => e.operation?.orm === 'drizzle')).toHaveLength(4);
    expect(starts).toHaveLength(4 * 5);
    expect(findings).toEqual([]);
  });
});

describe('withDrizzle: bad input', () => {
  it('returns the same db, and wiring twice is harmless', async () => {
    const lens = createLens({ mode: 'development', logger: false });
    const pool = lens.instrument(database.pool({ max: 1 }));
    try {
      const db = makeDb(pool, t);
      expect(withDrizzle(db, lens)).toBe(db);
      expect(withDrizzle(db, lens)).toBe(db);
      const log = recordEvents(lens, ['query-start']);
      await lens.scope('twice', () => db.select().from(t.posts).where(eq(t.posts.id, 1)));
      expect(log.starts()).toHaveLength(1);
    } finally {
      await pool.end();
      await lens.close();
    }
  });

  it('rejects objects that are not a Drizzle db, naming the node-postgres wiring', () => {
    const lens = createLens({ mode: 'development', logger: false });
    expect(() => withDrizzle({}, lens)).toThrow(TypeError);
    expect(() => withDrizzle({}, lens)).toThrow(/drizzle-orm\/node-postgres.*lens\.instrument\(pool\)/);
    expect(() => withDrizzle(null as unknown as object, lens)).toThrow(/got null/);
    expect(() => withDrizzle(database as unknown as object, lens)).toThrow(TypeError);
  });

  it('rejects a Drizzle db on another driver (PGlite), saying to use drizzle-orm/node-postgres with lens.instrument(pool)', () => {
    const lens = createLens({ mode: 'development', logger: false });
    const pgliteDb = drizzlePglite.mock();
    expect(() => withDrizzle(pgliteDb, lens)).toThrow(TypeError);
    expect(() => withDrizzle(pgliteDb, lens)).toThrow(/node-postgres only; this db runs on PgliteSession.*lens\.instrument\(pool\)/);
  });

  it('rejects a node-postgres Drizzle db without a pg pool or client', () => {
    const lens = createLens({ mode: 'development', logger: false });
    expect(() => withDrizzle(drizzle.mock(), lens)).toThrow(/found no node-postgres pool or client/);
  });
});
