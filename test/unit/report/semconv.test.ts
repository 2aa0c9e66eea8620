/**
 * Error descriptions that quote no value, `error.type`, and `db.query.text` (as is when
 * parameterized, sanitized otherwise, cut to a length).
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../../../src/sql/index.js';
import { QueryTextMemo, safeQueryText, truncateText } from '../../../src/report/query-text.js';
import { errorType, sanitizedErrorDescription, sqlstateCondition } from '../../../src/report/semconv.js';

describe('semantic-convention helpers', () => {
  it('describes server errors by SQLSTATE and condition, never by message', () => {
    const err = Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), { code: '23505', detail: 'Key (email)=(a@b.c) already exists.' });
    expect(errorType(err, '23505')).toBe('23505');
    expect(sanitizedErrorDescription(err, '23505')).toBe('unique_violation (SQLSTATE 23505)');
    expect(sqlstateCondition('22P02')).toBe('invalid_text_representation');
    expect(sqlstateCondition('22999')).toBe('data_exception');
    expect(sanitizedErrorDescription(err, 'ZZ999')).toBe('SQLSTATE ZZ999');
  });

  it('uses the error class for client-side errors, and _OTHER when there is none', () => {
    expect(errorType(new TypeError('x'), undefined)).toBe('TypeError');
    expect(sanitizedErrorDescription(new TypeError('secret'), undefined)).toBe('TypeError (client-side error)');
    expect(errorType('a string', undefined)).toBe('_OTHER');
    expect(errorType({ name: 'has spaces in it' }, undefined)).toBe('_OTHER');
    expect(sanitizedErrorDescription(undefined, undefined)).toBe('query failed');
  });

  it('keeps parameterized text as is and sanitizes literals and comments', () => {
    const analyze = createAnalyzer();
    const text = 'SELECT * FROM users WHERE id = $1';
    expect(safeQueryText(text, analyze(text))).toBe(text);
    const inline = "SELECT * FROM users WHERE email = 'a@b.c'";
    expect(safeQueryText(inline, analyze(inline))).toBe('SELECT * FROM users WHERE email = ?');
    const commented = "SELECT * FROM users /* traceparent='00-abc' */ WHERE id = $1";
    expect(safeQueryText(commented, analyze(commented))).not.toContain('traceparent');
  });

  it('cuts long text to the maximum, never inside a surrogate pair, and memoises per text', () => {
    expect(truncateText('abcdef', 4)).toBe('abc…');
    expect(truncateText('abcd', 4)).toBe('abcd');
    expect(truncateText('ab😀cd', 4)).toBe('ab…');
    const analyze = createAnalyzer();
    const memo = new QueryTextMemo(20);
    const text = `SELECT ${'x, '.repeat(20)}y FROM t`;
    expect(memo.get(text, analyze(text))).toHaveLength(20);
    expect(memo.get(text, analyze(text))).toBe(memo.get(text, analyze(text)));
    expect(memo.get('', analyze(''))).toBeUndefined();
  });
});
