import { describe, expect, it } from 'vitest';
import { sanitize } from '../../../src/sql/index.js';

describe('sanitize', () => {
  it('replaces string constants of every PostgreSQL form with ?', () => {
    expect(sanitize("SELECT 'a', E'b\\'c', U&'d\\0061', B'0101', X'1F', N'n'")).toBe('SELECT ?, ?, ?, ?, ?, ?');
    expect(sanitize("SELECT e'x', u&'y', b'1', x'ff', n'z'")).toBe('SELECT ?, ?, ?, ?, ?');
    expect(sanitize('SELECT $$a$$, $fn$ b $fn$')).toBe('SELECT ?, ?');
  });

  it('replaces numbers of every form, with a touching sign, with ?', () => {
    expect(sanitize('SELECT 1, 1.5, .5, 1e-3, 0x1F, 0o17, 0b101, 1_000, -12, +12')).toBe('SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?');
    expect(sanitize('SELECT 99+100')).toBe('SELECT ??');
    expect(sanitize('SELECT a - 1')).toBe('SELECT a - ?');
  });

  it('replaces boolean values but keeps IS TRUE / IS NOT FALSE predicates', () => {
    expect(sanitize('UPDATE t SET active = true WHERE deleted = FALSE')).toBe('UPDATE t SET active = ? WHERE deleted = ?');
    expect(sanitize('SELECT * FROM t WHERE a IS TRUE AND b IS NOT FALSE')).toBe('SELECT * FROM t WHERE a IS TRUE AND b IS NOT FALSE');
  });

  it('keeps the type word of a typed literal and replaces its string', () => {
    expect(sanitize("SELECT DATE '2024-01-01', INTERVAL '1 day', TIMESTAMP '2024-01-01 00:00'")).toBe('SELECT DATE ?, INTERVAL ?, TIMESTAMP ?');
    expect(sanitize("SELECT '1'::int, '{1,2}'::int[]")).toBe('SELECT ?::int, ?::int[]');
  });

  it('keeps $n parameters, ? placeholders, NULL and identifiers as written', () => {
    expect(sanitize('SELECT * FROM "Users" u WHERE u.id = $1 AND u.org = ? AND u.x IS NULL')).toBe(
      'SELECT * FROM "Users" u WHERE u.id = $1 AND u.org = ? AND u.x IS NULL',
    );
  });

  it('does not mistake identifiers with digits or literal-like shapes for literals', () => {
    expect(sanitize('SELECT c3po, r2d2, e1, x1e5, _1 FROM covid19 JOIN t_2024_01 ON n1h1 = 1')).toBe(
      'SELECT c3po, r2d2, e1, x1e5, _1 FROM covid19 JOIN t_2024_01 ON n1h1 = ?',
    );
  });

  it('keeps "quoted" identifiers, even when they contain quotes, digits or keywords', () => {
    expect(sanitize('SELECT "it\'s", "42", "a""b", "SELECT" FROM "t 1" WHERE "x" = 5')).toBe(
      'SELECT "it\'s", "42", "a""b", "SELECT" FROM "t 1" WHERE "x" = ?',
    );
  });

  it('tells the jsonb ? operator from the ? placeholder and keeps both', () => {
    expect(sanitize("SELECT * FROM t WHERE doc ? 'key' AND id = ?")).toBe('SELECT * FROM t WHERE doc ? ? AND id = ?');
    expect(sanitize("SELECT doc ?| array['a', 'b'], doc ?& array['c'] FROM t")).toBe('SELECT doc ?| array[?, ?], doc ?& array[?] FROM t');
  });

  it('replaces a dollar-quoted body whole, quotes and comment markers inside included', () => {
    expect(sanitize("SELECT $body$ it's -- not a comment /* nor this */ $inner$ x $inner$ $body$, 1")).toBe('SELECT ?, ?');
    expect(sanitize("SELECT $a$dollar quotes can be $b$nested$b$$a$ AND bar = 'baz'")).toBe('SELECT ? AND bar = ?');
  });

  it('removes comments, nested ones included, and keeps the whitespace around them', () => {
    expect(sanitize('SELECT column -- end of line comment\nFROM /* block \n comment */ table')).toBe('SELECT column \nFROM  table');
    expect(sanitize("SELECT /* a /* nested */ still 'comment' */ 1 FROM t")).toBe('SELECT  ? FROM t');
  });

  it('keeps two tokens apart when the comment between them had no whitespace', () => {
    expect(sanitize('SELECT/**/a/*x*/FROM/*y*/t')).toBe('SELECT a FROM t');
  });

  it('drops leading and trailing comments entirely and sanitizes comment-only text to empty', () => {
    expect(sanitize('-- name: GetUser :one\nSELECT * FROM users WHERE id = 1 /* app=api */')).toBe('SELECT * FROM users WHERE id = ?');
    expect(sanitize('/* only */ -- a comment')).toBe('');
    expect(sanitize('')).toBe('');
  });

  it('keeps whitespace of comment-free text verbatim', () => {
    expect(sanitize('  SELECT\n\t*  FROM t  WHERE a =\t1  ')).toBe('  SELECT\n\t*  FROM t  WHERE a =\t?  ');
  });

  it('does not treat comment markers inside strings as comments', () => {
    expect(sanitize("SELECT * FROM t WHERE foo='bar/*' AND baz='whatever */qux' AND q='--x'")).toBe('SELECT * FROM t WHERE foo=? AND baz=? AND q=?');
  });

  it('collapses an IN list of literals to IN (?) and leaves lists with parameters or expressions alone', () => {
    expect(sanitize("SELECT * FROM t WHERE value IN (123, -456, 'abc')")).toBe('SELECT * FROM t WHERE value IN (?)');
    expect(sanitize('SELECT * FROM t WHERE a NOT IN (1,2)')).toBe('SELECT * FROM t WHERE a NOT IN (?)');
    expect(sanitize('SELECT * FROM t WHERE a IN ($1, $2)')).toBe('SELECT * FROM t WHERE a IN ($1, $2)');
    expect(sanitize('SELECT * FROM t WHERE a IN ($1, 2, b + 3)')).toBe('SELECT * FROM t WHERE a IN ($1, ?, b + ?)');
    expect(sanitize('SELECT * FROM t WHERE a IN (SELECT 1)')).toBe('SELECT * FROM t WHERE a IN (SELECT ?)');
    expect(sanitize('SELECT * FROM t WHERE a IN /* ids of alice */ (1, /* bob */ 2)')).toBe('SELECT * FROM t WHERE a IN  (?)');
  });

  it('swallows everything after an unterminated string, which is never emitted', () => {
    expect(sanitize("SELECT * FROM t WHERE a = 'secret AND b = 2 -- hidden")).toBe('SELECT * FROM t WHERE a = ?');
    expect(sanitize("SELECT * FROM t WHERE a = E'sec\\'ret")).toBe('SELECT * FROM t WHERE a = ?');
    expect(sanitize('SELECT $x$ never closed')).toBe('SELECT ?');
    expect(sanitize("SELECT 'a''")).toBe('SELECT ?');
  });

  it('swallows everything after an unterminated quoted identifier too', () => {
    expect(sanitize(`SELECT "abc, 'secret' FROM t`)).toBe('SELECT ?');
  });

  it('cuts at an earlier backslash-quote string when the text ends inside a quote', () => {
    // read with backslash escapes, 'foo\'' AND color=' ends early and 'blue' is the value
    expect(sanitize("SELECT * FROM t WHERE name='foo\\'' AND color='blue'")).toBe('SELECT * FROM t WHERE name=?');
    expect(sanitize("SELECT * FROM t WHERE name='foo\\' AND color='blue'")).toBe('SELECT * FROM t WHERE name=? AND color=?');
  });

  it('reads string continuation across a newline as one constant', () => {
    expect(sanitize("SELECT 'a'\n  'b' AS x")).toBe('SELECT ? AS x');
  });

  it('handles text with no literal at all as the identity', () => {
    const sql = 'SELECT a, b FROM t JOIN u USING (id) WHERE a = $1 ORDER BY b';
    expect(sanitize(sql)).toBe(sql);
  });

  it('throws a TypeError that names what was passed, for non-strings only', () => {
    expect(() => sanitize(42 as unknown as string)).toThrow(TypeError);
    expect(() => sanitize(null as unknown as string)).toThrow(/null/);
    expect(() => sanitize({} as unknown as string)).toThrow(/object/);
    expect(() => sanitize(undefined as unknown as string)).toThrow(/undefined/);
  });
});
