/**
 * Knex 3.3 and Objection 3 on a real PostgreSQL, through querylens/adapters/knex: the wiring
 * (`connectionPool: lens.instrument(pool)`, and the `afterCreate` hook for older Knex), the call
 * site of a lazy builder at the application's line, the canonical N+1 of each (a query per row;
 * `$relatedQuery` per row) with its fix text, the fixed versions reporting nothing, and Knex's
 * connection bootstrap (`select version()`) never counting.
 */
import knexFactory, { type Knex } from 'knex';
import { Model } from 'objection';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type Finding, type Lens, type QueryEndEvent } from 'querylens';
import { querylensAfterCreate, withKnex, withObjection } from 'querylens/adapters/knex';
import { tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';
import { here } from '../../helpers/here.js';
import { collectFindings, recordEvents } from '../../helpers/record-events.js';

const FILE = 'test/integration/adapters/knex.test.ts';

let db: TestDatabase;
let admin: pg.Pool;
let s: string;
let posts: string;
let comments: string;
let authors: string;

beforeAll(async () => {
  db = await testDatabase();
  admin = db.pool({ max: 2 });
  s = tableName('knex');
  posts = `${s}.posts`;
  comments = `${s}.comments`;
  authors = `${s}.authors`;
  await admin.query(`CREATE SCHEMA ${s}`);
  await admin.query(`
    CREATE TABLE ${authors} (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE ${posts} (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES ${authors}, title text NOT NULL);
    CREATE TABLE ${comments} (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES ${posts}, body text NOT NULL);
    INSERT INTO ${authors} (name) SELECT 'author ' || g FROM generate_series(1, 5) g;
    INSERT INTO ${posts} (author_id, title) SELECT 1 + (g - 1) % 5, 'post ' || g FROM generate_series(1, 10) g;
    INSERT INTO ${comments} (post_id, body) SELECT 1 + (g - 1) / 3, 'comment ' || g FROM generate_series(1, 30) g;
  `);
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.end();
  await db.close();
});

interface Setup {
  readonly lens: Lens;
  readonly knex: Knex;
  readonly findings: Finding[];
}

/** A lens, an instrumented pool and a Knex on it (the wiring the README shows); all closed after `body`. */
async function withSetup(body: (setup: Setup) => Promise<void>, max = 3, budget: number | false = false): Promise<Finding[]> {
  const lens = createLens({ mode: 'development', logger: false, budget });
  const findings = collectFindings(lens);
  const pool = lens.instrument(db.pool({ max }));
  const knex = withKnex(knexFactory({ client: 'pg', connectionPool: pool }), lens);
  try {
    await body({ lens, knex, findings });
  } finally {
    await knex.destroy();
    await pool.end();
    await lens.close();
  }
  return findings;
}

const lineOf = (e: QueryEndEvent): number | undefined => (e.operation?.callsite ?? e.callsite)?.resolve()?.line;

describe('Knex', () => {
  it('sees every statement, with table, method and the line that built it, transactions on one connection', async () => {
    await withSetup(async ({ lens, knex }) => {
      const log = recordEvents(lens, ['query-end']);
      let selectLine = 0;
      let insertLine = 0;
      let trxLine = 0;
      await lens.scope('wiring', async () => {
        const rows = await knex(posts).where('id', 1).first(); selectLine = here().line;
        expect(rows).toMatchObject({ id: 1, title: 'post 1' });
        await knex.transaction(async (trx) => {
          await trx(comments).insert({ post_id: 1, body: 'in a transaction' }); insertLine = here().line;
          await trx(comments).where('body', 'in a transaction').del(); trxLine = here().line;
        });
      });
      const ends = log.ends();
      // every statement Knex sent, bootstrap included
      const texts = ends.map((e) => e.text);
      expect(texts).toContain('select version();');
      expect(texts.filter((t) => t === 'BEGIN;' || t === 'COMMIT;')).toEqual(['BEGIN;', 'COMMIT;']);
      const select = ends.find((e) => e.text.startsWith('select * from'))!;
      expect(select.operation).toMatchObject({ orm: 'knex', model: posts, operation: 'first' });
      expect(select.operation?.callsite?.resolve()).toMatchObject({ file: FILE, line: selectLine });
      const insert = ends.find((e) => e.text.startsWith('insert into'))!;
      const del = ends.find((e) => e.text.startsWith('delete from'))!;
      expect(insert.operation).toMatchObject({ orm: 'knex', model: comments, operation: 'insert' });
      expect(del.operation).toMatchObject({ orm: 'knex', model: comments, operation: 'del' });
      expect(lineOf(insert)).toBe(insertLine);
      expect(lineOf(del)).toBe(trxLine);
      // the transaction's statements ran on one connection
      const begin = ends.findIndex((e) => e.text === 'BEGIN;');
      const commit = ends.findIndex((e) => e.text === 'COMMIT;');
      const inTrx = ends.slice(begin, commit + 1);
      expect(inTrx.map((e) => e.text.split(' ')[0])).toEqual(['BEGIN;', 'insert', 'delete', 'COMMIT;']);
      expect(inTrx[0]!.connection).toBeDefined();
      expect(new Set(inTrx.map((e) => e.connection)).size).toBe(1);
      expect(ends.every((e) => e.scope?.name === 'wiring')).toBe(true);
    });
  });

  it('knows the line of knex.raw and of builders in a promise-form transaction', async () => {
    await withSetup(async ({ lens, knex }) => {
      const log = recordEvents(lens, ['query-end']);
      let rawLine = 0;
      let trxLine = 0;
      await lens.scope('raw and trx', async () => {
        await knex.raw('select count(*) from ' + posts); rawLine = here().line;
        const trx = await knex.transaction();
        await trx(authors).where('id', 3).first(); trxLine = here().line;
        await trx.commit();
      });
      const raw = log.ends().find((e) => e.text.startsWith('select count(*)'))!;
      expect(raw.operation).toMatchObject({ orm: 'knex', operation: 'raw' });
      expect(lineOf(raw)).toBe(rawLine);
      const inTrx = log.ends().find((e) => e.text.includes('"authors"'))!;
      expect(inTrx.operation).toMatchObject({ orm: 'knex', model: authors, operation: 'first' });
      expect(lineOf(inTrx)).toBe(trxLine);
      const begin = log.ends().find((e) => e.text === 'BEGIN;')!;
      expect(inTrx.connection).toBe(begin.connection);
    });
  });

  it('reports a query per row as an N+1 at the loop line, with a whereIn fix', async () => {
    let loopLine = 0;
    const findings = await withSetup(({ lens, knex }) =>
      lens.scope('knex n+1', async () => {
        const list = await knex(posts).select('id', 'title').orderBy('id');
        for (const post of list) {
          await knex(comments).where('post_id', post.id); loopLine = here().line;
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    const [f] = findings;
    expect(f).toMatchObject({ kind: 'n-plus-one', orm: 'knex', count: 10, distinctParams: 10, callsite: { file: FILE, line: loopLine }, scope: { name: 'knex n+1' } });
    expect(f).toMatchObject({ parent: { evidence: 'result-rows' } });
    expect(f!.suggestion).toContain("knex('comments').whereIn('post_id', ids)");
  });

  it('reports the N+1 of a builder built on one line and awaited later, at the line that built it', async () => {
    let builtLine = 0;
    const findings = await withSetup(({ lens, knex }) =>
      lens.scope('deferred', async () => {
        const list = await knex(posts).select('id');
        for (const post of list) {
          const query = knex(comments).select('body'); builtLine = here().line;
          query.where('post_id', post.id);
          await query;
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]!.callsite).toMatchObject({ file: FILE, line: builtLine });
  });

  it('reports nothing for the fixed version: one whereIn for all the posts', async () => {
    const findings = await withSetup(({ lens, knex }) =>
      lens.scope('knex fixed', async () => {
        const list = await knex(posts).select('id', 'title').orderBy('id');
        const all = await knex(comments).whereIn(
          'post_id',
          list.map((p: { id: number }) => p.id),
        );
        expect(all).toHaveLength(30);
      }),
    );
    expect(findings).toEqual([]);
  });

  it('does not count the connection bootstrap (select version() on each first connect) of a scope that opens the pool', async () => {
    const findings = await withSetup(async ({ lens, knex }) => {
      const log = recordEvents(lens, ['query-end']);
      await lens.scope('first queries', () =>
        // up to four connections open at once, each checking the server version (how many depends
        // on how fast the first ones come back: at least one)
        Promise.all([knex(posts).count(), knex(comments).count(), knex(authors).count(), knex.raw('select 1 as one')]),
      );
      expect(log.ends().filter((e) => e.text === 'select version();').length).toBeGreaterThanOrEqual(1);
      expect(log.ends().every((e) => e.scope?.name === 'first queries')).toBe(true);
      // a budget of exactly the four application statements: the version checks are not counted
    }, 4, 4);
    expect(findings).toEqual([]);
  });

  it('wires older Knex through pool.afterCreate: every statement of its own pool is seen', async () => {
    const lens = createLens({ mode: 'development', logger: false });
    const log = recordEvents(lens, ['query-end']);
    let chained = 0;
    const knex = withKnex(
      knexFactory({
        client: 'pg',
        connection: db.url,
        pool: { min: 0, max: 2, afterCreate: querylensAfterCreate(lens, (_conn, done) => { chained++; done(null, _conn); }) },
      }),
      lens,
    );
    try {
      let line = 0;
      await lens.scope('after create', async () => {
        await knex(posts).where('id', 2).first(); line = here().line;
      });
      expect(chained).toBe(1);
      const select = log.ends().find((e) => e.text.startsWith('select * from'));
      expect(select?.operation).toMatchObject({ orm: 'knex', model: posts, operation: 'first' });
      expect(lineOf(select!)).toBe(line);
    } finally {
      await knex.destroy();
      await lens.close();
    }
  });

  it('rejects what it cannot observe, saying what to do instead', () => {
    const lens = createLens({ mode: 'development', logger: false });
    expect(() => withKnex({} as unknown as Knex, lens)).toThrow(TypeError);
    expect(() => withKnex({} as unknown as Knex, lens)).toThrow(/expects a Knex instance .*connectionPool: lens\.instrument\(pool\)/);
    const mysql = knexFactory({ client: 'mysql2' });
    expect(() => withKnex(mysql, lens)).toThrow(/needs a Knex on node-postgres .*"mysql2".*client: 'pg'/);
    expect(() => withKnex(knexFactory({ client: 'pg' }), {} as Lens)).toThrow(/expects the lens second/);
    expect(() => withObjection(class NotAModel {} as never, lens)).toThrow(/expects an Objection model class/);
  });
});

describe('Objection', () => {
  /** Models bound to a Knex on the instrumented pool; a fresh base class per test, so each has its lens. */
  async function withModels(body: (lens: Lens, m: { Post: typeof Model & { new (): PostRow } }) => Promise<void>): Promise<Finding[]> {
    return withSetup(async ({ lens, knex }) => {
      class Base extends Model {}
      withObjection(Base, lens);
      Base.knex(knex);
      class Author extends Base {
        static override tableName = authors;
      }
      class Post extends Base {
        static override tableName = posts;
        static override relationMappings = {
          author: { relation: Model.BelongsToOneRelation, modelClass: Author, join: { from: `${posts}.author_id`, to: `${authors}.id` } },
        };
      }
      await body(lens, { Post: Post as unknown as typeof Model & { new (): PostRow } });
    });
  }

  interface PostRow extends Model {
    id: number;
    author?: { name: string };
  }

  it('reports $relatedQuery per row as an N+1 at the loop line, with a withGraphFetched fix', async () => {
    let loopLine = 0;
    const findings = await withModels((lens, { Post }) =>
      lens.scope('objection n+1', async () => {
        const list = (await Post.query().orderBy('id')) as PostRow[];
        for (const post of list) {
          await post.$relatedQuery('author'); loopLine = here().line;
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    const [f] = findings;
    expect(f).toMatchObject({ orm: 'objection', count: 10, distinctParams: 5, callsite: { file: FILE, line: loopLine } });
    expect(f).toMatchObject({ parent: { evidence: 'result-rows' } });
    expect(f!.suggestion).toContain(".withGraphFetched('author')");
    expect(f!.suggestion).toContain("instead of $relatedQuery('author') per row");
  });

  it('reports nothing for the fixed version: withGraphFetched', async () => {
    const findings = await withModels((lens, { Post }) =>
      lens.scope('objection fixed', async () => {
        const list = (await Post.query().withGraphFetched('author').orderBy('id')) as PostRow[];
        expect(list).toHaveLength(10);
        expect(list[0]!.author).toMatchObject({ name: 'author 1' });
      }),
    );
    expect(findings).toEqual([]);
  });
});
