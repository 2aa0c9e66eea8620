import { describe, expect, it } from 'vitest';
import { createAnalyzer, fingerprint } from '../../../src/sql/index.js';

const same = (a: string, b: string): void => expect(fingerprint(a), `${a}  vs  ${b}`).toBe(fingerprint(b));
const differ = (a: string, b: string): void => expect(fingerprint(a), `${a}  vs  ${b}`).not.toBe(fingerprint(b));

describe('fingerprint', () => {
  it('returns 16 lowercase hex digits', () => {
    expect(fingerprint('SELECT * FROM posts WHERE id = $1')).toMatch(/^[0-9a-f]{16}$/);
  });

  it('treats literals and parameters as one class, with casts on them folded', () => {
    same('SELECT * FROM posts WHERE id = 1', 'SELECT * FROM posts WHERE id = $1');
    same("SELECT * FROM posts WHERE title = 'x'", 'SELECT * FROM posts WHERE title = $1::text');
    same('SELECT * FROM posts WHERE id = -5', 'SELECT * FROM posts WHERE id = CAST($1 AS int)');
    same("SELECT * FROM events WHERE at > DATE '2024-01-01'", 'SELECT * FROM events WHERE at > $1');
    same("SELECT * FROM t WHERE d < now() - INTERVAL '1 day'", 'SELECT * FROM t WHERE d < now() - $1::interval');
  });

  it('collapses IN lists, = ANY(…) and multi-row VALUES whatever their length', () => {
    same('SELECT * FROM c WHERE post_id IN (1, 2, 3)', 'SELECT * FROM c WHERE post_id IN ($1)');
    same('SELECT * FROM c WHERE post_id IN (1, 2, 3)', 'SELECT * FROM c WHERE post_id = ANY($1)');
    same('SELECT * FROM c WHERE post_id = ANY(ARRAY[1, 2, 3])', 'SELECT * FROM c WHERE post_id = ANY(ARRAY[$1])');
    same('INSERT INTO t (a, b) VALUES (1, 2), (3, 4), (5, 6)', 'INSERT INTO t (a, b) VALUES ($1, $2)');
  });

  it('records collapsed list lengths as metadata, not in the key', () => {
    const analyze = createAnalyzer({ memoMax: 0 });
    const a = analyze('SELECT * FROM c WHERE post_id IN (1, 2, 3)');
    const b = analyze('INSERT INTO t (a) VALUES (1), (2)');
    expect(a.listLengths).toEqual([3]);
    expect(b.listLengths).toEqual([2]);
    expect(a.fingerprint).toBe(analyze('SELECT * FROM c WHERE post_id IN (7)').fingerprint);
  });

  it('ignores comments, whitespace, keyword case and aliases', () => {
    same('select p.id from posts p -- list\n where p.id = 1', 'SELECT /* x */ p.id FROM posts AS p WHERE p.id = $1');
    same('SELECT count(*) AS n FROM posts', 'SELECT count(*) FROM posts');
    same('SELECT a b FROM t', 'SELECT a FROM t');
    same('SELECT * FROM "posts"', 'select * from POSTS');
  });

  it('is insensitive to the order of select lists, FROM lists, AND/OR terms, function arguments and INSERT columns', () => {
    same('SELECT a, b FROM t', 'SELECT b, a FROM t');
    same('SELECT * FROM a, b', 'SELECT * FROM b, a');
    same('SELECT * FROM t WHERE a = 1 AND b = 2', 'SELECT * FROM t WHERE b = 2 AND a = 1');
    same('SELECT * FROM t WHERE a = 1 OR b = 2', 'SELECT * FROM t WHERE (b = 2) OR (a = 1)');
    same('SELECT coalesce(a, b) FROM t', 'SELECT coalesce(b, a) FROM t');
    same('INSERT INTO t (a, b) VALUES ($1, $2)', 'INSERT INTO t (b, a) VALUES ($1, $2)');
  });

  it('drops runs of two or more digits in relation names (partitions)', () => {
    same('SELECT * FROM events_2024_01', 'SELECT * FROM events_2024_02');
    differ('SELECT * FROM t1', 'SELECT * FROM t2');
  });

  it('keeps schema names, and ignores them in PostgreSQL 18 mode', () => {
    differ('SELECT * FROM a.posts', 'SELECT * FROM b.posts');
    const pg18 = createAnalyzer({ ignoreSchema: true, memoMax: 0 });
    expect(pg18('SELECT * FROM a.posts').fingerprint).toBe(pg18('SELECT * FROM b.posts').fingerprint);
  });

  it('keeps apart what libpg_query keeps apart (no false grouping)', () => {
    differ('SELECT * FROM posts WHERE id = $1', 'SELECT * FROM comments WHERE id = $1');
    differ('SELECT * FROM posts WHERE id = $1', 'SELECT * FROM posts WHERE id > $1');
    differ('SELECT a FROM t', 'SELECT a, b FROM t');
    differ('SELECT * FROM t WHERE a = 1 AND b = 2', 'SELECT * FROM t WHERE a = 1 OR b = 2');
    differ('SELECT * FROM t ORDER BY a', 'SELECT * FROM t ORDER BY a DESC');
    differ('SELECT * FROM t WHERE a IN (SELECT b FROM u)', 'SELECT * FROM t WHERE a = $1');
    differ('SELECT * FROM t LEFT JOIN u ON t.id = u.t_id', 'SELECT * FROM t JOIN u ON t.id = u.t_id');
    differ('SELECT +1', 'SELECT 1');
    differ("SELECT * FROM t WHERE a = 'x' -- '\n AND b = 1", "SELECT * FROM t WHERE a = 'x'");
  });

  it('gives empty and comment-only text one fixed fingerprint', () => {
    expect(fingerprint('')).toBe(fingerprint('   -- nothing\n /* at all */ '));
    expect(fingerprint('')).toMatch(/^[0-9a-f]{16}$/);
    expect(createAnalyzer()('').summary).toBe('');
  });

  it('rejects non-string input with a TypeError that says what was passed', () => {
    expect(() => fingerprint(42 as unknown as string)).toThrow(/expected the SQL text as a string, got number 42/);
    expect(() => fingerprint(null as unknown as string)).toThrow(/got null/);
    expect(() => fingerprint({ text: 'x' } as unknown as string)).toThrow(/got an object/);
  });

  it('never throws on unterminated strings, identifiers, comments or dollar quotes', () => {
    for (const s of ["SELECT 'abc", 'SELECT "abc', 'SELECT /* x', 'SELECT $$abc', 'SELECT $a$ x $b$', "E'\\", '$', '((((', ')))', 'END END']) {
      expect(fingerprint(s)).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('never lets text after an unterminated string affect the fingerprint', () => {
    same("SELECT * FROM t WHERE a = 'abc FROM x WHERE", "SELECT * FROM t WHERE a = 'zzz");
  });

  it('classifies statements and lists the tables they touch', () => {
    const analyze = createAnalyzer({ memoMax: 0 });
    expect(analyze('BEGIN').statementClass).toBe('transaction');
    expect(analyze('SET search_path TO x').statementClass).toBe('session');
    expect(analyze('select version()').statementClass).toBe('session');
    const upd = analyze('UPDATE posts SET title = $1 FROM users u WHERE u.id = posts.user_id');
    expect(upd.statementClass).toBe('write');
    expect(upd.tables).toEqual(['posts', 'users']);
    expect(upd.writtenTables).toEqual(['posts']);
    const cte = analyze('WITH recent AS (SELECT * FROM posts) SELECT * FROM recent JOIN public.users ON true');
    expect(cte.statementClass).toBe('read');
    expect(cte.tables).toEqual(['posts', 'public.users']);
    expect(analyze('SELECT 1; SELECT 2').multiStatement).toBe(true);
    expect(analyze('SELECT * FROM t WHERE a = $3').maxParam).toBe(3);
    expect(analyze('SELECT * FROM t WHERE a = $1').hasLiterals).toBe(false);
    expect(analyze("SELECT * FROM t WHERE a = 'x'").hasLiterals).toBe(true);
  });

  it('lists the targets of TRUNCATE, COPY and REFRESH, without changing their fingerprints', () => {
    const analyze = createAnalyzer({ memoMax: 0 });
    const truncate = analyze('TRUNCATE TABLE ONLY public.posts, "Odd"');
    expect([truncate.tables, truncate.writtenTables]).toEqual([['public.posts', 'Odd'], ['public.posts', 'Odd']]);
    const copyIn = analyze('COPY posts (id, title) FROM STDIN');
    expect([copyIn.tables, copyIn.writtenTables]).toEqual([['posts'], ['posts']]);
    const copyOut = analyze('COPY posts TO STDOUT');
    expect([copyOut.statementClass, copyOut.tables, copyOut.writtenTables]).toEqual(['read', ['posts'], []]);
    const refresh = analyze('REFRESH MATERIALIZED VIEW CONCURRENTLY reports.daily');
    expect([refresh.statementClass, refresh.tables, refresh.writtenTables]).toEqual(['ddl', ['reports.daily'], []]);
    // Recorded, not hashed: which relation is truncated still changes the fingerprint as before.
    expect(analyze('TRUNCATE a').fingerprint).not.toBe(analyze('TRUNCATE b').fingerprint);
  });
});
