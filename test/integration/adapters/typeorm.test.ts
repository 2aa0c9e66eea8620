/**
 * The TypeORM adapter against a real PostgreSQL and the real typeorm package (1.x, EntitySchema
 * entities, lazy relations): the wiring sees every statement (transactions on one connection),
 * the canonical TypeORM N+1s are reported at the test's own loop line with a TypeORM fix naming
 * the relation, the eager versions report nothing, TypeORM's bootstrap never counts, and the
 * wrong object is refused with a TypeError that says what to pass.
 */
import pg from 'pg';
import { DataSource, In, type Logger as TypeORMLogger } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLens, type Finding, type Lens, type NPlusOneFinding, type QueryEndEvent } from 'querylens';
import { unwrapTypeORM, withTypeORM } from 'querylens/adapters/typeorm';
import { tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';
import { here } from '../../helpers/here.js';
import { collectFindings, recordEvents } from '../../helpers/record-events.js';
import { CommentEntity, PostEntity, entities } from './typeorm/entities.js';

const FILE = 'test/integration/adapters/typeorm.test.ts';

let db: TestDatabase;
let admin: pg.Pool;
/** This file's own PostgreSQL schema: every DataSource here uses it. */
const s = tableName('typeorm');

beforeAll(async () => {
  db = await testDatabase();
  admin = db.pool({ max: 2 });
  await admin.query(`CREATE SCHEMA ${s}`);
  // TypeORM creates the tables itself, through a DataSource no lens sees.
  const setup = new DataSource({ type: 'postgres', url: db.url, entities, schema: s, synchronize: true, logging: false });
  await setup.initialize();
  await setup.destroy();
});

beforeEach(async () => {
  await admin.query(`TRUNCATE ${s}.blog_comments, ${s}.blog_posts, ${s}.blog_users RESTART IDENTITY CASCADE`);
  await admin.query(`INSERT INTO ${s}.blog_users (name) SELECT 'user ' || g FROM generate_series(1, 5) g`);
  await admin.query(`INSERT INTO ${s}.blog_posts (title, author_id) SELECT 'post ' || g, 1 + (g - 1) % 5 FROM generate_series(1, 10) g`);
  await admin.query(`INSERT INTO ${s}.blog_comments (post_id, body) SELECT 1 + (g - 1) / 3, 'comment ' || g FROM generate_series(1, 30) g`);
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.end();
  await db.close();
});

interface Harness {
  readonly lens: Lens;
  readonly findings: Finding[];
  readonly dataSource: DataSource;
}

/** A DataSource built on `lens.pgModule(pg)` and wired with `withTypeORM` before `initialize()`, as the README says. */
function wiredDataSource(lens: Lens, options: { synchronize?: boolean; logger?: TypeORMLogger; adapter?: boolean } = {}): DataSource {
  const dataSource = new DataSource({
    type: 'postgres',
    url: db.url,
    driver: lens.pgModule(pg),
    entities,
    schema: s,
    synchronize: options.synchronize ?? false,
    logging: false,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return options.adapter === false ? dataSource : withTypeORM(dataSource, lens);
}

async function withHarness(body: (h: Harness) => Promise<void>): Promise<Finding[]> {
  const lens = createLens({ mode: 'development', logger: false });
  const findings = collectFindings(lens);
  const dataSource = wiredDataSource(lens);
  await dataSource.initialize();
  try {
    await body({ lens, findings, dataSource });
  } finally {
    await dataSource.destroy();
    await lens.close();
  }
  return findings;
}

/** A TypeORM logger that keeps every statement TypeORM says it sends. */
function statementLog(): TypeORMLogger & { readonly queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    logQuery: (query) => void queries.push(query),
    logQueryError: () => {},
    logQuerySlow: () => {},
    logSchemaBuild: () => {},
    logMigration: () => {},
    log: () => {},
  };
}

describe('withTypeORM: wiring', () => {
  it.each([
    ['driver: lens.pgModule(pg)', 'pgModule'],
    ['the pool instrumented by withTypeORM after initialize()', 'after-init'],
  ] as const)('with %s, every statement TypeORM sends is one query event, and a transaction runs on one connection', async (_label, wiring) => {
    const lens = createLens({ mode: 'development', logger: false });
    const log = statementLog();
    let dataSource: DataSource;
    if (wiring === 'pgModule') {
      dataSource = wiredDataSource(lens, { logger: log });
      await dataSource.initialize();
    } else {
      // TypeORM loads pg itself; the adapter instruments the pool it built.
      dataSource = new DataSource({ type: 'postgres', url: db.url, entities, schema: s, logger: log });
      await dataSource.initialize();
      withTypeORM(dataSource, lens);
    }
    const events = recordEvents(lens, ['query-end']);
    log.queries.length = 0;
    try {
      await lens.scope('wiring', async () => {
        const posts = dataSource.getRepository(PostEntity);
        await posts.find({ where: { id: In([1, 2]) } });
        await dataSource.getRepository(CommentEntity).save({ postId: 1, body: 'new' });
        await dataSource.transaction(async (em) => {
          await em.getRepository(PostEntity).findOneBy({ id: 1 });
          await em.update(PostEntity, { id: 1 }, { title: 'edited' });
        });
        await dataSource.query(`SELECT count(*) FROM ${s}.blog_posts`);
      });
      const ends = events.ends();
      // Same statements, same order, nothing missing and nothing seen twice.
      expect(ends.map((e) => e.text)).toEqual(log.queries);
      expect(ends.every((e) => e.error === undefined && e.scope?.name === 'wiring')).toBe(true);

      const begin = ends.findLastIndex((e) => e.text === 'START TRANSACTION');
      const tx = ends.slice(begin, begin + 4);
      expect(tx.map((e) => e.sql.command)).toEqual(['START TRANSACTION', 'SELECT', 'UPDATE', 'COMMIT']);
      expect(tx[0]!.connection).toBeDefined();
      expect(new Set(tx.map((e) => e.connection)).size).toBe(1);
      // The transaction's own EntityManager is wired too.
      expect(tx[1]!.operation).toMatchObject({ orm: 'typeorm', model: 'Post', operation: 'findOneBy' });
      expect(tx[2]!.operation).toMatchObject({ orm: 'typeorm', model: 'Post', operation: 'update' });

      expect(ends[0]!.operation).toMatchObject({ orm: 'typeorm', model: 'Post', operation: 'find' });
      const insert = ends.find((e) => e.sql.command === 'INSERT');
      expect(insert?.operation).toMatchObject({ orm: 'typeorm', model: 'Comment', operation: 'save' });
      expect(ends.at(-1)!.operation).toMatchObject({ orm: 'typeorm', operation: 'query' });
    } finally {
      await dataSource.destroy();
      await lens.close();
    }
  });

  it('is idempotent for one lens, refuses a second lens, and unwrapTypeORM puts TypeORM back', async () => {
    await withHarness(async ({ lens, dataSource }) => {
      expect(withTypeORM(dataSource, lens)).toBe(dataSource);
      const other = createLens({ mode: 'development', logger: false });
      expect(() => withTypeORM(dataSource, other)).toThrow(/already wired to another lens/);
      await other.close();

      const events = recordEvents(lens, ['query-end']);
      await dataSource.getRepository(PostEntity).findOneBy({ id: 1 });
      expect(events.ends()).toHaveLength(1);
      expect(events.ends()[0]!.operation).toMatchObject({ orm: 'typeorm', operation: 'findOneBy' });
      // TypeORM's findOneByOrFail calls findOneBy: the operation stays the one the application called.
      events.clear();
      await dataSource.getRepository(PostEntity).findOneByOrFail({ id: 1 });
      expect(events.ends().map((e) => e.operation)).toMatchObject([{ orm: 'typeorm', model: 'Post', operation: 'findOneByOrFail', parent: undefined }]);

      events.clear();
      unwrapTypeORM(dataSource);
      await dataSource.getRepository(PostEntity).findOneBy({ id: 1 });
      expect(events.ends()).toHaveLength(1); // the pool is still instrumented
      expect(events.ends()[0]!.operation).toBeUndefined();
    });
  });
});

describe('withTypeORM: N+1', () => {
  it('awaiting a lazy relation per post is an N+1 at the loop line, with relations: { author: true }', async () => {
    let loopLine = 0;
    let listLine = 0;
    let relationEvents: QueryEndEvent[] = [];
    const findings = await withHarness(async ({ lens, dataSource }) => {
      const events = recordEvents(lens, ['query-end']);
      await lens.scope('lazy authors', async () => {
        const posts = await dataSource.getRepository(PostEntity).find(); listLine = here().line;
        for (const post of posts) {
          await post.author; loopLine = here().line;
        }
      });
      relationEvents = events.ends().filter((e) => e.operation?.relation !== undefined);
    });
    expect(findings).toHaveLength(1);
    const f = findings[0] as NPlusOneFinding;
    expect(f).toMatchObject({ kind: 'n-plus-one', count: 10, distinctParams: 10, orm: 'typeorm', scope: { name: 'lazy authors' } });
    expect(f.callsite).toMatchObject({ file: FILE, line: loopLine });
    expect(f.parent).toMatchObject({ callsite: { file: FILE, line: listLine } });
    expect(f.suggestion).toContain('find({ relations: { author: true } })');
    expect(f.suggestion).toContain("leftJoinAndSelect('parent.author', 'author')");
    expect(relationEvents).toHaveLength(10);
    expect(relationEvents[0]!.operation).toMatchObject({ orm: 'typeorm', model: 'Post', operation: 'lazyLoad', relation: 'author' });
  });

  it('a findBy on the foreign key per post is an N+1 that names the inverse relation (comments, not the table)', async () => {
    let loopLine = 0;
    const findings = await withHarness(async ({ lens, dataSource }) => {
      await lens.scope('comments per post', async () => {
        const comments = dataSource.getRepository(CommentEntity);
        for (const post of await dataSource.getRepository(PostEntity).find()) {
          await comments.findBy({ postId: post.id }); loopLine = here().line;
        }
      });
    });
    expect(findings).toHaveLength(1);
    const f = findings[0] as NPlusOneFinding;
    expect(f).toMatchObject({ kind: 'n-plus-one', count: 10, distinctParams: 10, orm: 'typeorm' });
    expect(f.callsite).toMatchObject({ file: FILE, line: loopLine });
    expect(f.parent).toMatchObject({ evidence: 'result-rows' });
    expect(f.suggestion).toContain('find({ relations: { comments: true } })');
    expect(f.suggestion).not.toContain('blog_comments: true');
  });

  it('a query builder per post is an N+1 reported as TypeORM at the loop line', async () => {
    let loopLine = 0;
    const findings = await withHarness(async ({ lens, dataSource }) => {
      await lens.scope('builder per post', async () => {
        for (const post of await dataSource.getRepository(PostEntity).find()) {
          await dataSource.getRepository(CommentEntity).createQueryBuilder('c').where('c.postId = :id', { id: post.id }).getMany(); loopLine = here().line;
        }
      });
    });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'n-plus-one', count: 10, orm: 'typeorm', callsite: { file: FILE, line: loopLine } });
    expect(findings[0]!.suggestion).toMatch(/^TypeORM: /);
  });

  // Each fix in a unit of work of its own: the same rows fetched twice in one unit would
  // (rightly) be a duplicate.
  it.each([
    [
      "find({ relations: { author: true } }), then reading post.author",
      async (ds: DataSource) => {
        for (const post of await ds.getRepository(PostEntity).find({ relations: { author: true } })) {
          await post.author; // loaded with the posts: no query
        }
      },
      1,
    ],
    [
      "relationLoadStrategy: 'query' (one batched query per relation)",
      async (ds: DataSource) => {
        await ds.getRepository(PostEntity).find({ relations: { author: true, comments: true }, relationLoadStrategy: 'query' });
      },
      4,
    ],
    [
      'leftJoinAndSelect in a query builder',
      async (ds: DataSource) => {
        await ds.getRepository(PostEntity).createQueryBuilder('post').leftJoinAndSelect('post.comments', 'comments').getMany();
      },
      1,
    ],
    [
      'one findBy({ postId: In(ids) }) for all posts',
      async (ds: DataSource) => {
        const posts = await ds.getRepository(PostEntity).find();
        await ds.getRepository(CommentEntity).findBy({ postId: In(posts.map((p) => p.id)) });
      },
      2,
    ],
  ] as const)('the fixed version — %s — reports nothing', async (_label, load, statements) => {
    let ends: QueryEndEvent[] = [];
    const findings = await withHarness(async ({ lens, dataSource }) => {
      const events = recordEvents(lens, ['query-end']);
      await lens.scope('eager', () => load(dataSource));
      ends = events.ends();
    });
    expect(findings).toEqual([]);
    expect(ends).toHaveLength(statements);
  });

  it('the same lazy relation read for one post only is not an N+1', async () => {
    const findings = await withHarness(async ({ lens, dataSource }) => {
      await lens.scope('one post', async () => {
        const post = await dataSource.getRepository(PostEntity).findOneByOrFail({ id: 3 });
        await post.author;
      });
    });
    expect(findings).toEqual([]);
  });
});

describe('withTypeORM: bootstrap', () => {
  /** Two DataSources initialised (with schema synchronization) inside one unit of work. */
  async function bootTwice(adapter: boolean): Promise<{ findings: Finding[]; ends: QueryEndEvent[] }> {
    const lens = createLens({ mode: 'development', logger: false });
    const findings = collectFindings(lens);
    const events = recordEvents(lens, ['query-end']);
    const sources = [wiredDataSource(lens, { synchronize: true, adapter }), wiredDataSource(lens, { synchronize: true, adapter })];
    try {
      await lens.scope('boot', async () => {
        for (const source of sources) await source.initialize();
      });
    } finally {
      for (const source of sources) if (source.isInitialized) await source.destroy();
      await lens.close();
    }
    return { findings, ends: events.ends() };
  }

  it('TypeORM bootstrap (version, current_schema, synchronize) is observed but never counted', async () => {
    const { findings, ends } = await bootTwice(true);
    expect(findings).toEqual([]);
    const texts = ends.map((e) => e.text);
    expect(texts).toContain('SELECT version()');
    expect(texts).toContain('SELECT * FROM current_schema()');
    expect(texts.some((t) => t.includes('information_schema'))).toBe(true);
    expect(ends.every((e) => e.ignored)).toBe(true);
  });

  it('without the adapter, the same bootstrap reports duplicates (what the test above guards against)', async () => {
    const { findings } = await bootTwice(false);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.some((f) => f.kind === 'duplicate' && f.sql.includes('current_schema()'))).toBe(true);
  });
});

describe('withTypeORM: bad input', () => {
  it('refuses what is not a TypeORM DataSource, saying what to pass', async () => {
    const lens = createLens({ mode: 'development', logger: false });
    const pool = db.pool();
    const dataSource = wiredDataSource(lens, { adapter: false });
    try {
      const asDataSource = (value: unknown) => value as DataSource;
      expect(() => withTypeORM(asDataSource({}), lens)).toThrow(TypeError);
      expect(() => withTypeORM(asDataSource(null), lens)).toThrow(/expects a TypeORM DataSource \(new DataSource\(\{ type: 'postgres'/);
      expect(() => withTypeORM(asDataSource(dataSource.getRepository(PostEntity)), lens)).toThrow(/Repository: pass repository\.manager\.dataSource/);
      expect(() => withTypeORM(asDataSource(dataSource.manager), lens)).toThrow(/EntityManager: pass manager\.dataSource/);
      expect(() => withTypeORM(asDataSource(pool), lens)).toThrow(/pg\.Pool: use lens\.instrument\(pool\)/);
      expect(() => withTypeORM(dataSource, asDataSource({}) as unknown as Lens)).toThrow(/expects a lens from createLens\(\)/);
    } finally {
      await pool.end();
      await lens.close();
    }
  });

  it('refuses a DataSource of another database type, pointing at type: postgres', async () => {
    const lens = createLens({ mode: 'development', logger: false });
    try {
      // Constructing it connects to nothing.
      const mysql = new DataSource({ type: 'mysql', host: '127.0.0.1', entities });
      expect(() => withTypeORM(mysql, lens)).toThrow(TypeError);
      expect(() => withTypeORM(mysql, lens)).toThrow(/type 'postgres' \(node-postgres\), not "mysql".*driver: lens\.pgModule\(pg\)/);
    } finally {
      await lens.close();
    }
  });
});
