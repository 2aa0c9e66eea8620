/**
 * Sequelize 6 on a real PostgreSQL, through querylens/adapters/sequelize: the wiring
 * (`dialectModule: lens.pgModule(pg)`), model/association names and the application's line on
 * every statement, the canonical N+1 (`post.getAuthor()` / `post.getComments()` per row) with its
 * `include` fix, the eager-loaded version reporting nothing, Sequelize's inlined literals, and the
 * connection bootstrap (SET …, the pg_type lookup) never counting.
 */
import pg from 'pg';
import { DataTypes, Sequelize, type ModelStatic, type Model } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type Finding, type Lens } from 'querylens';
import { withSequelize } from 'querylens/adapters/sequelize';
import { tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';
import { here } from '../../helpers/here.js';
import { collectFindings, recordEvents } from '../../helpers/record-events.js';

const FILE = 'test/integration/adapters/sequelize.test.ts';

let db: TestDatabase;
let admin: pg.Pool;
let s: string;

beforeAll(async () => {
  db = await testDatabase();
  admin = db.pool({ max: 2 });
  s = tableName('sequelize');
  await admin.query(`CREATE SCHEMA ${s}`);
  await admin.query(`
    CREATE TABLE ${s}.authors (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE ${s}.posts (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES ${s}.authors, title text NOT NULL);
    CREATE TABLE ${s}.comments (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES ${s}.posts, body text NOT NULL);
    INSERT INTO ${s}.authors (name) SELECT 'author ' || g FROM generate_series(1, 5) g;
    INSERT INTO ${s}.posts (author_id, title) SELECT 1 + (g - 1) % 5, 'post ' || g FROM generate_series(1, 10) g;
    INSERT INTO ${s}.comments (post_id, body) SELECT 1 + (g - 1) / 3, 'comment ' || g FROM generate_series(1, 30) g;
  `);
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.end();
  await db.close();
});

type AnyModel = ModelStatic<Model>;
interface PostInstance extends Model {
  id: number;
  getAuthor(): Promise<Model | null>;
  getComments(): Promise<Model[]>;
}

interface Setup {
  readonly lens: Lens;
  readonly sequelize: Sequelize;
  readonly User: AnyModel;
  readonly Post: AnyModel;
  readonly Comment: AnyModel;
  readonly findings: Finding[];
}

/**
 * The wiring the README shows. `User` is defined before `withSequelize`, `Post` and `Comment` after
 * (both paths are covered); associations come last, as applications usually make them.
 */
async function withSetup(body: (setup: Setup) => Promise<void>, options: { adapter?: boolean; max?: number; budget?: number } = {}): Promise<Finding[]> {
  const lens = createLens({ mode: 'development', logger: false, ...(options.budget === undefined ? {} : { budget: options.budget }) });
  const findings = collectFindings(lens);
  const sequelize = new Sequelize(db.url, { dialect: 'postgres', dialectModule: lens.pgModule(pg), logging: false, pool: { max: options.max ?? 3 } });
  const table = { schema: s, timestamps: false } as const;
  const User = sequelize.define('User', { id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true }, name: DataTypes.TEXT }, { ...table, tableName: 'authors' });
  if (options.adapter !== false) withSequelize(sequelize, lens);
  const Post = sequelize.define('Post', { id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true }, author_id: DataTypes.INTEGER, title: DataTypes.TEXT }, { ...table, tableName: 'posts' });
  const Comment = sequelize.define('Comment', { id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true }, post_id: DataTypes.INTEGER, body: DataTypes.TEXT }, { ...table, tableName: 'comments' });
  Post.belongsTo(User, { as: 'author', foreignKey: 'author_id' });
  Post.hasMany(Comment, { as: 'comments', foreignKey: 'post_id' });
  try {
    await body({ lens, sequelize, User, Post, Comment, findings });
  } finally {
    await sequelize.close();
    await lens.close();
  }
  return findings;
}

describe('Sequelize', () => {
  it('sees every statement with model, operation and the calling line, transactions on one connection', async () => {
    await withSetup(async ({ lens, sequelize, Post, Comment }) => {
      const log = recordEvents(lens, ['query-end']);
      let findLine = 0;
      let createLine = 0;
      let destroyLine = 0;
      await lens.scope('wiring', async () => {
        const post = await Post.findByPk(1); findLine = here().line;
        expect(post?.get('title')).toBe('post 1');
        await sequelize.transaction(async (transaction) => {
          await Comment.create({ post_id: 1, body: 'in a transaction' }, { transaction }); createLine = here().line;
          await Comment.destroy({ where: { body: 'in a transaction' }, transaction }); destroyLine = here().line;
        });
      });
      const ends = log.ends();
      expect(ends.every((e) => e.scope?.name === 'wiring')).toBe(true);
      // the bootstrap of the first connection is seen, and marked as not to be analysed
      const setup = ends.filter((e) => e.text.includes('SET client_min_messages') || e.text.includes('FROM pg_type'));
      expect(setup.length).toBeGreaterThanOrEqual(2);
      expect(setup.every((e) => e.ignored)).toBe(true);
      const find = ends.find((e) => e.text.startsWith('SELECT') && e.text.includes('"posts"'))!;
      expect(find.operation).toMatchObject({ orm: 'sequelize', model: 'Post', operation: 'findByPk' });
      expect(find.operation?.callsite?.resolve()).toMatchObject({ file: FILE, line: findLine });
      // Sequelize inlines the key: the fingerprint still groups it with the parameterized shape
      expect(find.text).toMatch(/"id" = 1;?$/);
      const begin = ends.findIndex((e) => e.text.startsWith('START TRANSACTION'));
      const commit = ends.findIndex((e) => e.text.startsWith('COMMIT'));
      expect(begin).toBeGreaterThan(0);
      const inTrx = ends.slice(begin, commit + 1);
      expect(inTrx.map((e) => e.text.split(' ')[0])).toEqual(['START', 'INSERT', 'DELETE', 'COMMIT;']);
      expect(new Set(inTrx.map((e) => e.connection)).size).toBe(1);
      expect(inTrx[1]!.operation).toMatchObject({ orm: 'sequelize', model: 'Comment', operation: 'create' });
      expect(inTrx[1]!.operation?.callsite?.resolve()?.line).toBe(createLine);
      expect(inTrx[2]!.operation).toMatchObject({ orm: 'sequelize', model: 'Comment', operation: 'destroy' });
      expect(inTrx[2]!.operation?.callsite?.resolve()?.line).toBe(destroyLine);
    });
  });

  it('reports post.getAuthor() per row as an N+1 at the loop line, with an include fix', async () => {
    let loopLine = 0;
    const findings = await withSetup(({ lens, Post }) =>
      lens.scope('getAuthor per post', async () => {
        for (const post of (await Post.findAll({ order: [['id', 'ASC']] })) as PostInstance[]) {
          await post.getAuthor(); loopLine = here().line;
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    const [f] = findings;
    expect(f).toMatchObject({ kind: 'n-plus-one', orm: 'sequelize', count: 10, distinctParams: 5, callsite: { file: FILE, line: loopLine } });
    expect(f).toMatchObject({ parent: { evidence: 'result-rows' } });
    expect(f!.suggestion).toContain("include: [{ model: User, as: 'author' }]");
  });

  it('reports post.getComments() per row as an N+1 naming the comments association', async () => {
    let loopLine = 0;
    const findings = await withSetup(({ lens, Post }) =>
      lens.scope('getComments per post', async () => {
        const list = (await Post.findAll()) as PostInstance[];
        for (const post of list) {
          await post.getComments(); loopLine = here().line;
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ orm: 'sequelize', count: 10, distinctParams: 10, callsite: { file: FILE, line: loopLine } });
    expect(findings[0]!.suggestion).toContain("include: [{ model: Comment, as: 'comments' }]");
  });

  it('reports nothing for the fixed version: the association included in the parent query', async () => {
    const findings = await withSetup(({ lens, Post, User }) =>
      lens.scope('eager', async () => {
        const list = await Post.findAll({ include: [{ model: User, as: 'author' }, 'comments'] });
        expect(list).toHaveLength(10);
        expect((list[0]!.get('author') as Model).get('name')).toMatch(/^author /);
      }),
    );
    expect(findings).toEqual([]);
  });

  it('does not count the connection bootstrap of a scope that opens the pool, several connections at once', async () => {
    // Five application statements, a budget of five: one more counted statement is a finding.
    const burst = async ({ lens, Post, Comment, User, sequelize }: Setup): Promise<void> => {
      await lens.scope('first queries', () =>
        Promise.all([Post.count(), Comment.count(), User.count(), sequelize.query('SELECT 1 AS one'), Post.findAll({ where: { author_id: 1 } })]),
      );
    };
    let bootstrap: string[] = [];
    const findings = await withSetup(async (setup) => {
      const log = recordEvents(setup.lens, ['query-end']);
      await burst(setup);
      bootstrap = log.ends().filter((e) => e.scope?.name === 'first queries' && e.ignored).map((e) => e.text);
    }, { max: 5, budget: 5 });
    // the scope really ran the bootstrap: the type lookup once, the session setup on each new connection
    expect(bootstrap.filter((t) => t.includes('FROM pg_type'))).toHaveLength(1);
    expect(bootstrap.filter((t) => t.startsWith('SET ')).length).toBeGreaterThanOrEqual(2);
    expect(findings).toEqual([]);
    // without the adapter the type lookup is counted (this is what the test guards)
    const unguarded = await withSetup(burst, { adapter: false, max: 5, budget: 5 });
    expect(unguarded.map((f) => f.kind)).toEqual(['query-budget']);
  });

  it('rejects what it cannot observe, saying what to do instead', async () => {
    const lens = createLens({ mode: 'development', logger: false });
    expect(() => withSequelize({} as unknown as Sequelize, lens)).toThrow(TypeError);
    expect(() => withSequelize({} as unknown as Sequelize, lens)).toThrow(/expects a Sequelize instance .*dialectModule: lens\.pgModule\(pg\)/);
    const sqlite = new Sequelize({ dialect: 'sqlite', dialectModule: {}, logging: false });
    expect(() => withSequelize(sqlite, lens)).toThrow(/needs a Sequelize on PostgreSQL; this one uses the "sqlite" dialect/);
    const bare = new Sequelize(db.url, { dialect: 'postgres', logging: false });
    expect(() => withSequelize(bare, lens)).toThrow(/dialectModule: lens\.pgModule\(pg\)/);
    await bare.close();
    const ok = new Sequelize(db.url, { dialect: 'postgres', dialectModule: lens.pgModule(pg), logging: false });
    expect(() => withSequelize(ok, {} as Lens)).toThrow(/expects the lens second/);
    expect(withSequelize(ok, lens)).toBe(ok);
    expect(withSequelize(ok, lens)).toBe(ok);
    expect(() => withSequelize(ok, createLens({ mode: 'development', logger: false }))).toThrow(/already observed by another lens/);
    await ok.close();
  });
});
