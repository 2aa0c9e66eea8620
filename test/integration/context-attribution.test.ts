/**
 * Every query lands in the unit of work that issued it, even when 50 units share 4 connections:
 * pg-pool hands a freed connection to the next waiter from inside the releasing request's
 * callbacks, so anything read at callback time would be attributed to the wrong scope.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type QueryEndEvent } from 'querylens';
import { recordEvents } from '../helpers/record-events.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

function queryCb(pool: pg.Pool | pg.PoolClient, text: string, values: unknown[]): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    pool.query(text, values, (err: Error | undefined, res: pg.QueryResult) => (err ? reject(err) : resolve(res)));
  });
}

describe('context attribution under concurrency', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await testDatabase();
  });

  afterAll(async () => {
    await db.close();
  });

  it('attributes every query of 50 concurrent scopes on a 4-connection pool to its own scope', async () => {
    const lens = createLens({ mode: 'production', callsites: 'off' });
    const log = recordEvents(lens, ['query-end']);
    const pool = lens.instrument(db.pool({ max: 4 }));
    const SCOPES = 50;

    await Promise.all(
      Array.from({ length: SCOPES }, (_, i) =>
        lens.scope(`unit-${i}`, async () => {
          // promise form, with a little jitter so scopes interleave on the connections
          await pool.query('SELECT $1::int AS unit, pg_sleep($2)', [i, (i % 5) / 1000]);
          // callback form, and a query issued from inside pg's callback
          await new Promise<void>((resolve, reject) => {
            pool.query('SELECT $1::int AS unit', [i], (err) => {
              if (err) return reject(err);
              pool.query('SELECT $1::int AS unit, 1 AS nested', [i], (err2) => (err2 ? reject(err2) : resolve()));
            });
          });
          // pool.connect with a callback, then queries on the checked-out client
          await new Promise<void>((resolve, reject) => {
            pool.connect((err, client, release) => {
              if (err || !client) return reject(err ?? new Error('no client'));
              client.query('SELECT $1::int AS unit, 2 AS on_client', [i], (qerr) => {
                release();
                return qerr ? reject(qerr) : resolve();
              });
            });
          });
          const client = await pool.connect();
          try {
            await queryCb(client, 'SELECT $1::int AS unit, 3 AS on_client', [i]);
          } finally {
            client.release();
          }
        }),
      ),
    );
    await pool.end();

    const ends = log.ends();
    expect(ends).toHaveLength(SCOPES * 5);
    const misattributed = ends.filter((e: QueryEndEvent) => e.scope?.name !== `unit-${String(e.values?.[0])}`);
    expect(misattributed.map((e) => [e.scope?.name, e.values?.[0], e.text])).toEqual([]);
    expect(ends.every((e) => e.error === undefined)).toBe(true);
    await lens.close();
  });

  it('reports queries outside any scope without a scope, even on connections opened inside one', async () => {
    const lens = createLens({ mode: 'production', callsites: 'off' });
    const log = recordEvents(lens, ['query-end']);
    const pool = lens.instrument(db.pool({ max: 1 }));
    await lens.scope('opens the connection', () => pool.query('SELECT 1 AS inside'));
    await pool.query('SELECT 2 AS outside');
    await new Promise<void>((resolve, reject) => void pool.query('SELECT 3 AS outside_cb', (err) => (err ? reject(err) : resolve())));
    await pool.end();
    expect(log.ends().map((e) => [e.text, e.scope?.name])).toEqual([
      ['SELECT 1 AS inside', 'opens the connection'],
      ['SELECT 2 AS outside', undefined],
      ['SELECT 3 AS outside_cb', undefined],
    ]);
    await lens.close();
  });

  it('gives nested scopes their parent, and records pool wait for pool.query', async () => {
    const lens = createLens({ mode: 'production', callsites: 'off' });
    const log = recordEvents(lens, ['query-end']);
    const pool = lens.instrument(db.pool({ max: 1 }));
    await lens.scope('outer', () => lens.scope('inner', () => pool.query('SELECT 1')));
    const client = await pool.connect();
    const waiting = pool.query('SELECT 2');
    await new Promise((r) => setTimeout(r, 100));
    client.release();
    await waiting;
    await pool.end();
    const [nested, waited] = log.ends();
    expect(nested?.scope?.name).toBe('inner');
    expect(nested?.scope?.parent?.name).toBe('outer');
    expect(waited?.poolWaitMs).toBeGreaterThanOrEqual(95);
    // the wait is reported apart: the query's own duration does not include it
    expect(waited?.durationMs).toBeLessThan(waited?.poolWaitMs ?? 0);
    await lens.close();
  });
});
