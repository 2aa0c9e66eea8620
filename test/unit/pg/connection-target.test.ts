import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PgConnectionTarget } from '../../../src/pg/connection-target.js';

describe('connection targets', () => {
  it('reads database, host and port from a pool connection string, never the password', async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://app:s3cret@db.example:6543/shop' });
    const target = PgConnectionTarget.forPool(pool, undefined);
    expect(target).toMatchObject({ kind: 'pool', name: 'shop@db.example:6543', database: 'shop', host: 'db.example', port: 6543 });
    expect(JSON.stringify(target)).not.toContain('s3cret');
    expect(target.poolCounts()).toEqual({ total: 0, idle: 0, waiting: 0 });
    await pool.end();
  });

  it('completes what the pool options lack from the first client pg resolves', async () => {
    const pool = new pg.Pool({ host: 'localhost' });
    const target = PgConnectionTarget.forPool(pool, 'main');
    expect(target).toMatchObject({ name: 'main', host: 'localhost', database: undefined, port: undefined });
    target.learnFrom(new pg.Client({ host: 'localhost', port: 5544, database: 'orders' }));
    expect(target).toMatchObject({ name: 'main', database: 'orders', port: 5544 });
    await pool.end();
  });

  it('describes a standalone client, which has no pool counters', () => {
    const target = PgConnectionTarget.forClient(new pg.Client({ host: '10.0.0.5', port: 5432, database: 'db' }), undefined);
    expect(target).toMatchObject({ kind: 'client', name: 'db@10.0.0.5:5432' });
    expect(target.poolCounts()).toBeUndefined();
  });
});
