import { describe, expect, it } from 'vitest';
import { normalize } from '../../../src/sql/index.js';

describe('normalize', () => {
  it('turns every constant into $n in order of appearance', () => {
    expect(normalize("SELECT 1 FROM x WHERE y = 12561 AND z = '124'")).toBe('SELECT $1 FROM x WHERE y = $2 AND z = $3');
    expect(normalize("SELECT 1 FROM x WHERE y = (SELECT 123 FROM a WHERE z = 'bla')")).toBe('SELECT $1 FROM x WHERE y = (SELECT $2 FROM a WHERE z = $3)');
  });

  it('numbers constants after the highest parameter the text already uses', () => {
    expect(normalize("SELECT * FROM t WHERE a = $2 AND b = 'x' AND c = $1")).toBe('SELECT * FROM t WHERE a = $2 AND b = $3 AND c = $1');
  });

  it('treats strings of every form, typed literals and booleans as constants', () => {
    expect(normalize("SELECT U&'d\\0061t\\+000061' FROM x")).toBe('SELECT $1 FROM x');
    expect(normalize("SELECT * FROM x WHERE z NOT LIKE E'abc'AND TRUE")).toBe('SELECT * FROM x WHERE z NOT LIKE $1AND $2');
    expect(normalize("SELECT DATE '2024-01-01', $$x$$, B'01', '1'::int")).toBe('SELECT DATE $1, $2, $3, $4::int');
    expect(normalize('SELECT * FROM t WHERE a IS TRUE AND b IS NOT FALSE AND c IS NULL')).toBe('SELECT * FROM t WHERE a IS TRUE AND b IS NOT FALSE AND c IS NULL');
  });

  it('folds a unary minus into the number, as the grammar does, but not a binary one', () => {
    expect(normalize('SELECT -1, - 2, 3 - 4, x-5, +6 FROM t WHERE a = -7')).toBe('SELECT $1, $2, $3 - $4, x-$5, +$6 FROM t WHERE a = $7');
    expect(normalize('SELECT -1::int')).toBe('SELECT -$1::int');
  });

  it('squashes IN lists and ARRAY[…] of two or more constants as PostgreSQL 18 does', () => {
    expect(normalize('SELECT * FROM test_squash WHERE id IN (1, 2, 3)')).toBe('SELECT * FROM test_squash WHERE id IN ($1 /*, ... */)');
    expect(normalize('SELECT ARRAY[1, 2, 3]')).toBe('SELECT ARRAY[$1 /*, ... */]');
    expect(normalize('SELECT * FROM t WHERE id = ANY (ARRAY[1, 2, 3]) AND data = 2')).toBe('SELECT * FROM t WHERE id = ANY (ARRAY[$1 /*, ... */]) AND data = $2');
    expect(normalize('SELECT * FROM t WHERE id IN (1, 2) AND data IN (3, 4, 5)')).toBe('SELECT * FROM t WHERE id IN ($1 /*, ... */) AND data IN ($2 /*, ... */)');
  });

  it('squashes constants with casts, signs and parentheses', () => {
    expect(normalize('SELECT * FROM t WHERE data IN (1::bigint, 2::bigint, -3)')).toBe('SELECT * FROM t WHERE data IN ($1 /*, ... */)');
    expect(normalize(`SELECT * FROM t WHERE data IN (('"1"')::jsonb, ('"2"')::jsonb)`)).toBe('SELECT * FROM t WHERE data IN ($1 /*, ... */)');
    expect(normalize("SELECT * FROM t WHERE d IN ('1'::double precision, '2'::character varying(3))")).toBe('SELECT * FROM t WHERE d IN ($1 /*, ... */)');
  });

  it('does not squash one element, parameters, expressions or subqueries', () => {
    expect(normalize('SELECT * FROM t WHERE id IN (1)')).toBe('SELECT * FROM t WHERE id IN ($1)');
    expect(normalize('SELECT ARRAY[1]')).toBe('SELECT ARRAY[$1]');
    expect(normalize('SELECT * FROM t WHERE id IN ($1, $2, $3)')).toBe('SELECT * FROM t WHERE id IN ($1, $2, $3)');
    expect(normalize('SELECT * FROM t WHERE id IN ($1, 2)')).toBe('SELECT * FROM t WHERE id IN ($1, $2)');
    expect(normalize('SELECT * FROM t WHERE id IN (1 + 1, 2 + 2)')).toBe('SELECT * FROM t WHERE id IN ($1 + $2, $3 + $4)');
    expect(normalize('SELECT * FROM t WHERE id IN (abs(1), abs(2))')).toBe('SELECT * FROM t WHERE id IN (abs($1), abs($2))');
    expect(normalize('SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))')).toBe('SELECT * FROM t WHERE (a, b) IN (($1, $2), ($3, $4))');
    expect(normalize('SELECT * FROM t WHERE id IN (SELECT 1)')).toBe('SELECT * FROM t WHERE id IN (SELECT $1)');
  });

  it('squashes only the innermost constant arrays of a nested array', () => {
    expect(normalize('SELECT ARRAY[ARRAY[1, 2], ARRAY[3, 4]]')).toBe('SELECT ARRAY[ARRAY[$1 /*, ... */], ARRAY[$2 /*, ... */]]');
  });

  it('keeps ORDER BY / GROUP BY column positions, which are not constants', () => {
    expect(normalize('SELECT 1 AS "int" ORDER BY 1')).toBe('SELECT $1 AS "int" ORDER BY 1');
    expect(normalize('SELECT a, count(*) FROM t GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10 OFFSET 5')).toBe(
      'SELECT a, count(*) FROM t GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $1 OFFSET $2',
    );
    expect(normalize('SELECT * FROM t ORDER BY a + 1')).toBe('SELECT * FROM t ORDER BY a + $1');
  });

  it('keeps type modifiers, which are part of the type, not constants', () => {
    expect(normalize("SELECT '1.5'::numeric(10, 2), CAST('x' AS character varying(20)), 3::public.money_t(4)")).toBe(
      'SELECT $1::numeric(10, 2), CAST($2 AS character varying(20)), $3::public.money_t(4)',
    );
    expect(normalize('WITH c AS MATERIALIZED (SELECT 1) SELECT 2 AS x FROM f(3) AS g(a)')).toBe('WITH c AS MATERIALIZED (SELECT $1) SELECT $2 AS x FROM f($3) AS g(a)');
  });

  it('removes comments, collapses whitespace runs to one space, trims, and drops trailing semicolons', () => {
    expect(normalize("/* lead */ SELECT 'hello'\n  -- but this one goes too\n  AS \"text\" ;\n")).toBe('SELECT $1 AS "text"');
    expect(normalize('SELECT/**/a/*x*/FROM\t\tt')).toBe('SELECT a FROM t');
  });

  it('keeps statements apart in multi-statement text', () => {
    expect(normalize('DEALLOCATE bla; SELECT 1')).toBe('DEALLOCATE bla; SELECT $1');
  });

  it('keeps quoted identifiers, the jsonb ? operator and ? placeholders', () => {
    expect(normalize(`select '{"a":1}'::jsonb ? 'b', "Weird  Name" FROM t WHERE x = ?`)).toBe(`select $1::jsonb ? $2, "Weird  Name" FROM t WHERE x = ?`);
  });

  it('turns an unterminated string into one constant that swallows the rest', () => {
    expect(normalize("SELECT * FROM t WHERE a = 'x AND b = 2 -- c")).toBe('SELECT * FROM t WHERE a = $1');
    expect(normalize(`SELECT "open, 'x'`)).toBe('SELECT $1');
  });

  it('gives empty text for empty or comment-only input', () => {
    expect(normalize('')).toBe('');
    expect(normalize('  -- nothing\n /* here */ ;')).toBe('');
  });

  it('throws a TypeError that names what was passed, for non-strings only', () => {
    expect(() => normalize(7n as unknown as string)).toThrow(TypeError);
    expect(() => normalize(['SELECT 1'] as unknown as string)).toThrow(/array/);
  });
});
