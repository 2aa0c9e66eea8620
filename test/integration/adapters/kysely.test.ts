/**
 * The Kysely adapter against a real PostgreSQL and the real kysely (PostgresDialect on a pg pool):
 * wiring and transactions, the canonical N+1 reported at this file's loop line with Kysely's fix,
 * the fixed versions (`jsonArrayFrom`, `where in`) quiet, transaction control never counted, bad input.
 */
import { Kysely, PostgresDialect, SqliteDialect, sql, type Generated } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';
import Cursor from 'pg-cursor';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLens, type Finding, type Lens, type QueryStartEvent } from 'querylens';
import { withKysely } from 'querylens/adapters/kysely';
import { testDatabase, type TestDatabase } from '../../helpers/database.js';
import { here } from '../../helpers/here.js';
import { recordEvents } from '../../helpers/record-events.js';
import { AUTHORS, COMMENTS_PER_POST, POSTS, collectFindings, createBlogSchema, described, nPlusOnes, type BlogSchema } from './drizzle-kysely-schema.js';

const FILE = 'test/integration/adapters/kysely.test.ts';

interface BlogDB {
  authors: { id: Generated<number>; name: string };
  posts: { id: Generated<number>; author_id: number; title: string };
  comments: { id: Generated<number>; post_id: number; author_id: number; body: string };
}

let database: TestDatabase;
let admin: pg.Pool;
let blog: BlogSchema;

beforeAll(async () => {
  database = await testDatabase();
  admin = database.pool({ max: 2 });
  blog = await createBlogSchema(admin, 'kysely');
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

/**
 * A lens in development mode, an instrumented pool, and a wired Kysely on it scoped to this file's
 * PostgreSQL schema (`withSchema`, so the executor the adapter wired is also derived once).
 */
async function withDb(body: (db: Kysely<BlogDB>, lens: Lens, pool: pg.Pool) => Promise<void>, options: { wire?: boolean } = {}): Promise<Run> {
  const lens = createLens({ mode: 'development', logger: false });
  const findings = collectFindings(lens);
  const log = recordEvents(lens, ['query-start']);
  const pool = lens.instrument(database.pool({ max: 4 }));
  const plain = new Kysely<BlogDB>({ dialect: new PostgresDialect({ pool }) });
  const root = options.wire === false ? plain : withKysely(plain, lens);
  try {
    await body(root.withSchema(blog.s), lens, pool);
  } finally {
    await root.destroy(); // ends the pool
    await lens.close();
  }
  return { findings, starts: log.starts() };
}

describe('withKysely: wiring', () => {
  it('every statement produces an event naming kysely, the table from the query AST, the operation and the calling line', async () => {
    const lines: number[] = [];
    const { starts, findings } = await withDb((db, lens) =>
      lens.scope('wiring', async () => {
        const rows = await db.selectFrom('posts as p').selectAll().where('p.id', '=', 1).execute(); lines.push(here().line);
        expect(rows).toHaveLength(1);
        const author = await db.insertInto('authors').values({ name: 'new' }).returning('id').executeTakeFirstOrThrow(); lines.push(here().line);
        await db.updateTable('authors').set({ name: 'renamed' }).where('id', '=', author.id).execute(); lines.push(here().line);
        await db.deleteFrom('authors').where('id', '=', author.id).execute(); lines.push(here().line);
        await sql`select count(*) from ${sql.table(`${blog.s}.comments`)}`.execute(db); lines.push(here().line);
      }),
    );
    expect(starts.map(described)).toEqual([
      { orm: 'kysely', model: 'posts', operation: 'select', line: lines[0] },
      { orm: 'kysely', model: 'authors', operation: 'insert', line: lines[1] },
      { orm: 'kysely', model: 'authors', operation: 'update', line: lines[2] },
      { orm: 'kysely', model: 'authors', operation: 'delete', line: lines[3] },
      { orm: 'kysely', model: undefined, operation: 'raw', line: lines[4] },
    ]);
    expect(starts.every((e) => e.callsite?.resolve()?.file === FILE)).toBe(true);
    expect(findings).toEqual([]);
  });

  it('a transaction runs on one connection, its statements attributed to the lines inside the callback', async () => {
    let insertLine = 0;
    let selectLine = 0;
    const { starts } = await withDb(async (db) => {
      const id = await db.transaction().execute(async (trx) => {
        const row = await trx.insertInto('authors').values({ name: 'in tx' }).returning('id').executeTakeFirstOrThrow(); insertLine = here().line;
        await trx.selectFrom('authors').selectAll().where('id', '=', row.id).execute(); selectLine = here().line;
        return row.id;
      });
      // Rolled back: the delete and ROLLBACK must have run on the connection that ran BEGIN.
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.deleteFrom('authors').where('id', '=', id).execute();
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await db.selectFrom('authors').select('id').where('id', '=', id).execute()).toHaveLength(1);
      await db.deleteFrom('authors').where('id', '=', id).execute();
    });
    const texts = starts.map((e) => e.text.toLowerCase().split(' ')[0]);
    expect(texts).toEqual(['begin', 'insert', 'select', 'commit', 'begin', 'delete', 'rollback', 'select', 'delete']);
    expect(starts[0]!.connection).toBeDefined();
    expect(new Set(starts.slice(0, 4).map((e) => e.connection)).size).toBe(1);
    expect(new Set(starts.slice(4, 7).map((e) => e.connection)).size).toBe(1);
    expect(described(starts[1]!)).toEqual({ orm: 'kysely', model: 'authors', operation: 'insert', line: insertLine });
    expect(described(starts[2]!)).toEqual({ orm: 'kysely', model: 'authors', operation: 'select', line: selectLine });
    // BEGIN/COMMIT come from Kysely's driver, not from a query the application built.
    expect(starts[0]!.operation).toBeUndefined();
  });

  it('a controlled transaction and db.connection() keep the attribution', async () => {
    let beginLine = 0;
    let trxLine = 0;
    let commitLine = 0;
    let connLine = 0;
    const { starts } = await withDb(async (db) => {
      const trx = await db.startTransaction().execute(); beginLine = here().line;
      await trx.selectFrom('posts').select('id').where('id', '=', 1).execute(); trxLine = here().line;
      await trx.commit().execute(); commitLine = here().line;
      await db.connection().execute(async (conn) => {
        await conn.selectFrom('comments').select('id').where('id', '=', 1).execute(); connLine = here().line;
      });
    });
    // BEGIN/COMMIT are Kysely's driver talking (no operation); the pg layer still finds their line.
    expect(starts.map(described)).toEqual([
      { orm: undefined, model: undefined, operation: undefined, line: beginLine },
      { orm: 'kysely', model: 'posts', operation: 'select', line: trxLine },
      { orm: undefined, model: undefined, operation: undefined, line: commitLine },
      { orm: 'kysely', model: 'comments', operation: 'select', line: connLine },
    ]);
    expect(new Set(starts.slice(0, 3).map((e) => e.connection)).size).toBe(1);
  });
  it('a streamed select (pg-cursor) is attributed to the line that iterates it', async () => {
    const lens = createLens({ mode: 'development', logger: false });
    const log = recordEvents(lens, ['query-start']);
    const pool = lens.instrument(database.pool({ max: 1 }));
    const db = withKysely(new Kysely<BlogDB>({ dialect: new PostgresDialect({ pool, cursor: Cursor }) }), lens).withSchema(blog.s);
    let streamLine = 0;
    let rows = 0;
    try {
      await lens.scope('stream', async () => {
        streamLine = here().line + 1;
        for await (const row of db.selectFrom('comments').select('id').stream(7)) rows += row.id > 0 ? 1 : 0;
      });
    } finally {
      await pool.end();
      await lens.close();
    }
    expect(rows).toBe(POSTS * COMMENTS_PER_POST);
    expect(log.starts().map(described)).toEqual([{ orm: 'kysely', model: 'comments', operation: 'select', line: streamLine }]);
  });
});

describe('withKysely: N+1', () => {
  it('comments selected per listed post are an N+1 at the loop line, with the Kysely fix', async () => {
    let listLine = 0;
    let loopLine = 0;
    const { findings } = await withDb((db, lens) =>
      lens.scope('kysely comments', async () => {
        const list = await db.selectFrom('posts').selectAll().orderBy('id').execute(); listLine = here().line;
        for (const post of list) {
          await db.selectFrom('comments').selectAll().where('post_id', '=', post.id).execute(); loopLine = here().line;
        }
      }),
    );
    expect(findings).toHaveLength(1);
    const [f] = nPlusOnes(findings);
    expect(f).toMatchObject({ count: POSTS, distinctParams: POSTS, orm: 'kysely', concurrent: false, callsite: { file: FILE, line: loopLine } });
    expect(f!.parent).toMatchObject({ evidence: 'result-rows', callsite: { line: listLine } });
    expect(f!.suggestion).toContain("jsonArrayFrom(eb.selectFrom('comments').selectAll().whereRef('comments.post_id', '=', 'posts.id'))");
    expect(f!.suggestion).toContain(".where('post_id', 'in', ids)");
  });

  it("each post's author loaded by id is an N+1 whose fix is jsonObjectFrom", async () => {
    let loopLine = 0;
    const { findings } = await withDb((db, lens) =>
      lens.scope('kysely authors', async () => {
        const list = await db.selectFrom('posts').select(['id', 'author_id']).orderBy('id').execute();
        for (const post of list) {
          await db.selectFrom('authors').selectAll().where('id', '=', post.author_id).executeTakeFirst(); loopLine = here().line;
        }
      }),
    );
    expect(findings).toHaveLength(1);
    const [f] = nPlusOnes(findings);
    expect(f).toMatchObject({ count: POSTS, distinctParams: AUTHORS, orm: 'kysely', callsite: { file: FILE, line: loopLine }, parent: { evidence: 'result-rows' } });
    expect(f!.suggestion).toContain("jsonObjectFrom(eb.selectFrom('authors').selectAll().whereRef('authors.id', '=', 'posts.author_id'))");
  });

  it('a Promise.all fan-out built in a plain (non-async) map callback is reported at the map line', async () => {
    let mapLine = 0;
    const { findings } = await withDb((db, lens) =>
      lens.scope('kysely fan-out', async () => {
        const list = await db.selectFrom('posts').select('id').execute();
        mapLine = here().line + 1;
        await Promise.all(list.map((post) => db.selectFrom('comments').selectAll().where('post_id', '=', post.id).execute()));
      }),
    );
    expect(nPlusOnes(findings)).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'n-plus-one', orm: 'kysely', concurrent: true, callsite: { file: FILE, line: mapLine } });
  });

  it('a loop chained with .then() (no async function awaits Kysely) is reported at the line that calls execute()', async () => {
    let line = 0;
    const { findings } = await withDb((db, lens) => lens.scope('kysely then-chain', async () => chainedLoop(db, (n) => (line = n))));
    expect(nPlusOnes(findings)).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'n-plus-one', orm: 'kysely', callsite: { file: FILE, line } });
  });

  it('without withKysely that loop has no application call site: the adapter is what finds it', async () => {
    const { findings } = await withDb((db, lens) => lens.scope('unwired', async () => chainedLoop(db, () => {})), { wire: false });
    const [f] = nPlusOnes(findings);
    expect(f).toBeDefined();
    expect(f!.orm).toBeUndefined();
    expect(f!.callsite?.file).not.toBe(FILE);
  });
});

/**
 * Loads each post's comments one after another, callback style: each `execute()` is called from a
 * `.then` callback, so V8's async stack traces (which follow `await`s) lead back to no application frame.
 */
async function chainedLoop(db: Kysely<BlogDB>, onLine: (line: number) => void): Promise<void> {
  const list = await db.selectFrom('posts').select('id').orderBy('id').execute();
  await new Promise<void>((resolve, reject) => {
    let i = 0;
    const next = (): void => {
      const post = list[i++];
      if (post === undefined) return resolve();
      db.selectFrom('comments').selectAll().where('post_id', '=', post.id).execute().then(next, reject); onLine(here().line);
    };
    next();
  });
}

describe('withKysely: the fixed versions stay quiet', () => {
  it('posts with jsonArrayFrom(comments) and jsonObjectFrom(author) is one query and reports nothing', async () => {
    const { findings, starts } = await withDb((db, lens) =>
      lens.scope('kysely json', async () => {
        const list = await db
          .selectFrom('posts')
          .selectAll('posts')
          .select((eb) => [
            jsonArrayFrom(eb.selectFrom('comments').selectAll('comments').whereRef('comments.post_id', '=', 'posts.id')).as('comments'),
            jsonObjectFrom(eb.selectFrom('authors').selectAll('authors').whereRef('authors.id', '=', 'posts.author_id')).as('author'),
          ])
          .execute();
        expect(list).toHaveLength(POSTS);
        expect(list.reduce((n, p) => n + p.comments.length, 0)).toBe(POSTS * COMMENTS_PER_POST);
        expect(list.every((p) => p.author?.id === p.author_id)).toBe(true);
      }),
    );
    expect(starts).toHaveLength(1);
    expect(findings).toEqual([]);
  });

  it("one .where('post_id', 'in', ids) query for all the listed posts reports nothing", async () => {
    const { findings, starts } = await withDb((db, lens) =>
      lens.scope('kysely where in', async () => {
        const list = await db.selectFrom('posts').select('id').execute();
        const rows = await db.selectFrom('comments').selectAll().where('post_id', 'in', list.map((p) => p.id)).execute();
        expect(rows).toHaveLength(POSTS * COMMENTS_PER_POST);
      }),
    );
    expect(starts).toHaveLength(2);
    expect(findings).toEqual([]);
  });
});

describe('withKysely: what never counts', () => {
  it('Kysely issues no bootstrap statement, and its BEGIN/COMMIT never count', async () => {
    const { findings, starts } = await withDb((db, lens) =>
      lens.scope('kysely transactions', async () => {
        // Four transactions (below the N+1 threshold): BEGIN and COMMIT repeat 4× with identical text.
        for (const id of [1, 2, 3, 4]) {
          await db.transaction().execute((trx) => trx.selectFrom('posts').select('title').where('id', '=', id).execute());
        }
      }),
    );
    // Only what the application asked for: nothing on the fresh pool's first connection.
    expect(starts.filter((e) => e.operation?.orm === 'kysely')).toHaveLength(4);
    expect(starts).toHaveLength(4 * 3);
    expect(findings).toEqual([]);
  });
});

describe('withKysely: bad input', () => {
  it('returns the same instance, and wiring twice is harmless', async () => {
    const lens = createLens({ mode: 'development', logger: false });
    const db = new Kysely<BlogDB>({ dialect: new PostgresDialect({ pool: lens.instrument(database.pool({ max: 1 })) }) });
    try {
      expect(withKysely(db, lens)).toBe(db);
      expect(withKysely(db, lens)).toBe(db);
      const log = recordEvents(lens, ['query-start']);
      await lens.scope('twice', () => db.withSchema(blog.s).selectFrom('posts').select('id').where('id', '=', 1).execute());
      expect(log.starts()).toHaveLength(1);
    } finally {
      await db.destroy();
      await lens.close();
    }
  });

  it('rejects objects that are not a Kysely instance, naming the wiring', () => {
    const lens = createLens({ mode: 'development', logger: false });
    expect(() => withKysely({}, lens)).toThrow(TypeError);
    expect(() => withKysely({}, lens)).toThrow(/expects a Kysely instance; got a plain object.*new PostgresDialect\(\{ pool: lens\.instrument\(pool\) \}\)/);
    expect(() => withKysely(admin, lens)).toThrow(/got a BoundPool/);
  });

  it('rejects a Kysely on a dialect other than PostgreSQL', () => {
    const lens = createLens({ mode: 'development', logger: false });
    // The SQLite driver is created lazily: this never opens a database.
    const sqlite = new Kysely<BlogDB>({ dialect: new SqliteDialect({ database: {} as never }) });
    expect(() => withKysely(sqlite, lens)).toThrow(TypeError);
    expect(() => withKysely(sqlite, lens)).toThrow(/PostgresDialect on node-postgres only; this instance uses SqliteAdapter/);
  });

  it('warns once when the first query reaches no pool this lens instruments', async () => {
    const lens = createLens({ mode: 'development', logger: false });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const db = withKysely(new Kysely<BlogDB>({ dialect: new PostgresDialect({ pool: database.pool({ max: 1 }) }) }), lens);
    try {
      await db.withSchema(blog.s).selectFrom('posts').select('id').execute();
      await db.withSchema(blog.s).selectFrom('posts').select('id').execute();
      const ours = warn.mock.calls.filter((call) => JSON.stringify(call).includes('QUERYLENS_KYSELY_NOT_INSTRUMENTED'));
      expect(ours).toHaveLength(1);
      expect(String(ours[0]![0])).toContain('lens.instrument(pool)');
    } finally {
      warn.mockRestore();
      await db.destroy();
      await lens.close();
    }
  });

  it('does not warn when the pool is instrumented', async () => {
    const lens = createLens({ mode: 'development', logger: false });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const db = withKysely(new Kysely<BlogDB>({ dialect: new PostgresDialect({ pool: lens.instrument(database.pool({ max: 1 })) }) }), lens);
    try {
      await db.withSchema(blog.s).selectFrom('posts').select('id').execute();
      expect(warn.mock.calls.filter((call) => JSON.stringify(call).includes('QUERYLENS_KYSELY_NOT_INSTRUMENTED'))).toEqual([]);
    } finally {
      warn.mockRestore();
      await db.destroy();
      await lens.close();
    }
  });
});
