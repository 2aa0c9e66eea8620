/**
 * The "Must stay quiet" rows of the N+1 scenario catalogue (Q1–Q12), each against a real
 * PostgreSQL: batched queries, small loops, loops split across scopes or call sites, transaction
 * control, ignored blocks, queries outside any unit of work, and allow-lists.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type Finding, type Lens, type LensOptions } from 'querylens';
import { testDatabase, type TestDatabase } from '../../helpers/database.js';
import { collectFindings, findingsWithLens, createBlogSchema, ofKind, type BlogSchema } from './schema.js';
import { primeCommentCounts } from './warm-helpers.js';

let db: TestDatabase;
let admin: pg.Pool;
let schema: BlogSchema;
let posts: string;
let comments: string;
let authors: string;

beforeAll(async () => {
  db = await testDatabase();
  admin = db.pool({ max: 2 });
  schema = await createBlogSchema(admin, 'stay_quiet');
  ({ posts, comments, authors } = schema);
  await schema.seed(admin, { posts: 10, perPost: 3 });
});

afterAll(async () => {
  await schema.drop(admin);
  await admin.end();
  await db.close();
});

function withLens(options: LensOptions, body: (lens: Lens, pool: pg.Pool) => Promise<void>, poolSize?: number): Promise<Finding[]> {
  return findingsWithLens(db, options, body, poolSize);
}

describe('must stay quiet', () => {
  it('Q1: posts plus one comments query with = ANY($1) report nothing', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('Q1', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts}`);
        const all = await pool.query(`SELECT * FROM ${comments} WHERE post_id = ANY($1)`, [rows.map((r) => r.id)]);
        expect(all.rowCount).toBe(30);
      }),
    );
    expect(findings).toEqual([]);
  });

  it('Q2: one call preloading two relations on one table (two IN queries, one call site) reports nothing', async () => {
    const preload = (pool: pg.Pool, ids: number[]) => pool.query(`SELECT * FROM ${authors} WHERE id IN (${ids.map((_, i) => `$${i + 1}`).join(', ')})`, ids);
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('Q2', async () => {
        const { rows } = await pool.query(`SELECT * FROM ${posts} ORDER BY id LIMIT 3`);
        for (const relation of ['author_id', 'editor_id']) await preload(pool, [...new Set(rows.map((r) => Number(r[relation])))]);
      }),
    );
    expect(findings).toEqual([]);
  });

  it('Q2b: chunked batches where every statement carries several keys report nothing', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('Q2b', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts}`);
        const ids = rows.map((r) => r.id);
        for (let i = 0; i < ids.length; i += 2) await pool.query(`SELECT * FROM ${comments} WHERE post_id = ANY($1)`, [ids.slice(i, i + 2)]);
      }),
    );
    expect(findings).toEqual([]);
  });

  it('Q3: a loop that runs once reports nothing', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('Q3', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts} LIMIT 1`);
        for (const p of rows) await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
      }),
    );
    expect(findings).toEqual([]);
  });

  it('Q4: threshold − 1 repeats with no result-row link report nothing', async () => {
    const requestedIds = [3, 7, 1, 9]; // request input, not rows of an earlier query
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('Q4', async () => {
        for (const id of requestedIds) await pool.query(`SELECT * FROM ${posts} WHERE id = $1`, [id]);
      }),
    );
    expect(findings).toEqual([]);
  });

  it('Q4b: keyset pagination (each page\'s cursor from the previous page) reports nothing', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('Q4b', async () => {
        let cursor = 0;
        for (;;) {
          const { rows } = await pool.query(`SELECT * FROM ${comments} WHERE id > $1 ORDER BY id LIMIT 4`, [cursor]);
          if (rows.length === 0) break;
          cursor = rows[rows.length - 1].id;
        }
      }),
    );
    expect(findings).toEqual([]);
  });

  it('Q5: one child query per request over ten requests reports nothing (scopes never add up)', async () => {
    const findings = await withLens({}, async (lens, pool) => {
      const { rows } = await pool.query(`SELECT id FROM ${posts}`);
      for (const p of rows) {
        await lens.scope('GET /posts/:id/comments', async () => {
          await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
        });
      }
    });
    expect(findings).toEqual([]);
  });

  it('Q6: two concurrent requests, each below the threshold, interleaved on one pool report nothing', async () => {
    const order: string[] = [];
    const findings = await withLens(
      {},
      (lens, pool) =>
        Promise.all(
          [[1, 3, 5], [2, 4, 6]].map((ids, r) =>
            lens.scope(`request ${r}`, async () => {
              for (const id of ids) {
                await pool.query(`SELECT * FROM ${posts} WHERE id = $1`, [id]);
                order.push(`r${r}`);
              }
            }),
          ),
        ).then(() => undefined),
      1,
    );
    expect(order.join(' ')).toMatch(/r0 r1|r1 r0/); // they did interleave
    expect(findings).toEqual([]);
  });

  it('Q7: three repeats from one line and three from another, threshold 5, no link, report nothing', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('Q7', async () => {
        for (const id of [1, 2, 3]) await pool.query(`SELECT * FROM ${posts} WHERE id = $1`, [id]);
        for (const id of [4, 5, 6]) await pool.query(`SELECT * FROM ${posts} WHERE id = $1`, [id]);
      }),
    );
    expect(findings).toEqual([]);
  });

  it('Q8: three different slow SELECTs in sequence are no N+1', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('Q8', async () => {
        await pool.query(`SELECT pg_sleep(0.03), count(*) FROM ${posts}`);
        await pool.query(`SELECT pg_sleep(0.03), count(*) FROM ${comments}`);
        await pool.query(`SELECT pg_sleep(0.03), count(*) FROM ${authors}`);
      }),
    );
    expect(findings.filter((f) => f.kind !== 'slow-query')).toEqual([]);
  });

  it('Q9: BEGIN/COMMIT around every single save are never findings', async () => {
    const save = async (pool: pg.Pool, i: number) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`UPDATE ${posts} SET title = $2 WHERE id = $1`, [1 + (i % 10), `saved ${i}`]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    };
    const few = await withLens({}, (lens, pool) =>
      lens.scope('Q9 few', async () => {
        for (let i = 0; i < 3; i++) await save(pool, i);
      }),
    );
    expect(few).toEqual([]);
    // Many saves are a write loop, but the transaction statements around them still never count.
    const many = await withLens({}, (lens, pool) =>
      lens.scope('Q9 many', async () => {
        for (let i = 0; i < 8; i++) await save(pool, i);
      }),
    );
    expect(many.map((f) => [f.kind, f.summary])).toEqual([['batchable-writes', `UPDATE ${posts}`]]);
  });

  it('Q10: seeding inside lens.ignore reports nothing', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('Q10', async () => {
        await lens.ignore(async () => {
          for (let i = 0; i < 12; i++) await pool.query(`INSERT INTO ${authors} (name) VALUES ($1)`, [`seeded ${i}`]);
          const { rows } = await pool.query(`SELECT id FROM ${posts}`);
          for (const p of rows) await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
          for (let i = 0; i < 3; i++) await pool.query(`SELECT * FROM ${posts} WHERE id = 1`);
        });
      }),
    );
    expect(findings).toEqual([]);
    await admin.query(`DELETE FROM ${authors} WHERE name LIKE 'seeded %'`);
  });

  it('Q11: queries outside any scope are no N+1, and statistics still see them', async () => {
    const lens = createLens({ mode: 'development', logger: false, traceScopes: false });
    const findings = collectFindings(lens);
    const pool = lens.instrument(db.pool({ max: 2 }));
    try {
      const { rows } = await pool.query(`SELECT id FROM ${posts}`);
      for (const p of rows) await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
    } finally {
      await pool.end();
      await lens.close();
    }
    expect(findings).toEqual([]);
    expect(lens.stats().find((s) => s.summary === `SELECT ${comments}`)?.count).toBe(10);
  });

  describe('Q12: allow-lists', () => {
    const run = (lens: Lens, pool: pg.Pool) =>
      lens.scope('Q12', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts} ORDER BY id`);
        const ids = rows.map((r) => Number(r.id));
        // 1. a feature-flag lookup per post
        for (const id of ids) await pool.query(`SELECT $1::int AS post_id, true AS enabled FROM ${posts} WHERE id = $1 /* feature_flags */`, [id]);
        // 2. a loop in a helper file
        await primeCommentCounts(pool, comments, ids);
        // 3. a loop in a named function
        await (async function warmAuthorCache() {
          for (const id of ids) await pool.query(`SELECT * FROM ${authors} WHERE id = $1`, [1 + (id % 5)]);
        })();
        // 4. the loop nobody allowed
        for (const id of ids) await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [id]);
      });

    it('reports every loop when nothing is allowed', async () => {
      const findings = await withLens({}, run);
      expect(ofKind(findings, 'n-plus-one')).toHaveLength(4);
    });

    it('leaves out a group allowed by SQL (RegExp or text), by call-site path, or by function name; others are still reported', async () => {
      const cases: { allow: NonNullable<LensOptions['allow']>; silenced: string }[] = [
        { allow: [{ sql: /feature_flags/ }], silenced: `SELECT ${posts}` },
        { allow: [{ sql: 'true AS enabled' }], silenced: `SELECT ${posts}` },
        { allow: [{ callsite: 'test/**/warm-helpers.ts' }], silenced: `SELECT ${comments}:count` },
        { allow: [{ callsite: /warm-helpers\.ts:\d+$/ }], silenced: `SELECT ${comments}:count` },
        { allow: [{ function: 'warmAuthorCache' }], silenced: `SELECT ${authors}` },
        { allow: [{ function: /^warm/ }], silenced: `SELECT ${authors}` },
      ];
      for (const { allow, silenced } of cases) {
        const findings = ofKind(await withLens({ allow }, run), 'n-plus-one');
        const reported = findings.map((f) => (f.sql.includes('count(*)') ? `${f.summary}:count` : f.summary));
        expect(reported, JSON.stringify(allow, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))).toHaveLength(3);
        expect(reported).not.toContain(silenced);
        expect(reported).toContain(`SELECT ${comments}`);
      }
    });
  });
});
