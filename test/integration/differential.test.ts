/**
 * The differential suite: one scripted workload, every pg call form, run against a raw pool and
 * against an instrumented pool on the same database. The application must not be able to tell
 * them apart (same results, same errors, same order), and the instrumented run must produce
 * exactly one end event per statement, with the right SQL, row count, SQLSTATE and duration.
 */
import pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type QueryEndEvent } from 'querylens';
import { recordEvents } from '../helpers/record-events.js';
import { tableName, testDatabase, type TestDatabase } from '../helpers/database.js';

const T = tableName('differential');

/** What the application observed for one step, in comparable form. */
type Observation = { readonly step: string; readonly ok: unknown } | { readonly step: string; readonly error: ErrorShape };
interface ErrorShape {
  readonly type: string;
  readonly message: string;
  readonly code: unknown;
}
/** What the instrumentation should have reported for one statement. */
interface Expected {
  readonly text: string;
  readonly rowCount: number | undefined;
  readonly sqlstate: string | undefined;
}

function shapeOf(result: pg.QueryResult | pg.QueryResult[]): unknown {
  const one = (r: pg.QueryResult) => ({ command: r.command, rowCount: r.rowCount, rows: r.rows, fields: r.fields.map((f) => f.name) });
  return Array.isArray(result) ? result.map(one) : one(result);
}

function errorShape(err: unknown): ErrorShape {
  const e = err as Error & { code?: unknown };
  return { type: e.constructor.name, message: e.message, code: e.code };
}

function rowsOf(result: pg.QueryResult | pg.QueryResult[]): number | undefined {
  if (Array.isArray(result)) return result.reduce((n, r) => n + (r.rowCount ?? 0), 0);
  return result.rowCount ?? undefined;
}

class Script {
  readonly observations: Observation[] = [];
  readonly expected: Expected[] = [];
  /** Error objects as the application received them, in order. */
  readonly errors: unknown[] = [];

  constructor(readonly label: string) {}

  /** A step whose promise the application awaits; `text` is the statement it issues. */
  async run(step: string, text: string, fn: () => Promise<pg.QueryResult | pg.QueryResult[]>): Promise<void> {
    try {
      const result = await fn();
      this.observations.push({ step, ok: shapeOf(result) });
      this.expected.push({ text, rowCount: rowsOf(result), sqlstate: undefined });
    } catch (err) {
      this.fail(step, text, err);
    }
  }

  /** A callback-style step. */
  callback(step: string, text: string, fn: (cb: (err: Error | null, result?: pg.QueryResult) => void) => void): Promise<void> {
    return new Promise((resolve) => {
      fn((err, result) => {
        if (err) this.fail(step, text, err);
        else {
          this.observations.push({ step, ok: shapeOf(result!) });
          this.expected.push({ text, rowCount: rowsOf(result!), sqlstate: undefined });
        }
        resolve();
      });
    });
  }

  fail(step: string, text: string | undefined, err: unknown): void {
    this.errors.push(err);
    this.observations.push({ step, error: errorShape(err) });
    if (text !== undefined) {
      const code = (err as { code?: unknown }).code;
      this.expected.push({ text, rowCount: undefined, sqlstate: typeof code === 'string' ? code : undefined });
    }
  }

  note(step: string, ok: unknown, text: string, rowCount: number | undefined): void {
    this.observations.push({ step, ok });
    this.expected.push({ text, rowCount, sqlstate: undefined });
  }
}

const intAsText: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 23 ? (v: string) => `int:${v}` : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

async function workload(pool: pg.Pool, s: Script): Promise<void> {
  const ins = `INSERT INTO ${T} (name, n) VALUES ('a', 1), ('b', 2) RETURNING id, name`;
  await s.run('insert, promise', ins, () => pool.query(ins));
  const sel = `SELECT id, name, n FROM ${T} WHERE n >= $1 ORDER BY id`;
  await s.run('select with values, promise', sel, () => pool.query(sel, [1]));
  const count = `SELECT count(*)::int AS c FROM ${T}`;
  await s.callback('pool.query(text, cb)', count, (cb) => void pool.query(count, cb));
  const byId = `SELECT name FROM ${T} WHERE id = $1`;
  await s.callback('pool.query(text, values, cb)', byId, (cb) => void pool.query(byId, [2], cb));
  const arr = `SELECT id, name FROM ${T} ORDER BY id`;
  await s.run('config rowMode array', arr, () => pool.query({ text: arr, rowMode: 'array' }));
  const typed = `SELECT n FROM ${T} ORDER BY id`;
  await s.run('config with types', typed, () => pool.query({ text: typed, types: intAsText }));
  const dup = `INSERT INTO ${T} (name, n) VALUES ('a', 3)`;
  await s.run('unique violation, promise', dup, () => pool.query(dup));
  await s.run('syntax error, promise', 'SELEC 1', () => pool.query('SELEC 1'));
  const missing = `SELECT * FROM ${T}_missing`;
  await s.callback('undefined table, callback', missing, (cb) => void pool.query(missing, cb));
  await s.run('multi-statement text', 'SELECT 1 AS one; SELECT 2 AS two', () => pool.query('SELECT 1 AS one; SELECT 2 AS two'));
  await s.run('empty text', '', () => pool.query(''));
  await s.run('function as first argument', 'never sent', () => pool.query((() => {}) as unknown as string));
  // The guard rejects before any statement: no expected event.
  s.expected.pop();

  // A transaction on a checked-out client: named statements (with and without text), a
  // savepoint, an error inside it, recovery and commit.
  const client = await pool.connect();
  try {
    await s.run('BEGIN', 'BEGIN', () => client.query('BEGIN'));
    const named = `SELECT name FROM ${T} WHERE n = $1`;
    const stmt = `ql_named_${s.label}`;
    await s.run('named statement with text', named, () => client.query({ name: stmt, text: named, values: [1] }));
    await s.run('named statement by name only', named, () => client.query({ name: stmt, values: [2] } as pg.QueryConfig));
    await s.run('SAVEPOINT', 'SAVEPOINT sp', () => client.query('SAVEPOINT sp'));
    await s.run('unique violation in transaction', dup, () => client.query(dup));
    await s.run('ROLLBACK TO', 'ROLLBACK TO SAVEPOINT sp', () => client.query('ROLLBACK TO SAVEPOINT sp'));
    const upd = `UPDATE ${T} SET n = n + 10 WHERE name = $1`;
    await s.run('update in transaction', upd, () => client.query(upd, ['b']));
    await s.run('COMMIT', 'COMMIT', () => client.query('COMMIT'));
    // pg throws synchronously for a null config: same TypeError, no statement.
    try {
      void client.query(null as unknown as string);
      s.observations.push({ step: 'null config', ok: 'no throw' });
    } catch (err) {
      s.fail('null config', undefined, err);
    }
  } finally {
    client.release();
  }

  // pool.connect with a callback, and config.callback on the client.
  const viaConfig = `SELECT name FROM ${T} ORDER BY id DESC`;
  await new Promise<void>((resolve) => {
    pool.connect((err, c, release) => {
      if (err || !c) {
        s.fail('pool.connect(cb)', undefined, err);
        return resolve();
      }
      const config = {
        text: viaConfig,
        callback: (qerr: Error | null, result: pg.QueryResult) => {
          release();
          if (qerr) s.fail('config.callback', viaConfig, qerr);
          else s.note('config.callback', shapeOf(result), viaConfig, result.rowCount ?? undefined);
          resolve();
        },
      };
      c.query(config as unknown as pg.QueryConfig);
    });
  });

  // Submittables: a cursor read in two batches and closed early, a cursor that fails, a stream.
  const c2 = await pool.connect();
  try {
    const cursorText = `SELECT g AS x FROM generate_series(1, 10) g`;
    const cursor = c2.query(new Cursor(cursorText));
    const first = await cursor.read(3);
    const second = await cursor.read(2);
    await cursor.close();
    s.note('cursor read + close', [first, second], cursorText, first.length + second.length);

    const badText = 'SELECT 1 / 0 AS boom';
    const bad = c2.query(new Cursor(badText));
    try {
      await bad.read(1);
      s.observations.push({ step: 'failing cursor', ok: 'no error' });
    } catch (err) {
      s.fail('failing cursor', badText, err);
    }

    const streamText = `SELECT g AS x FROM generate_series(1, 5) g`;
    const rows: unknown[] = [];
    const stream = c2.query(new QueryStream(streamText, [], { batchSize: 2 }));
    for await (const row of stream) rows.push(row);
    s.note('query stream', rows, streamText, rows.length);
  } finally {
    c2.release();
  }
}

describe('differential: raw pool vs instrumented pool', () => {
  let db: TestDatabase;
  let setup: pg.Pool;

  beforeAll(async () => {
    db = await testDatabase();
    setup = db.pool({ max: 1 });
    await setup.query(`CREATE TABLE ${T} (id serial PRIMARY KEY, name text UNIQUE NOT NULL, n int NOT NULL)`);
  });

  afterAll(async () => {
    await setup.query(`DROP TABLE IF EXISTS ${T}`);
    await setup.end();
    await db.close();
  });

  async function runOn(label: string, instrument: (pool: pg.Pool) => pg.Pool): Promise<Script> {
    await setup.query(`TRUNCATE ${T} RESTART IDENTITY`);
    const pool = instrument(db.pool({ max: 2 }));
    const script = new Script(label);
    try {
      await workload(pool, script);
    } finally {
      await pool.end();
    }
    return script;
  }

  it('gives the application identical results, errors and one event per statement', async () => {
    const raw = await runOn('raw', (p) => p);

    const lens = createLens({ mode: 'production', callsites: 'always' });
    const log = recordEvents(lens);
    const instrumented = await runOn('lens', (p) => lens.instrument(p));

    // What the application saw is identical (the named statement differs only in its name).
    expect(instrumented.observations).toEqual(raw.observations);
    expect(raw.observations.some((o) => 'error' in o && o.error.code === '23505')).toBe(true);
    expect(raw.observations.some((o) => 'error' in o && o.error.code === '42601')).toBe(true);

    // One end event per statement, in statement order, with the right SQL, rows and SQLSTATE.
    const ends = log.ends();
    expect(ends.map((e) => ({ text: e.text, rowCount: e.rowCount, sqlstate: e.sqlstate }))).toEqual(instrumented.expected);
    for (const e of ends) {
      expect(e.durationMs).toBeGreaterThan(0);
      expect(e.durationMs).toBeLessThan(10_000);
      expect(e.sql.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    }

    // Each start precedes its end, and ids are unique.
    const order = log.events.filter((e) => e.type === 'query-start' || e.type === 'query-end').map((e) => `${e.type}:${(e as QueryEndEvent).id}`);
    for (const e of ends) expect(order.indexOf(`query-start:${e.id}`)).toBeLessThan(order.indexOf(`query-end:${e.id}`));
    expect(new Set(ends.map((e) => e.id)).size).toBe(ends.length);

    // The application received the very error objects the events carry.
    const eventErrors = ends.filter((e) => e.error !== undefined).map((e) => e.error);
    const appErrors = instrumented.errors.filter((err) => eventErrors.includes(err));
    expect(appErrors.length).toBe(eventErrors.length);

    // Result rows are visible to sinks as pg's own objects; streamed queries carry none.
    const multi = ends.find((e) => e.text.startsWith('SELECT 1 AS one'));
    expect(Array.isArray(multi?.result)).toBe(true);
    expect(ends.filter((e) => e.streamed).map((e) => e.result)).toEqual([undefined, undefined, undefined]);
    await lens.close();
  });
});
