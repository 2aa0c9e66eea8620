/**
 * What makes a text uncacheable, read from the lexer: locking clauses, volatile and clock
 * functions, temporary tables — and never a false alarm from a string, a comment or a column name.
 */
import { describe, expect, it } from 'vitest';
import { checkStatement } from '../../../src/cache/statement-check.js';

const reason = (sql: string): string | undefined => checkStatement(sql).uncacheable;

describe('checkStatement', () => {
  it('accepts plain reads and keeps their relations', () => {
    const c = checkStatement('SELECT p.id FROM posts p JOIN users u ON u.id = p.user_id WHERE u.name = $1 ORDER BY p.id');
    expect(c.uncacheable).toBeUndefined();
    expect(c.relations).toEqual(['posts', 'users']);
    expect(c.maxParam).toBe(1);
  });

  it('flags locking clauses of every strength', () => {
    for (const lock of ['FOR UPDATE', 'FOR SHARE', 'FOR NO KEY UPDATE', 'FOR KEY SHARE', 'for update skip locked']) {
      expect(reason(`SELECT id FROM jobs WHERE state = 'new' ${lock}`)).toBe('locking-clause');
    }
  });

  it('flags volatile and clock-reading functions, qualified or not', () => {
    for (const sql of [
      'SELECT id FROM posts WHERE created_at > now() - interval \'1 day\'',
      'SELECT id FROM posts ORDER BY random() LIMIT 5',
      "SELECT id FROM posts WHERE id = nextval('s')",
      'SELECT id FROM posts WHERE token = gen_random_uuid()',
      'SELECT id FROM posts WHERE at < pg_catalog.clock_timestamp()',
      'SELECT id FROM posts WHERE at < CURRENT_TIMESTAMP',
      'SELECT id FROM posts WHERE day = current_date',
      'SELECT id FROM posts TABLESAMPLE SYSTEM (10)',
    ]) {
      expect(reason(sql), sql).toBe('volatile-function');
    }
    expect(reason('SELECT id FROM posts TABLESAMPLE SYSTEM (10) REPEATABLE (1)')).toBeUndefined();
  });

  it('flags temporary tables named through pg_temp', () => {
    expect(reason('SELECT id FROM pg_temp.scratch')).toBe('temp-table');
  });

  it('is not fooled by strings, comments or columns that look like functions', () => {
    expect(reason("SELECT id FROM posts WHERE body = 'now() FOR UPDATE'")).toBeUndefined();
    expect(reason('SELECT id FROM posts -- random()\nWHERE a = 1')).toBeUndefined();
    expect(reason('SELECT id, "now" FROM posts WHERE created_at IS NOT NULL')).toBeUndefined();
  });

  it('collects called function names for the catalog volatility check', () => {
    expect(checkStatement('SELECT id FROM search_posts($1) s WHERE lower(s.title) = $2').functions).toEqual(['search_posts', 'lower']);
  });

  it('strips one trailing semicolon and refuses a second statement', () => {
    expect(checkStatement('SELECT id FROM posts;').body).toBe('SELECT id FROM posts');
    expect(checkStatement('SELECT id FROM posts; -- done').body).toBe('SELECT id FROM posts');
    expect(() => checkStatement('SELECT id FROM posts; DELETE FROM posts')).toThrow(/single statement/);
  });

  it('refuses writes and anything that is not a read, naming what it got', () => {
    expect(() => checkStatement('DELETE FROM posts RETURNING id')).toThrow(/got a DELETE statement/);
    expect(() => checkStatement('WITH d AS (DELETE FROM posts RETURNING id) SELECT id FROM d')).toThrow(TypeError);
    expect(() => checkStatement('BEGIN')).toThrow(TypeError);
    expect(() => checkStatement('   ')).toThrow(/empty text/);
  });
});
