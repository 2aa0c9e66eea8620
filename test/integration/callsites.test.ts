/**
 * The call site of a query is the application's line (this file's), never pg, pg-pool, vitest or
 * querylens itself, whichever way the query was issued.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type Callsite, type Lens } from 'querylens';
import { here } from '../helpers/here.js';
import { recordEvents, type EventLog } from '../helpers/record-events.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

describe('call sites', () => {
  let db: TestDatabase;
  let lens: Lens;
  let log: EventLog;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await testDatabase();
    lens = createLens({ mode: 'development' });
    log = recordEvents(lens, ['query-end']);
    pool = lens.instrument(db.pool({ max: 2 }));
  });

  afterAll(async () => {
    await pool.end();
    await lens.close();
    await db.close();
  });

  function lastCallsite(): Callsite | undefined {
    return log.ends().at(-1)?.callsite?.resolve();
  }

  it('points at the line of client.query', async () => {
    const client = await pool.connect();
    try {
      const at = here();
      await client.query('SELECT 1 AS client_query');
      expect(lastCallsite()).toMatchObject({ file: at.file, line: at.line + 1 });
      expect(at.file).toBe('test/integration/callsites.test.ts');
    } finally {
      client.release();
    }
  });

  it('points at the line of pool.query with a promise', async () => {
    const at = here();
    await pool.query('SELECT 1 AS pool_promise');
    expect(lastCallsite()).toMatchObject({ file: at.file, line: at.line + 1 });
  });

  it('points at the line of pool.query with a callback, even when it waited for a connection', async () => {
    const held = [await pool.connect(), await pool.connect()];
    const at = here();
    const done = new Promise<void>((resolve, reject) => pool.query('SELECT 1 AS pool_callback', (err) => (err ? reject(err) : resolve())));
    for (const c of held) c.release();
    await done;
    expect(lastCallsite()).toMatchObject({ file: at.file, line: at.line + 1 });
    expect(log.ends().at(-1)?.poolWaitMs).toBeGreaterThanOrEqual(0);
  });

  it('points at the query inside async functions three levels deep', async () => {
    async function level3(): Promise<number> {
      await Promise.resolve();
      const at = here();
      await pool.query('SELECT 3 AS deep');
      return at.line + 1;
    }
    async function level2(): Promise<number> {
      await new Promise((r) => setImmediate(r));
      return level3();
    }
    async function level1(): Promise<number> {
      return level2();
    }
    const line = await level1();
    expect(lastCallsite()).toMatchObject({ file: 'test/integration/callsites.test.ts', line, function: 'level3' });
  });

  it('uses the call site of the ORM operation when an adapter opened one', async () => {
    const at = here();
    await lens.withOperation({ orm: 'fake-orm', model: 'Post', operation: 'findMany' }, async () => {
      await new Promise((r) => setImmediate(r));
      await pool.query('SELECT 1 AS via_operation');
    });
    const end = log.ends().at(-1);
    expect(end?.operation).toMatchObject({ orm: 'fake-orm', model: 'Post', operation: 'findMany' });
    expect(end?.callsite?.resolve()).toMatchObject({ file: at.file, line: at.line + 1 });
  });

  it('captures no call site with callsites off, and none inside lens.ignore', async () => {
    const quiet = createLens({ mode: 'development', callsites: 'off' });
    const quietLog = recordEvents(quiet, ['query-end']);
    const p = quiet.instrument(db.pool({ max: 1 }));
    await p.query('SELECT 1');
    await lens.ignore(() => pool.query('SELECT 1 AS ignored'));
    await p.end();
    expect(quietLog.ends()[0]?.callsite).toBeUndefined();
    expect(log.ends().at(-1)).toMatchObject({ ignored: true, callsite: undefined });
    await quiet.close();
  });
});
