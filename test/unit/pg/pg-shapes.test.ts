import pg from 'pg';
import Cursor from 'pg-cursor';
import { describe, expect, it } from 'vitest';
import { describeNonPg, isPgClient, isPgPool, isSubmittable } from '../../../src/pg/pg-shapes.js';

describe('recognising pg objects by shape', () => {
  it('tells pools from clients, without connecting', async () => {
    const pool = new pg.Pool();
    const client = new pg.Client();
    expect([isPgPool(pool), isPgClient(pool)]).toEqual([true, false]);
    expect([isPgPool(client), isPgClient(client)]).toEqual([false, true]);
    await pool.end();
  });

  it('recognises Submittables and nothing else as such', () => {
    expect(isSubmittable(new Cursor('SELECT 1'))).toBe(true);
    expect(isSubmittable(new pg.Query('SELECT 1'))).toBe(true);
    expect(isSubmittable({ text: 'SELECT 1' })).toBe(false);
  });

  it('describes what it got instead of a pool or client', () => {
    expect(describeNonPg(undefined)).toBe('undefined');
    expect(describeNonPg(3)).toBe('a number (3)');
    expect(describeNonPg(Promise.resolve(1))).toBe('a promise; await it first');
    expect(describeNonPg(Object.create(null))).toBe('a plain object');
    expect(describeNonPg(() => {})).toBe('a function; pass an instance (new pg.Pool(…)), not the class');
  });
});
