/**
 * The "Must report" rows of the N+1 scenario catalogue (P1–P21), each against a real PostgreSQL:
 * the finding's kind, count, distinct parameter sets, call-site line, parent and evidence.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLens, type Finding, type Lens, type LensOptions } from 'querylens';
import { testDatabase, type TestDatabase } from '../../helpers/database.js';
import { here } from '../../helpers/here.js';
import { collectFindings, findingsWithLens, createBlogSchema, ofKind, type BlogSchema } from './schema.js';

let db: TestDatabase;
let admin: pg.Pool;
let schema: BlogSchema;
let posts: string;
let comments: string;
let authors: string;
let categories: string;

beforeAll(async () => {
  db = await testDatabase();
  admin = db.pool({ max: 2 });
  schema = await createBlogSchema(admin, 'must_report');
  ({ posts, comments, authors, categories } = schema);
});

beforeEach(async () => {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('must report', () => {
  it('P1: a query per listed post is an N+1 whose parent is the posts query (result-rows)', async () => {
    let listLine = 0;
    let loopLine = 0;
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P1', async () => {
        const { rows } = await pool.query(`SELECT id, title FROM ${posts} ORDER BY id`); listLine = here().line;
        for (const post of rows) {
          await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [post.id]); loopLine = here().line;
        }
      }),
    );
    expect(findings).toHaveLength(1);
    const [f] = ofKind(findings, 'n-plus-one');
    expect(f).toMatchObject({ kind: 'n-plus-one', count: 10, distinctParams: 10, concurrent: false, scope: { name: 'P1' } });
    expect(f!.summary).toBe(`SELECT ${comments}`);
    expect(f!.sql).toBe(`SELECT * FROM ${comments} WHERE post_id = $1`);
    expect(f!.callsite).toMatchObject({ file: 'test/integration/detect/must-report.test.ts', line: loopLine });
    expect(f!.parent).toMatchObject({ summary: `SELECT ${posts}`, evidence: 'result-rows', callsite: { line: listLine } });
    expect(f!.suggestion).toContain(`SELECT * FROM ${comments} WHERE post_id = ANY($1)`);
    expect(f!.suggestion).toContain('the id values of');
    expect(f!.totalMs).toBeGreaterThan(0);
  });

  it('P2: loading each comment\'s post by id is an N+1 fed by the comments\' post_id', async () => {
    let loopLine = 0;
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P2', async () => {
        const { rows } = await pool.query(`SELECT * FROM ${comments} WHERE post_id <= 4 ORDER BY id`);
        for (const c of rows) {
          await pool.query(`SELECT * FROM ${posts} WHERE id = $1`, [c.post_id]); loopLine = here().line;
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ count: 12, distinctParams: 4, callsite: { line: loopLine }, parent: { summary: `SELECT ${comments}`, evidence: 'result-rows' } });
  });

  it('P3: categories → posts per category → comments per post gives one finding per level', async () => {
    let postsLine = 0;
    let commentsLine = 0;
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P3', async () => {
        const cats = await pool.query(`SELECT * FROM ${categories} ORDER BY id`);
        for (const cat of cats.rows) {
          const ps = await pool.query(`SELECT * FROM ${posts} WHERE category_id = $1 ORDER BY id`, [cat.id]); postsLine = here().line;
          for (const p of ps.rows) {
            await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]); commentsLine = here().line;
          }
        }
      }),
    );
    const found = ofKind(findings, 'n-plus-one');
    expect(found).toHaveLength(2);
    expect(findings).toHaveLength(2);
    const level1 = found.find((f) => f.summary === `SELECT ${posts}`)!;
    const level2 = found.find((f) => f.summary === `SELECT ${comments}`)!;
    // Three categories are below the threshold: the result-row link proves it.
    expect(level1).toMatchObject({ count: 3, distinctParams: 3, callsite: { line: postsLine }, parent: { summary: `SELECT ${categories}`, evidence: 'result-rows' } });
    expect(level2).toMatchObject({ count: 10, distinctParams: 10, callsite: { line: commentsLine }, parent: { summary: `SELECT ${posts}`, evidence: 'result-rows', callsite: { line: postsLine } } });
  });

  it('P4: findById(row.author_id) in a loop, with no ORM association, is an N+1', async () => {
    let helperLine = 0;
    const findById = async (pool: pg.Pool, table: string, id: number) => {
      const { rows } = await pool.query(`SELECT * FROM ${table} WHERE id = $1`, [id]); helperLine = here().line;
      return rows[0];
    };
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P4', async () => {
        const { rows } = await pool.query(`SELECT id, author_id FROM ${posts} ORDER BY id`);
        for (const p of rows) await findById(pool, authors, p.author_id);
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ summary: `SELECT ${authors}`, count: 10, distinctParams: 5, callsite: { line: helperLine }, parent: { summary: `SELECT ${posts}`, evidence: 'result-rows' } });
    // Author ids 1–5 are also post ids: of the parent's two columns that held them, the fix names
    // the one that refers to authors.
    expect(findings[0]!.suggestion).toContain(`the author_id values of "SELECT ${posts}"`);
  });

  it('P5: a count(*) per row is an N+1 whose fix mentions GROUP BY', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P5', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts}`);
        for (const p of rows) await pool.query(`SELECT count(*) FROM ${comments} WHERE post_id = $1`, [p.id]);
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ count: 10, distinctParams: 10, parent: { evidence: 'result-rows' } });
    expect(findings[0]!.suggestion).toContain('GROUP BY');
    expect(findings[0]!.suggestion).toContain(`SELECT post_id, count(*) FROM comments WHERE post_id = ANY($1) GROUP BY post_id`);
  });

  it('P6: an EXISTS(…) per row is an N+1', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P6', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts}`);
        for (const p of rows) await pool.query(`SELECT EXISTS(SELECT 1 FROM ${comments} WHERE post_id = $1) AS has`, [p.id]);
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ count: 10, distinctParams: 10, parent: { evidence: 'result-rows' } });
    expect(findings[0]!.suggestion).toContain('SELECT DISTINCT post_id');
  });

  it('P7: literals inlined by an ORM count as parameters', async () => {
    let loopLine = 0;
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P7', async () => {
        const { rows } = await pool.query(`SELECT "id" FROM ${posts} ORDER BY "id"`);
        for (const p of rows) {
          await pool.query(`SELECT * FROM ${comments} WHERE "post_id" = ${Number(p.id)}`); loopLine = here().line;
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ count: 10, distinctParams: 10, callsite: { line: loopLine }, parent: { evidence: 'result-rows' } });
    // Inline values never reach the finding.
    expect(findings[0]!.sql).toBe(`SELECT * FROM ${comments} WHERE "post_id" = ?`);
    expect(findings[0]!.suggestion).toContain('"post_id" = ANY($1)');
  });

  it('P8: a Promise.all fan-out is an N+1 flagged concurrent', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P8', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts}`);
        await Promise.all(rows.map((p) => pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id])));
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ count: 10, distinctParams: 10, concurrent: true, parent: { evidence: 'result-rows' } });
  });

  it('P9: a loop inside BEGIN … COMMIT is an N+1; the transaction statements never count', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P9', async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query(`SELECT id FROM ${posts}`);
          for (const p of rows) await client.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ summary: `SELECT ${comments}`, count: 10, parent: { summary: `SELECT ${posts}` } });
  });

  it('P10: repeats separated by SAVEPOINT, SET and RELEASE are still one N+1', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P10', async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query(`SELECT id FROM ${posts}`);
          for (const p of rows) {
            await client.query('SAVEPOINT each_post');
            await client.query(`SET LOCAL statement_timeout = ${5000 + Number(p.id)}`);
            await client.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
            await client.query('RELEASE SAVEPOINT each_post');
          }
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ summary: `SELECT ${comments}`, count: 10, distinctParams: 10, parent: { evidence: 'result-rows' } });
  });

  it('P11: two or three repeats are enough when each parameter came from the parent\'s rows', async () => {
    for (const n of [2, 3]) {
      const findings = await withLens({}, (lens, pool) =>
        lens.scope('P11', async () => {
          const { rows } = await pool.query(`SELECT id FROM ${posts} ORDER BY id LIMIT $1`, [n]);
          for (const p of rows) await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
        }),
      );
      expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
      expect(findings[0]).toMatchObject({ count: n, distinctParams: n, parent: { summary: `SELECT ${posts}`, evidence: 'result-rows' } });
    }
  });

  it('P12: a long background job reports a group as soon as it crosses the threshold, once', async () => {
    let seenInside = 0;
    let findingsSoFar: Finding[] = [];
    const findings = await withLens({ reportAfterMs: 50 }, (lens, pool) =>
      lens.scope('nightly job', async () => {
        findingsSoFar = collectFindings(lens);
        await sleep(70);
        const { rows } = await pool.query(`SELECT id FROM ${posts} ORDER BY id`);
        for (const p of rows) await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
        // Later batches of the same loop do not report it again.
        for (const p of rows) await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
        seenInside = findingsSoFar.length;
      }),
    );
    expect(seenInside).toBe(1);
    expect(findings).toHaveLength(1);
    // Reported when the group crossed the threshold (5), while the job was still running.
    expect(findings[0]).toMatchObject({ kind: 'n-plus-one', count: 5, distinctParams: 5, scope: { name: 'nightly job' } });
  });

  it('P13: rows inserted earlier in the scope and read back one by one are an N+1', async () => {
    let readLine = 0;
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P13', async () => {
        const ids: number[] = [];
        for (let i = 0; i < 6; i++) {
          const { rows } = await pool.query(`INSERT INTO ${posts} (category_id, author_id, editor_id, title) VALUES (1, 1, 2, $1) RETURNING id`, [`new ${i}`]);
          ids.push(rows[0].id);
        }
        for (const id of ids) {
          await pool.query(`SELECT * FROM ${posts} WHERE id = $1`, [id]); readLine = here().line;
        }
      }),
    );
    const n1 = ofKind(findings, 'n-plus-one');
    expect(n1).toHaveLength(1);
    expect(n1[0]).toMatchObject({ summary: `SELECT ${posts}`, count: 6, distinctParams: 6, callsite: { line: readLine }, parent: { summary: `INSERT ${posts}`, evidence: 'result-rows' } });
    // The insert loop is a finding of its own.
    expect(ofKind(findings, 'batchable-writes')).toHaveLength(1);
  });

  it('P14: the same loop reached from two routes gives one finding per request, at the loop\'s line', async () => {
    let loopLine = 0;
    const lens = createLens({ mode: 'development', logger: false });
    const findings = collectFindings(lens);
    const pool = lens.instrument(db.pool({ max: 4 }));
    const loadComments = async (postIds: number[]) => {
      for (const id of postIds) {
        await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [id]); loopLine = here().line;
      }
    };
    const app = express();
    app.use(lens.middleware());
    app.get('/posts', async (_req, res) => {
      const { rows } = await pool.query(`SELECT id FROM ${posts} ORDER BY id`);
      await loadComments(rows.map((r) => r.id));
      res.json({ ok: true });
    });
    app.get('/categories/:id/posts', async (req, res) => {
      const { rows } = await pool.query(`SELECT id FROM ${posts} WHERE category_id = $1`, [Number(req.params['id'])]);
      await loadComments(rows.map((r) => r.id));
      res.json({ ok: true });
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await (await fetch(`${base}/posts`)).json();
      await (await fetch(`${base}/categories/1/posts`)).json();
      // The response is sent before the scope-end of 'finish' is processed: wait for both.
      for (let i = 0; i < 50 && findings.length < 2; i++) await sleep(10);
    } finally {
      await new Promise((r) => server.close(r));
      await pool.end();
      await lens.close();
    }
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one', 'n-plus-one']);
    expect(findings.map((f) => f.scope?.name).sort()).toEqual(['GET /categories/:id/posts', 'GET /posts']);
    for (const f of findings) expect(f.callsite?.line).toBe(loopLine);
    expect(findings.map((f) => f.count).sort()).toEqual([10, 4].sort());
  });

  it('P15: the same shape in two separate loops of one scope gives two findings (two call sites)', async () => {
    let first = 0;
    let second = 0;
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P15', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts} ORDER BY id`);
        for (const p of rows) {
          await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]); first = here().line;
        }
        for (const p of rows.slice(0, 6)) {
          await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]); second = here().line;
        }
      }),
    );
    const found = ofKind(findings, 'n-plus-one');
    expect(found).toHaveLength(2);
    expect(found.map((f) => [f.callsite?.line, f.count, f.distinctParams])).toEqual([
      [first, 10, 10],
      [second, 6, 6],
    ]);
    // The second loop re-reads what the first read: same rows, but each loop is its own finding, not a duplicate.
    expect(ofKind(findings, 'duplicate')).toHaveLength(0);
  });

  it('P16: an INSERT per row is a batchable write loop, not an N+1', async () => {
    let line = 0;
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P16', async () => {
        for (let i = 0; i < 20; i++) {
          await pool.query(`INSERT INTO ${comments} (post_id, author_id, body) VALUES ($1, $2, $3)`, [1 + (i % 10), 1, `bulk ${i}`]); line = here().line;
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['batchable-writes']);
    expect(findings[0]).toMatchObject({ summary: `INSERT ${comments}`, count: 20, distinctParams: 20, callsite: { line }, concurrent: false });
    expect(findings[0]!.suggestion).toMatch(/VALUES \(…\), \(…\)|unnest/);
  });

  it('P17: an UPDATE … WHERE id = $1 per row is a batchable write loop', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P17', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts}`);
        for (const p of rows) await pool.query(`UPDATE ${posts} SET title = $2 WHERE id = $1`, [p.id, `renamed ${p.id}`]);
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['batchable-writes']);
    expect(findings[0]).toMatchObject({ summary: `UPDATE ${posts}`, count: 10, distinctParams: 10 });
    expect(findings[0]!.suggestion).toContain('UPDATE posts SET … FROM (VALUES');
  });

  it('P18: the same query with the same parameters three times is a duplicate, not an N+1', async () => {
    let line = 0;
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P18', async () => {
        for (let i = 0; i < 3; i++) {
          await pool.query(`SELECT * FROM ${posts} WHERE id = $1`, [1]); if (i === 0) line = here().line;
        }
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['duplicate']);
    expect(findings[0]).toMatchObject({ count: 3, distinctParams: 1, callsite: { line } });
  });

  it('P19: two relations resolving to the same row issue a duplicate', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P19', async () => {
        const post = (await pool.query(`SELECT * FROM ${posts} WHERE id = 1`)).rows[0];
        const comment = (await pool.query(`SELECT * FROM ${comments} WHERE post_id = 1 AND author_id = $1 LIMIT 1`, [post.author_id])).rows[0] ?? { author_id: post.author_id };
        const writer = await pool.query(`SELECT * FROM ${authors} WHERE id = $1`, [post.author_id]);
        const commenter = await pool.query(`SELECT * FROM ${authors} WHERE id = $1`, [comment.author_id]);
        expect(writer.rows[0]).toEqual(commenter.rows[0]);
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['duplicate']);
    expect(findings[0]).toMatchObject({ summary: `SELECT ${authors}`, count: 2, distinctParams: 1 });
  });

  it('P20: a scope issuing more statements than its budget is reported', async () => {
    const findings = await withLens({ budget: 5 }, (lens, pool) =>
      lens.scope('P20', async () => {
        await pool.query('BEGIN'); // never counts
        for (const t of [posts, comments, authors, categories]) await pool.query(`SELECT count(*) FROM ${t}`);
        await pool.query(`SELECT max(id) FROM ${posts}`);
        await pool.query(`SELECT min(id) FROM ${posts}`);
        await pool.query('COMMIT');
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['query-budget']);
    expect(findings[0]).toMatchObject({ statements: 6, budget: 5, count: 6, scope: { name: 'P20' } });
  });

  it('P21: a result of more than largeResult.rows (default 10 000) rows is reported, with keyset pagination / cursors as the fix', async () => {
    let line = 0;
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('P21', async () => {
        await pool.query('SELECT g FROM generate_series(1, 10001) g'); line = here().line;
        await pool.query('SELECT g AS small FROM generate_series(1, 10000) g');
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['large-result']);
    expect(findings[0]).toMatchObject({ rows: 10001, thresholdRows: 10000, count: 1, callsite: { line } });
    expect(findings[0]!.suggestion).toMatch(/keyset pagination/);
    expect(findings[0]!.suggestion).toMatch(/cursor/);
  });
});

describe('evidence', () => {
  it('without a result-row link, names the single read that ran just before the loop (adjacency)', async () => {
    let listLine = 0;
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('titles', async () => {
        // No key-like column in the parent's rows: the loop cannot be linked to them by value.
        const { rows } = await pool.query(`SELECT title FROM ${posts} ORDER BY id`); listLine = here().line;
        for (const p of rows) await pool.query(`SELECT * FROM ${posts} WHERE title = $1`, [p.title]);
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ count: 10, distinctParams: 10, parent: { summary: `SELECT ${posts}`, evidence: 'adjacency', callsite: { line: listLine } } });
    expect(findings[0]!.message).toContain(', after "SELECT');
  });

  it('a loop over request input has no parent, even right after another read', async () => {
    const requested = [9, 3, 7, 1, 5, 2];
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('POST /posts/bulk-get', async () => {
        await pool.query(`SELECT id, name FROM ${authors} WHERE id = $1`, [1]); // the current user, say
        for (const id of requested) await pool.query(`SELECT * FROM ${posts} WHERE id = $1`, [id]);
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ count: 6, distinctParams: 6, parent: undefined });
  });

  it('a constant IN list next to the loop\'s key does not make the statement a batch', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('constant list', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts}`);
        for (const p of rows) await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1 AND author_id IN (1, 2, 3, 4, 5)`, [p.id]);
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(findings[0]).toMatchObject({ count: 10, parent: { evidence: 'result-rows' } });
  });
});

describe('scale', () => {
  it('reports the loop over 10, 100 and 1 000 parents with matching counts', async () => {
    await schema.seed(admin, { posts: 1000, perPost: 1 });
    for (const n of [10, 100, 1000]) {
      const findings = await withLens({}, (lens, pool) =>
        lens.scope(`${n} parents`, async () => {
          const { rows } = await pool.query(`SELECT id FROM ${posts} ORDER BY id LIMIT $1`, [n]);
          for (const p of rows) await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
        }),
      );
      expect(findings.map((f) => f.kind)).toEqual(['n-plus-one']);
      expect(findings[0]).toMatchObject({ count: n, distinctParams: n, parent: { summary: `SELECT ${posts}`, evidence: 'result-rows' } });
    }
  });

  it('names the ORM\'s fix when an adapter said which ORM issued the query', async () => {
    const findings = await withLens({}, (lens, pool) =>
      lens.scope('prisma', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts}`);
        for (const p of rows) {
          await lens.withOperation({ orm: 'prisma', model: 'Comment', operation: 'findMany', relation: 'comments' }, () =>
            pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]),
          );
        }
      }),
    );
    expect(findings[0]).toMatchObject({ kind: 'n-plus-one', orm: 'prisma' });
    expect(findings[0]!.suggestion).toContain('include: { comments: true }');
  });
});
