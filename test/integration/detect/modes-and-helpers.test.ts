/**
 * The "Modes and helpers" rows of the N+1 scenario catalogue (M1–M6) and the bad-input rules:
 * test mode throws, production logs, the querylens/testing helpers, nested scopes, the detector
 * switched off; invalid options, throwing listeners and throwing scope functions.
 */
import { Writable } from 'node:stream';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, InvalidOptionError, NPlusOneError, type Finding, type LensOptions, type LoggerLike } from 'querylens';
import { assertScaling, captureQueries, expectNoNPlusOne } from 'querylens/testing';
import { testDatabase, type TestDatabase } from '../../helpers/database.js';
import { here } from '../../helpers/here.js';
import { recordEvents } from '../../helpers/record-events.js';
import { collectFindings, createBlogSchema, ofKind, type BlogSchema } from './schema.js';

let db: TestDatabase;
let admin: pg.Pool;
let schema: BlogSchema;
let posts: string;
let comments: string;

beforeAll(async () => {
  db = await testDatabase();
  admin = db.pool({ max: 2 });
  schema = await createBlogSchema(admin, 'modes');
  ({ posts, comments } = schema);
  await schema.seed(admin, { posts: 10, perPost: 3 });
});

afterAll(async () => {
  await schema.drop(admin);
  await admin.end();
  await db.close();
});

function setup(options: LensOptions) {
  const lens = createLens({ logger: false, ...options });
  const pool = lens.instrument(db.pool({ max: 4 }));
  return {
    lens,
    pool,
    async close() {
      await pool.end();
      await lens.close();
    },
  };
}

async function nPlusOneLoop(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query(`SELECT id FROM ${posts} ORDER BY id`);
  for (const p of rows) await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]);
  return rows.length;
}

async function batchedLoad(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query(`SELECT id FROM ${posts} ORDER BY id`);
  await pool.query(`SELECT * FROM ${comments} WHERE post_id = ANY($1)`, [rows.map((r) => r.id)]);
  return rows.length;
}

/** A pino logger writing its JSON records into an array. */
function capturingPino(): { logger: LoggerLike; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), records };
}

describe('modes', () => {
  it('M1: in test mode a scope with an N+1 rejects with NPlusOneError listing the findings', async () => {
    const { lens, pool, close } = setup({ mode: 'test' });
    try {
      const err = await lens.scope('M1', () => nPlusOneLoop(pool)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NPlusOneError);
      const e = err as NPlusOneError;
      expect(e.code).toBe('QUERYLENS_FINDINGS');
      expect(e.findings).toHaveLength(1);
      expect(e.findings[0]).toMatchObject({ kind: 'n-plus-one', count: 10, parent: { evidence: 'result-rows' } });
      expect(e.message).toContain('[n-plus-one] N+1: "SELECT');
      // Fixed code passes.
      await expect(lens.scope('M1 fixed', () => batchedLoad(pool))).resolves.toBe(10);
    } finally {
      await close();
    }
  });

  it('M2: in production mode nothing throws; a structured pino record at warn is written', async () => {
    const { logger, records } = capturingPino();
    const { lens, pool, close } = setup({ mode: 'production', logger });
    try {
      await expect(lens.scope('M2', () => nPlusOneLoop(pool))).resolves.toBe(10);
      // The same finding in the next request is rate limited (one record per minute and route).
      await lens.scope('M2', () => nPlusOneLoop(pool));
    } finally {
      await close();
    }
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r).toMatchObject({ level: 40, querylens: 'finding', kind: 'n-plus-one', count: 10, distinctParams: 10, scope: { name: 'M2' } });
    expect(r['msg']).toMatch(/^N\+1: "SELECT .*comments" ran 10 times/);
    expect(r['sql']).toBe(`SELECT * FROM ${comments} WHERE post_id = $1`);
    expect(r['suggestion']).toContain('= ANY($1)');
    // Parameter values never reach the log.
    expect(JSON.stringify(r)).not.toContain('"values"');
  });

  it('M2b: in development mode a readable multi-line warning goes through the logger', async () => {
    const warnings: { obj: object; msg: string | undefined }[] = [];
    const logger: LoggerLike = { warn: (obj, msg) => void warnings.push({ obj, msg }), info() {}, debug() {}, error() {} };
    let loopLine = 0;
    const { lens, pool, close } = setup({ mode: 'development', logger });
    try {
      await lens.scope('GET /posts', async () => {
        const { rows } = await pool.query(`SELECT id FROM ${posts} ORDER BY id`);
        for (const p of rows) {
          await pool.query(`SELECT * FROM ${comments} WHERE post_id = $1`, [p.id]); loopLine = here().line;
        }
      });
    } finally {
      await close();
    }
    expect(warnings).toHaveLength(1);
    const text = warnings[0]!.msg!;
    expect(text.split('\n').length).toBeGreaterThan(4);
    expect(text).toContain(`sql:    SELECT * FROM ${comments} WHERE post_id = $1`);
    expect(text).toContain(`at:     test/integration/detect/modes-and-helpers.test.ts:${loopLine}:`);
    expect(text).toMatch(/parent: "SELECT .*posts" at test\/integration\/detect\/modes-and-helpers\.test\.ts:\d+ — its rows' values were the loop's parameters/);
    expect(text).toContain('fix:    Batch it:');
    expect(text).toContain('"GET /posts"');
  });

  it('M3: expectNoNPlusOne rejects with the finding, and passes once the code is fixed', async () => {
    for (const mode of ['test', 'development', 'production'] as const) {
      const { lens, pool, close } = setup({ mode });
      try {
        const err = await expectNoNPlusOne(lens, () => nPlusOneLoop(pool)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NPlusOneError);
        expect((err as NPlusOneError).findings.map((f) => [f.kind, f.count])).toEqual([['n-plus-one', 10]]);
        await expect(expectNoNPlusOne(lens, () => batchedLoad(pool))).resolves.toBe(10);
      } finally {
        await close();
      }
    }
  });

  it('M3b: captureQueries returns the statements, findings and counts per fingerprint', async () => {
    const { lens, pool, close } = setup({ mode: 'test' });
    try {
      const captured = await captureQueries(lens, () => nPlusOneLoop(pool));
      expect(captured.result).toBe(10);
      expect(captured.statements).toHaveLength(11);
      expect(captured.statements[1]).toMatchObject({ summary: `SELECT ${comments}`, rows: 3, failed: false, callsite: { file: 'test/integration/detect/modes-and-helpers.test.ts' } });
      expect(captured.findings.map((f) => f.kind)).toEqual(['n-plus-one']);
      expect(captured.counts.map((c) => c.count)).toEqual([10, 1]);
      expect(captured.countOf(`SELECT * FROM ${comments} WHERE post_id = $1`)).toBe(10);
      expect(captured.countOf(`SELECT ${posts}`)).toBe(1);
      expect(captured.countOf('SELECT 1')).toBe(0);
    } finally {
      await close();
    }
  });

  it('M4: assertScaling fails when a fingerprint\'s count grows with n, though 2 rows never reach the threshold', async () => {
    const { lens, pool, close } = setup({ mode: 'test' });
    const seeded = async (n: number) => {
      await lens.ignore(() => schema.seed(pool, { posts: n, perPost: 1 }));
    };
    try {
      await seeded(2);
      // Whatever the fixture size, the comments query runs once per post: its count grows with n.
      const err = await assertScaling(
        lens,
        async (n) => {
          await seeded(n);
          const { rows } = await pool.query(`SELECT id, title FROM ${posts} ORDER BY id`);
          for (const p of rows) await pool.query(`SELECT body FROM ${comments} WHERE post_id = $1`, [p.id]);
        },
        { sizes: [2, 6] },
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).name).toBe('AssertionError');
      expect((err as Error).message).toContain('statement counts grow with n (sizes 2, 6)');
      expect((err as Error).message).toContain(`SELECT ${comments}: 2 → 6`);

      const report = await assertScaling(
        lens,
        async (n) => {
          await seeded(n);
          await batchedLoad(pool);
        },
        { sizes: [2, 6] },
      );
      expect(report.counts.map((c) => c.counts)).toEqual([
        [1, 1],
        [1, 1],
      ]);
      await expect(assertScaling(lens, () => undefined, { sizes: [2] })).rejects.toThrow(/at least two distinct positive integers/);
    } finally {
      await schema.seed(admin, { posts: 10, perPost: 3 });
      await close();
    }
  });

  it('M5: nested scopes (request scope + test helper scope) report each finding once', async () => {
    const { lens, pool, close } = setup({ mode: 'development' });
    const findings = collectFindings(lens);
    try {
      const captured = await lens.scope('GET /posts', () => captureQueries(lens, () => nPlusOneLoop(pool)));
      expect(captured.findings).toHaveLength(1);
      // And the other way round: the helper's scope outside, the request inside.
      const err = await expectNoNPlusOne(lens, () => lens.scope('GET /feed', () => nPlusOneLoop(pool))).catch((e: unknown) => e);
      expect((err as NPlusOneError).findings.map((f) => f.scope?.name)).toEqual(['GET /feed']);
    } finally {
      await close();
    }
    expect(findings.map((f) => [f.kind, f.scope?.name])).toEqual([
      ['n-plus-one', 'captureQueries'],
      ['n-plus-one', 'GET /feed'],
    ]);
  });

  it('M6: with nPlusOne: false nothing is reported and no call site is captured', async () => {
    const { lens, pool, close } = setup({ mode: 'development', nPlusOne: false });
    const findings = collectFindings(lens);
    const log = recordEvents(lens, ['query-end']);
    try {
      expect(lens.options.callsites).toBe('off');
      await lens.scope('M6', () => nPlusOneLoop(pool));
    } finally {
      await close();
    }
    expect(findings).toEqual([]);
    expect(log.ends()).toHaveLength(11);
    expect(log.ends().every((e) => e.callsite === undefined)).toBe(true);
  });
});

describe('bad input', () => {
  it('rejects unknown options and invalid thresholds at createLens, naming them', () => {
    const cases: [unknown, RegExp][] = [
      [{ nPlusOn: false }, /unknown option "nPlusOn" \(did you mean "nPlusOne"\?\)/],
      [{ nPlusOne: { threshold: 1 } }, /"nPlusOne\.threshold" must be an integer from 2 to/],
      [{ nPlusOne: { threshold: 2.5 } }, /"nPlusOne\.threshold"/],
      [{ nPlusOne: { treshold: 3 } }, /unknown option "nPlusOne\.treshold" \(did you mean "threshold"\?\)/],
      [{ nPlusOne: 'yes' }, /"nPlusOne" must be an object; got "yes"/],
      [{ duplicates: { threshold: 0 } }, /"duplicates\.threshold"/],
      [{ batchableWrites: { threshold: -3 } }, /"batchableWrites\.threshold"/],
      [{ budget: 0 }, /"budget" must be false or an integer from 1/],
      [{ budget: true }, /"budget" must be false or an integer/],
      [{ largeResult: { rows: 0 } }, /"largeResult\.rows"/],
      [{ reportAfterMs: 'soon' }, /"reportAfterMs" must be false or an integer/],
      [{ allow: { sql: 'x' } }, /"allow" must be an array/],
      [{ allow: [{ sqll: 'x' }] }, /unknown option "allow\[0\]\.sqll" \(did you mean "sql"\?\)/],
      [{ allow: [{}] }, /"allow\[0\]" must give at least one of sql, callsite, function/],
      [{ allow: [{ callsite: 42 }] }, /"allow\[0\]\.callsite" must be a non-empty string or a RegExp/],
      [{ logger: {} }, /"logger" must be false or a logger with warn\/info\/debug\/error methods .* without warn, info, debug, error/],
      [{ logger: console.log }, /"logger" must be false or a logger/],
    ];
    for (const [options, message] of cases) {
      expect(() => createLens(options as LensOptions), JSON.stringify(options)).toThrow(InvalidOptionError);
      expect(() => createLens(options as LensOptions), JSON.stringify(options)).toThrow(message);
    }
    // The defaults, per mode.
    expect(createLens({ mode: 'development' }).options).toMatchObject({ nPlusOne: { threshold: 5 }, duplicates: { threshold: 2 }, batchableWrites: { threshold: 5 }, budget: false, largeResult: { rows: 10000 }, reportAfterMs: 30000, allow: [] });
    expect(createLens({ mode: 'production' }).options).toMatchObject({ nPlusOne: { threshold: 5 }, duplicates: false, callsites: 'sampled' });
    expect(createLens({ mode: 'test', nPlusOne: true, duplicates: { threshold: 3 } }).options).toMatchObject({ nPlusOne: { threshold: 5 }, duplicates: { threshold: 3 } });
    expect(createLens({ logger: console }).logger).toBe(console);
    expect(createLens({ logger: false }).logger).toBeUndefined();
  });

  it('isolates a finding listener that throws: other listeners and the scope are unaffected', async () => {
    const { lens, pool, close } = setup({ mode: 'development' });
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.message);
    process.on('warning', onWarning);
    const seen: Finding[] = [];
    lens.on('finding', () => {
      throw new Error('listener bug');
    });
    lens.on('finding', (f) => void seen.push(f));
    try {
      await expect(lens.scope('listener', () => nPlusOneLoop(pool))).resolves.toBe(10);
    } finally {
      await close();
      await new Promise((r) => setImmediate(r));
      process.off('warning', onWarning);
    }
    expect(seen.map((f) => f.kind)).toEqual(['n-plus-one']);
    expect(lens.sinkFailures.get('finding listener')).toBe(1);
  });

  it('a scope function that throws rejects with its own error, and its findings are still reported', async () => {
    for (const mode of ['test', 'production'] as const) {
      const { lens, pool, close } = setup({ mode });
      const findings = collectFindings(lens);
      const boom = new Error('handler failed');
      try {
        const err = await lens
          .scope('failing', async () => {
            await nPlusOneLoop(pool);
            throw boom;
          })
          .catch((e: unknown) => e);
        expect(err).toBe(boom);
      } finally {
        await close();
      }
      expect(ofKind(findings, 'n-plus-one')).toHaveLength(1);
    }
  });
});
