/**
 * The Prisma 7 adapter against a real PostgreSQL and the real Prisma client (generated offline by
 * scripts/prisma-generate.mjs from ./prisma/schema.prisma; tables are made here with plain SQL, in
 * a PostgreSQL schema of this file's own, which PrismaPg's `{ schema }` option points at).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type Finding, type Lens, type QueryEndEvent } from 'querylens';
import { withPrisma } from 'querylens/adapters/prisma';
import { testDatabase, tableName, type TestDatabase } from '../../helpers/database.js';
import { here } from '../../helpers/here.js';
import { collectFindings, recordEvents, type EventLog } from '../../helpers/record-events.js';
import type { PrismaClient as GeneratedClient } from './prisma/generated/client.js';

const GENERATED = new URL('./prisma/generated/client.ts', import.meta.url);
const THIS_FILE = here().file;

let PrismaClient: typeof import('./prisma/generated/client.js').PrismaClient;
let db: TestDatabase;
let admin: pg.Pool;
let s: string;

beforeAll(async () => {
  // `npm test` generates the client before typechecking; a lone `vitest run` of this file may be first.
  if (!existsSync(GENERATED)) execFileSync(process.execPath, ['scripts/prisma-generate.mjs'], { stdio: 'inherit' });
  ({ PrismaClient } = await import('./prisma/generated/client.js'));
  db = await testDatabase();
  admin = db.pool({ max: 2 });
  s = tableName('prisma');
  await admin.query(`CREATE SCHEMA ${s}`);
  await admin.query(`
    CREATE TABLE ${s}.authors (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE ${s}.posts (id serial PRIMARY KEY, title text NOT NULL, author_id int NOT NULL REFERENCES ${s}.authors);
    CREATE TABLE ${s}.comments (id serial PRIMARY KEY, body text NOT NULL, post_id int NOT NULL REFERENCES ${s}.posts, author_id int NOT NULL REFERENCES ${s}.authors);
    INSERT INTO ${s}.authors (name) SELECT 'author ' || g FROM generate_series(1, 5) g;
    INSERT INTO ${s}.posts (title, author_id) SELECT 'post ' || g, 1 + (g - 1) % 5 FROM generate_series(1, 10) g;
    INSERT INTO ${s}.comments (body, post_id, author_id) SELECT 'comment ' || g, 1 + (g - 1) / 3, 1 + g % 5 FROM generate_series(1, 30) g;
  `);
});

afterAll(async () => {
  await admin?.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin?.end();
  await db?.close();
});

interface Harness {
  readonly lens: Lens;
  readonly prisma: GeneratedClient;
  readonly pool: pg.Pool;
  readonly log: EventLog;
}

/** A fresh lens, instrumented pool and wrapped client per test; returns every finding reported. */
async function withPrismaLens(body: (h: Harness) => Promise<void>): Promise<Finding[]> {
  const lens = createLens({ mode: 'development', logger: false });
  const findings = collectFindings(lens);
  const log = recordEvents(lens, ['query-end']);
  const pool = lens.instrument(db.pool({ max: 4 }));
  const prisma = withPrisma(new PrismaClient({ adapter: new PrismaPg(pool, { schema: s }) }), lens);
  try {
    await body({ lens, prisma, pool, log });
  } finally {
    await prisma.$disconnect();
    await pool.end();
    await lens.close();
  }
  return findings;
}

const onTable = (table: string) => (e: QueryEndEvent) => e.sql.tables.some((t) => t.endsWith(`.${table}`) || t === table);

describe('withPrisma', () => {
  it('gives every statement an event with Prisma model and operation, and runs an interactive $transaction on one connection', async () => {
    let findManyLine = 0;
    let txPids: number[] = [];
    await withPrismaLens(({ lens, prisma, log }) =>
      lens.scope('wiring', async () => {
        await prisma.post.findMany({ where: { id: { lte: 3 } } }); findManyLine = here().line;
        await prisma.author.findUnique({ where: { id: 1 } });
        // Other work in flight at the same time, so the pool really hands out several connections.
        const [, , rows] = await Promise.all([
          prisma.comment.count(),
          prisma.post.findMany({ where: { authorId: 2 } }),
          prisma.$transaction(async (tx) => {
            const first = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
            await tx.post.update({ where: { id: 1 }, data: { title: 'post 1' } });
            await tx.comment.findMany({ where: { postId: 1 } });
            const last = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
            return [first[0]!.pid, last[0]!.pid];
          }),
        ]);
        txPids = rows;
        const ends = log.ends();
        // Every statement Prisma sent went through the instrumented pool and produced an event.
        expect(ends.map((e) => e.sql.command)).toEqual(expect.arrayContaining(['BEGIN', 'COMMIT', 'UPDATE', 'SELECT']));
        expect(ends).toHaveLength(10); // 2 + count + findMany + BEGIN, 2 pids, update, findMany, COMMIT
        expect(ends.every((e) => e.error === undefined && e.scope?.name === 'wiring')).toBe(true);
        // Model operations carry Prisma's terms and the application's call site.
        const first = ends[0]!;
        expect(first.operation).toMatchObject({ orm: 'prisma', model: 'Post', operation: 'findMany' });
        expect(first.callsite?.resolve()).toMatchObject({ file: THIS_FILE, line: findManyLine });
        expect(ends.find(onTable('authors'))?.operation).toMatchObject({ orm: 'prisma', model: 'Author', operation: 'findUnique' });
        expect(ends.find((e) => e.sql.command === 'UPDATE')?.operation).toMatchObject({ orm: 'prisma', model: 'Post', operation: 'update' });
        // BEGIN … COMMIT on one pg client, while the concurrent reads used others.
        const begin = ends.findIndex((e) => e.sql.command === 'BEGIN');
        const commit = ends.findIndex((e) => e.sql.command === 'COMMIT');
        const inTx = ends.slice(begin, commit + 1).filter((e) => e.connection === ends[begin]!.connection);
        expect(inTx.map((e) => e.sql.command)).toEqual(['BEGIN', 'SELECT', 'UPDATE', 'SELECT', 'SELECT', 'COMMIT']);
        expect(ends[begin]!.connection).toBeDefined();
      }),
    );
    expect(txPids[0]).toBe(txPids[1]);
  });

  it('reports findUnique of the author per post as an N+1 at the loop line, with include: { author: true }', async () => {
    let listLine = 0;
    let loopLine = 0;
    const findings = await withPrismaLens(({ lens, prisma }) =>
      lens.scope('authors per post', async () => {
        const posts = await prisma.post.findMany({ orderBy: { id: 'asc' } }); listLine = here().line;
        for (const post of posts) {
          await prisma.author.findUnique({ where: { id: post.authorId } }); loopLine = here().line;
        }
      }),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      kind: 'n-plus-one',
      orm: 'prisma',
      count: 10,
      distinctParams: 5,
      concurrent: false,
      callsite: { file: THIS_FILE, line: loopLine },
      parent: { evidence: 'result-rows', callsite: { line: listLine } },
      scope: { name: 'authors per post' },
    });
    expect(findings[0]!.suggestion).toContain('include: { author: true }');
    expect(findings[0]!.suggestion).toContain('Prisma');
  });

  it('reports findMany of the comments per post as an N+1 with include: { comments: true }, and count per post with _count', async () => {
    let commentsLine = 0;
    let countLine = 0;
    const findings = await withPrismaLens(({ lens, prisma }) =>
      lens.scope('comments per post', async () => {
        const posts = await prisma.post.findMany();
        for (const post of posts) {
          await prisma.comment.findMany({ where: { postId: post.id } }); commentsLine = here().line;
          await prisma.comment.count({ where: { postId: post.id } }); countLine = here().line;
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one', 'n-plus-one']);
    const comments = findings.find((f) => f.callsite?.line === commentsLine);
    const counts = findings.find((f) => f.callsite?.line === countLine);
    expect(comments).toMatchObject({ orm: 'prisma', count: 10, distinctParams: 10, parent: { evidence: 'result-rows' } });
    expect(comments!.suggestion).toContain('include: { comments: true }');
    expect(comments!.suggestion).toContain('postId: { in: ids }');
    expect(counts).toMatchObject({ orm: 'prisma', count: 10 });
    expect(counts!.suggestion).toContain('_count: { select: { comments: true } }');
  });

  it('reports an N+1 inside an interactive transaction at the loop line', async () => {
    let loopLine = 0;
    const findings = await withPrismaLens(({ lens, prisma }) =>
      lens.scope('in a transaction', () =>
        prisma.$transaction(async (tx) => {
          const posts = await tx.post.findMany();
          for (const post of posts) {
            await tx.author.findUnique({ where: { id: post.authorId } }); loopLine = here().line;
          }
        }),
      ),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'n-plus-one', orm: 'prisma', count: 10, callsite: { file: THIS_FILE, line: loopLine } });
    expect(findings[0]!.suggestion).toContain('include: { author: true }');
  });

  it('reports nothing for the fixed versions (include, or one findMany with in)', async () => {
    const findings = await withPrismaLens(async ({ lens, prisma }) => {
      await lens.scope('include', async () => {
        const posts = await prisma.post.findMany({ include: { author: true, comments: true } });
        expect(posts.map((p) => `${p.author.name}: ${p.comments.length}`)).toHaveLength(10);
      });
      await lens.scope('in', async () => {
        const posts = await prisma.post.findMany();
        const ids = posts.map((p) => p.id);
        const comments = await prisma.comment.findMany({ where: { postId: { in: ids } } });
        const authors = await prisma.author.findMany({ where: { id: { in: posts.map((p) => p.authorId) } } });
        expect([comments.length, authors.length]).toEqual([30, 5]);
      });
    });
    expect(findings).toEqual([]);
  });

  it('does not count Prisma connection and transaction statements (BEGIN, SET TRANSACTION, COMMIT)', async () => {
    const findings = await withPrismaLens(({ lens, prisma, log }) =>
      lens.scope('bootstrap', async () => {
        await prisma.$connect();
        expect(log.ends()).toHaveLength(0); // Prisma 7 sends nothing on connect through the adapter
        for (let i = 1; i <= 4; i++) {
          await prisma.$transaction((tx) => tx.author.findUnique({ where: { id: i } }), { isolationLevel: 'Serializable' });
        }
        const commands = log.ends().map((e) => e.sql.command);
        // Observed: four identical BEGIN / SET TRANSACTION / COMMIT each, which would be duplicates if they counted.
        expect(commands.filter((c) => c === 'BEGIN')).toHaveLength(4);
        expect(commands.filter((c) => c === 'COMMIT')).toHaveLength(4);
        expect(commands.filter((c) => c === 'SET')).toHaveLength(4);
        // Everything else is one of the application's own operations.
        const reads = log.ends().filter((e) => e.sql.statementClass === 'read');
        expect(reads).toHaveLength(4);
        expect(reads.every((e) => e.operation?.orm === 'prisma' && e.operation.model === 'Author')).toBe(true);
      }),
    );
    expect(findings).toEqual([]);
  });

  it('does not report a Promise.all of findUnique (Prisma batches it into one query), but reports the same lookups awaited one by one', async () => {
    let batched: QueryEndEvent[] = [];
    const together = await withPrismaLens(({ lens, prisma, log }) =>
      lens.scope('Promise.all', async () => {
        const posts = await prisma.post.findMany();
        const authors = await Promise.all(posts.map((post) => prisma.author.findUnique({ where: { id: post.authorId } })));
        expect(authors.map((a) => a?.id)).toEqual(posts.map((p) => p.authorId));
        batched = log.ends().filter(onTable('authors'));
      }),
    );
    expect(together).toEqual([]);
    expect(batched).toHaveLength(1); // one statement carrying every key
    expect(batched[0]!.text).toMatch(/\bIN \(/);

    let loopLine = 0;
    const oneByOne = await withPrismaLens(({ lens, prisma }) =>
      lens.scope('sequential', async () => {
        const posts = await prisma.post.findMany();
        for (const post of posts) {
          await prisma.author.findUnique({ where: { id: post.authorId } }); loopLine = here().line;
        }
      }),
    );
    expect(oneByOne).toHaveLength(1);
    expect(oneByOne[0]).toMatchObject({ kind: 'n-plus-one', count: 10, concurrent: false, callsite: { line: loopLine } });
  });

  it('still reports a Promise.all of findMany (which Prisma does not batch) as a concurrent N+1 at its line', async () => {
    let fanOutLine = 0;
    const findings = await withPrismaLens(({ lens, prisma }) =>
      lens.scope('fan-out', async () => {
        const posts = await prisma.post.findMany();
        await Promise.all(posts.map((post) => prisma.comment.findMany({ where: { postId: post.id } }))); fanOutLine = here().line;
      }),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'n-plus-one', count: 10, callsite: { file: THIS_FILE, line: fanOutLine } });
    expect(findings[0]!.suggestion).toContain('include: { comments: true }');
  });

  it('keeps call sites for batch $transaction([...]) and for clients derived with $extends', async () => {
    let batchLine = 0;
    let derivedLine = 0;
    await withPrismaLens(({ lens, prisma, log }) =>
      lens.scope('derived', async () => {
        const [count] = await prisma.$transaction([prisma.comment.count({ where: { postId: 1 } }), prisma.post.findFirst()]); batchLine = here().line;
        expect(count).toBe(3);
        const derived = prisma.$extends({ result: { post: { shout: { needs: { title: true }, compute: (p) => p.title.toUpperCase() } } } });
        const post = await derived.post.findUnique({ where: { id: 2 } }); derivedLine = here().line;
        expect(post?.shout).toBe('POST 2');
        const reads = log.ends().filter((e) => e.sql.statementClass === 'read');
        // Prisma runs a batch's statements together, in the context of the batch's first request:
        // both carry that operation; the call site is the batch's line either way.
        expect(reads.map((e) => [e.operation?.orm, e.callsite?.resolve()?.line])).toEqual([
          ['prisma', batchLine],
          ['prisma', batchLine],
          ['prisma', derivedLine],
        ]);
        expect(reads[2]!.operation).toMatchObject({ model: 'Post', operation: 'findUnique' });
        // The fluent API returns another lazy promise from the first: same call, same call site.
        const author = await prisma.post.findUnique({ where: { id: 3 } }).author(); const fluentLine = here().line;
        expect(author?.id).toBe(3);
        const last = log.ends().at(-1)!;
        expect(last.operation).toMatchObject({ orm: 'prisma', model: 'Post', operation: 'findUnique' });
        expect(last.callsite?.resolve()?.line).toBe(fluentLine);
      }),
    );
  });

  it('leaves code after a query, and then() callbacks, in the application\'s own context', async () => {
    await withPrismaLens(({ lens, prisma, pool, log }) =>
      lens.scope('after', async () => {
        await prisma.post.findFirst();
        await pool.query(`SELECT 1 AS after_await`);
        await prisma.post.findFirst().then(() => pool.query(`SELECT 1 AS in_then`));
        const raw = log.ends().filter((e) => /after_await|in_then/.test(e.text));
        expect(raw).toHaveLength(2);
        for (const e of raw) expect(e.operation).toBeUndefined();
        expect(raw[0]!.callsite?.resolve()?.file).toBe(THIS_FILE);
      }),
    );
  });

  it('rejects what it cannot observe with a TypeError that says what to pass instead', async () => {
    const lens = createLens({ mode: 'development', logger: false });
    const pool = db.pool();
    try {
      expect(() => withPrisma(pool, lens)).toThrow(TypeError);
      expect(() => withPrisma(pool, lens)).toThrow(/expects a PrismaClient .*new PrismaPg\(lens\.instrument\(pool\)\)/);
      // PrismaPg given a connection string builds a pool of its own that querylens never sees.
      const own = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
      expect(() => withPrisma(own, lens)).toThrow(/creates a pg\.Pool querylens never sees.*lens\.instrument\(pool\)/);
      // No driver adapter at all (Prisma Accelerate): queries never reach node-postgres.
      const accelerate = new PrismaClient({ accelerateUrl: 'prisma://accelerate.invalid/?api_key=none' });
      expect(() => withPrisma(accelerate, lens)).toThrow(/needs a PrismaClient with the @prisma\/adapter-pg driver adapter.*Accelerate/);
      expect(() => withPrisma(new PrismaClient({ adapter: new PrismaPg(pool) }), {} as Lens)).toThrow(/expects a lens/);
    } finally {
      await pool.end();
      await lens.close();
    }
  });
});
