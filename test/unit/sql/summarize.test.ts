import { describe, expect, it } from 'vitest';
import { summarize } from '../../../src/sql/index.js';

const cases = (list: readonly (readonly [string, string])[]): void => {
  for (const [sql, summary] of list) expect(summarize(sql), sql).toBe(summary);
};

describe('summarize', () => {
  it('names the operation and its tables in order, as written', () => {
    cases([
      ['SELECT * FROM wuser_table WHERE username = ?', 'SELECT wuser_table'],
      ['SELECT * FROM songs, artists WHERE songs.artist_id == artists.id', 'SELECT songs artists'],
      ['SELEcT order_date\nFROM ORders', 'SELEcT ORders'],
      ['SELECT * FROM public.users', 'SELECT public.users'],
      ['SELECT * FROM "song list", "SELECT"', 'SELECT "song list" "SELECT"'],
      ['SELECT * FROM db.schema.table', 'SELECT db.schema.table'],
    ]);
  });

  it('lists every joined table and drops aliases', () => {
    cases([
      ['SELECT * FROM orders o INNER JOIN customers c ON o.customer_id = c.id LEFT JOIN shipping s ON o.id = s.order_id FULL OUTER JOIN payments p ON o.id = p.order_id', 'SELECT orders customers shipping payments'],
      ['SELECT * FROM t1 JOIN t2 USING (id) LEFT JOIN t3 USING (id)', 'SELECT t1 t2 t3'],
      ['SELECT * FROM t1 NATURAL LEFT JOIN t2 CROSS JOIN t3', 'SELECT t1 t2 t3'],
      ['SELECT * FROM t1, t2 JOIN t3 ON t2.id = t3.t2_id, t4', 'SELECT t1 t2 t3 t4'],
      ['SELECT * FROM users orders JOIN orders o ON orders.id = o.user_id', 'SELECT users orders'],
      ['SELECT * FROM (users), (t2)', 'SELECT users t2'],
      ['SELECT * FROM get_user_orders(?) WHERE status = ?', 'SELECT get_user_orders'],
    ]);
  });

  it('adds an operation for every subquery, where it appears', () => {
    cases([
      ['SELECT order_date FROM (SELECT * FROM orders o JOIN customers c ON o.customer_id = c.customer_id)', 'SELECT SELECT orders customers'],
      ['SELECT name, (SELECT COUNT(*) FROM orders WHERE customer_id = c.id) AS n FROM customers c', 'SELECT SELECT orders customers'],
      ['SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id)', 'SELECT users SELECT sessions'],
      ['SELECT * FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE region_id IN (SELECT id FROM regions))', 'SELECT orders SELECT customers SELECT regions'],
      ['SELECT * FROM users u LEFT JOIN LATERAL (SELECT * FROM orders WHERE user_id = u.id) o ON true', 'SELECT users SELECT orders'],
      ['SELECT CASE WHEN price > (SELECT AVG(price) FROM products) THEN 1 END FROM products', 'SELECT SELECT products products'],
      ['(SELECT id FROM users) UNION (SELECT id FROM customers)', 'SELECT users SELECT customers'],
      ['SELECT id FROM t1 UNION ALL SELECT id FROM t2 EXCEPT SELECT id FROM t3', 'SELECT t1 SELECT t2 SELECT t3'],
    ]);
  });

  it('names the written table of INSERT, UPDATE, DELETE and MERGE, not the tables they only read', () => {
    cases([
      ['INSERT INTO shipping_details\n(order_id,\naddress)\nSELECT order_id,\naddress\nFROM   orders\nWHERE  order_id = 1', 'INSERT shipping_details SELECT orders'],
      ['INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name', 'INSERT users'],
      ['UPDATE t1 SET col = t2.col FROM t2 WHERE t1.id = t2.t1_id', 'UPDATE t1'],
      ['UPDATE ONLY accounts SET balance = (SELECT sum(x) FROM ledger) RETURNING *', 'UPDATE accounts SELECT ledger'],
      ['DELETE FROM t1 USING t2 WHERE t1.id = t2.t1_id', 'DELETE t1'],
      ['DELETE FROM orders WHERE NOT EXISTS (SELECT 1 FROM payments WHERE order_id = orders.id)', 'DELETE orders SELECT payments'],
      ['MERGE INTO target t USING source s ON t.id = s.id WHEN MATCHED THEN UPDATE SET name = s.name WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)', 'MERGE target'],
      ['SELECT u.name INTO summary_table FROM users u', 'SELECT users'],
    ]);
  });

  it('does not take lock clauses, upsert actions or columns named like commands for operations', () => {
    cases([
      ['SELECT * FROM jobs WHERE id = $1 FOR UPDATE SKIP LOCKED', 'SELECT jobs'],
      ['SELECT * FROM jobs FOR NO KEY UPDATE', 'SELECT jobs'],
      ['SELECT * FROM insert WHERE update = 5', 'SELECT insert'],
      ['SELECT delete, "update" FROM t', 'SELECT t'],
      ['SELECT * FROM t WHERE a IS DISTINCT FROM b', 'SELECT t'],
      ['SELECT EXTRACT(year FROM created_at), substring(s FROM 2) FROM t', 'SELECT t'],
    ]);
  });

  it('leaves CTE names out of the targets and shows their bodies', () => {
    cases([
      ['WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN users ON users.id = recent.user_id', 'SELECT orders SELECT users'],
      ['WITH RECURSIVE tree AS (SELECT id FROM nodes UNION ALL SELECT n.id FROM nodes n JOIN tree t ON n.parent_id = t.id) SELECT * FROM tree', 'SELECT nodes SELECT nodes SELECT'],
      ['WITH moved AS (DELETE FROM a WHERE x RETURNING *) INSERT INTO b SELECT * FROM moved', 'DELETE a INSERT b SELECT'],
      ['WITH t(f) AS MATERIALIZED (VALUES (1.0)) SELECT f FROM t', 'SELECT'],
    ]);
  });

  it('summarises other commands by their operation and object', () => {
    cases([
      ['CREATE  TABLE MyTable (\n    ID NOT NULL IDENTITY(1,1) PRIMARY KEY\n)', 'CREATE TABLE MyTable'],
      ['ALTER  TABLE MyTable ADD Name varchar(255)', 'ALTER TABLE MyTable'],
      ['DROP TABLE IF EXISTS a, b CASCADE', 'DROP TABLE a b'],
      ['CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx ON t (a)', 'CREATE INDEX idx'],
      ['CREATE OR REPLACE VIEW active_users AS SELECT * FROM users WHERE active', 'CREATE VIEW active_users SELECT users'],
      ['CREATE MATERIALIZED VIEW mv AS SELECT * FROM t', 'CREATE MATERIALIZED VIEW mv SELECT t'],
      ['CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 FROM hidden $$ LANGUAGE sql', 'CREATE FUNCTION f'],
      ['TRUNCATE TABLE users, sessions', 'TRUNCATE TABLE users sessions'],
      ['COPY users (id, name) FROM STDIN', 'COPY users'],
      ['COPY (SELECT * FROM t) TO STDOUT', 'COPY SELECT t'],
      ['EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1', 'EXPLAIN UPDATE t'],
      ['PREPARE q (int) AS SELECT * FROM t WHERE id = $1', 'PREPARE SELECT t'],
      ['CALL refresh_stats(1)', 'CALL refresh_stats'],
      ['REFRESH MATERIALIZED VIEW CONCURRENTLY mv', 'REFRESH MATERIALIZED VIEW mv'],
      ['VALUES (1), (2)', 'VALUES'],
      ['GRANT SELECT ON t TO u', 'GRANT'],
      ['START TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'START TRANSACTION'],
      ['BEGIN', 'BEGIN'],
      ['SET search_path TO app', 'SET'],
      ['VACUUM (ANALYZE) t', 'VACUUM'],
    ]);
  });

  it('joins several statements with "; "', () => {
    cases([
      ['SELECT * FROM t1; SELECT * FROM t2', 'SELECT t1; SELECT t2'],
      ['INSERT INTO t1 VALUES ($1); DELETE FROM t2;', 'INSERT t1; DELETE t2'],
      ['SELECT 1;; SELECT 2', 'SELECT; SELECT'],
    ]);
  });

  it('ignores comments and literal text entirely', () => {
    cases([
      ["-- name: GetUser :one\n/* FROM fake */ SELECT * FROM users WHERE name = 'FROM x' AND b = $$ SELECT y $$", 'SELECT users'],
      ['SELECT * FROM users WHERE name = $tag$unterminated FROM z', 'SELECT users'],
    ]);
  });

  it('returns an empty summary for empty or comment-only text', () => {
    cases([
      ['', ''],
      ['   ', ''],
      [';', ''],
      ['/* comment only */', ''],
      ['-- comment only', ''],
    ]);
  });

  it('stays within 255 characters and never cuts a name', () => {
    expect(summarize(`SELECT * FROM ${'a'.repeat(300)}`)).toBe('SELECT');
    const many = Array.from({ length: 100 }, (_, i) => `table_${i}`);
    const s = summarize(`SELECT * FROM ${many.join(', ')}`);
    expect(s.length).toBeLessThanOrEqual(255);
    expect(s.split(' ').slice(1)).toEqual(many.slice(0, s.split(' ').length - 1));
  });

  it('throws a TypeError that names what was passed, for non-strings only', () => {
    expect(() => summarize(Symbol('x') as unknown as string)).toThrow(TypeError);
    expect(() => summarize(false as unknown as string)).toThrow(/boolean/);
  });
});
