/**
 * `instrument()` and `pgModule()`: the same objects come back, patched in place, once; pools
 * and clients an ORM builds from the module instrument themselves; anything that is not pg is
 * refused with a TypeError that says what it got.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, InvalidOptionError } from 'querylens';
import { recordEvents } from '../helpers/record-events.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

describe('instrument and pgModule', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await testDatabase();
  });

  afterAll(async () => {
    await db.close();
  });

  it('returns the very pool it was given, patched once however often it is called', async () => {
    const lens = createLens({ mode: 'production' });
    const log = recordEvents(lens, ['query-end']);
    const pool = db.pool({ max: 1 });
    expect(lens.instrument(pool)).toBe(pool);
    const patched = pool.query;
    expect(lens.instrument(pool, { name: 'again' })).toBe(pool);
    expect(pool.query).toBe(patched);
    expect(pool).toBeInstanceOf(pg.Pool);
    expect(Object.keys(pool)).not.toContain('query');
    await pool.query('SELECT 1');
    expect(log.ends()).toHaveLength(1);
    expect(log.ends()[0]?.target).toMatchObject({ kind: 'pool', port: Number(new URL(db.url).port) });
    await pool.end();
    await lens.close();
  });

  it('looks up pg at call time, so a later prototype patch (an APM) is not bypassed', async () => {
    const lens = createLens({ mode: 'production' });
    const log = recordEvents(lens, ['query-end']);
    const client = lens.instrument(db.client());
    await client.connect();
    const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
    const original = proto.query;
    let apmCalls = 0;
    proto.query = function (this: unknown, ...args: unknown[]) {
      apmCalls++;
      return original.apply(this, args);
    };
    try {
      await client.query('SELECT 1');
    } finally {
      proto.query = original;
      await client.end();
    }
    expect(apmCalls).toBe(1);
    expect(log.ends()).toHaveLength(1);
    await lens.close();
  });

  it('uninstruments in place: the pool goes back to plain pg and reports nothing', async () => {
    const lens = createLens({ mode: 'production' });
    const log = recordEvents(lens, ['query-end']);
    const pool = lens.instrument(db.pool({ max: 1 }));
    await pool.query('SELECT 1');
    expect(lens.uninstrument(pool)).toBe(pool);
    expect(Object.hasOwn(pool, 'query')).toBe(false);
    await pool.query('SELECT 2');
    expect(log.ends().map((e) => e.text)).toEqual(['SELECT 1']);
    lens.instrument(pool);
    await pool.query('SELECT 3');
    expect(log.ends().map((e) => e.text)).toEqual(['SELECT 1', 'SELECT 3']);
    await pool.end();
    await lens.close();
  });

  it('builds a pg-like module whose Pool and Client instrument themselves', async () => {
    const lens = createLens({ mode: 'production' });
    const log = recordEvents(lens, ['query-end']);
    const mod = lens.pgModule(pg);
    expect(lens.pgModule(pg)).toBe(mod);
    expect(mod.types).toBe(pg.types);
    expect(mod.defaults).toBe(pg.defaults);
    expect(mod.escapeIdentifier).toBe(pg.escapeIdentifier);
    expect(Object.getPrototypeOf(mod)).toBe(pg);

    const pool = new mod.Pool({ connectionString: db.url, max: 1 });
    expect(pool).toBeInstanceOf(pg.Pool);
    expect(pool.constructor.name).toBe(pg.Pool.name);
    const { rows } = await pool.query('SELECT $1::int AS n', [5]);
    expect(rows).toEqual([{ n: 5 }]);
    await pool.end();

    const client = new mod.Client({ connectionString: db.url });
    expect(client).toBeInstanceOf(pg.Client);
    await client.connect();
    await client.query('SELECT 2');
    await client.end();
    expect(log.ends().map((e) => [e.text, e.target.kind])).toEqual([
      ['SELECT $1::int AS n', 'pool'],
      ['SELECT 2', 'client'],
    ]);
    await lens.close();
  });

  it('refuses anything that is not a pg pool or client with a TypeError naming it', () => {
    const lens = createLens({ mode: 'production' });
    expect(() => lens.instrument(null)).toThrow(new TypeError('querylens: instrument() expects a pg.Pool or pg.Client instance; got null'));
    expect(() => lens.instrument({ query() {} })).toThrow(/got a plain object with keys query/);
    expect(() => lens.instrument(pg)).toThrow(/got the pg module itself; use lens.pgModule\(pg\)/);
    expect(() => lens.instrument(pg.Pool)).toThrow(/got a function \(BoundPool\); pass an instance/);
    expect(() => lens.instrument(new Map())).toThrow(/got an instance of Map/);
    expect(() => lens.instrument('postgres://x')).toThrow(TypeError);
    expect(() => lens.pgModule({ Pool: 1 })).toThrow(/pgModule\(\) expects the pg module/);
    expect(() => lens.instrument(new pg.Pool(), { name: '' })).toThrow(/option "name" must be a non-empty string/);
  });

  it('rejects bad options once, at createLens, naming the key and the valid ones', () => {
    expect(() => createLens({ calsites: 'always' } as never)).toThrow(
      /unknown option "calsites" \(did you mean "callsites"\?\)\. Valid options: mode, root, callsites/,
    );
    expect(() => createLens({ callsites: 'sometimes' } as never)).toThrow(/option "callsites" must be one of 'always' \| 'on-demand' \| 'sampled' \| 'off'; got "sometimes"/);
    expect(() => createLens({ stats: { maxFingerprint: 3 } } as never)).toThrow(InvalidOptionError);
    expect(() => createLens({ stats: { maxFingerprints: 0 } })).toThrow(/"stats.maxFingerprints" must be an integer from 1/);
    expect(() => createLens(42 as never)).toThrow(/options must be an object; got 42/);
    const lens = createLens({ mode: 'test', callsites: 'sampled' });
    expect(Object.isFrozen(lens.options)).toBe(true);
    expect(lens.options).toMatchObject({ mode: 'test', callsites: 'sampled', root: process.cwd() });
    expect(() => lens.on('query' as never, () => {})).toThrow(/unknown event "query"; valid events: finding/);
  });
});
