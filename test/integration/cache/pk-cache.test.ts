/**
 * The primary-key cache against a real PostgreSQL (in-process store): what it returns, what it
 * keys on, what invalidates it (writes through instrumented clients after COMMIT, schema changes
 * seen through the lens, by polling, or by a failing row read), what bypasses it, and the bad
 * input it refuses at the first call.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachePrimaryKeyError, createLens, type Lens, type PkCache, type PkCacheQueryable, type PkCacheStats } from 'querylens';
import { ownSessions, tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';

type Row = Record<string, unknown>;

function delta(cache: PkCache, before: PkCacheStats): { hits: number; misses: number; fillsStored: number; fillsRejected: number; refetchMissing: number } {
  const now = cache.stats();
  return {
    hits: now.hits - before.hits,
    misses: now.misses - before.misses,
    fillsStored: now.fillsStored - before.fillsStored,
    fillsRejected: now.fillsRejected - before.fillsRejected,
    refetchMissing: now.refetchMissing - before.refetchMissing,
  };
}

/** A pool seen through a wrapper that counts (and can hold) the cache's miss statements. */
function counting(pool: pg.Pool): PkCacheQueryable & { misses: number; hold?: Promise<void> | undefined } {
  const wrapper = {
    misses: 0,
    hold: undefined as Promise<void> | undefined,
    async query(config: { text: string; values?: unknown[] }) {
      const isMiss = config.text.startsWith('WITH __ql_q AS MATERIALIZED');
      if (isMiss) wrapper.misses++;
      const result = await pool.query(config);
      if (isMiss && wrapper.hold !== undefined) await wrapper.hold;
      return result;
    },
  };
  return wrapper;
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

// The cache follows transactions per connection and runs concurrent sessions; PGlite multiplexes
// every connection onto one session, so these tests need a real PostgreSQL.
const sharedSession = !(await ownSessions('primary-key cache'));

describe.skipIf(sharedSession)('primary-key cache', () => {
  let db: TestDatabase;
  let lens: Lens;
  let pool: pg.Pool; // instrumented: writes through it invalidate
  let raw: pg.Pool; // not instrumented: the cache cannot see its writes
  let cache: PkCache;
  const posts = tableName('pk_posts');
  const cleanup: string[] = [];

  beforeAll(async () => {
    db = await testDatabase();
    lens = createLens({ mode: 'production' });
    pool = lens.instrument(db.pool({ max: 6 }));
    raw = db.pool({ max: 4 });
    cache = lens.cache({ schemaPollMs: 0 });
    await raw.query(`CREATE TABLE ${posts} (id int PRIMARY KEY, score int NOT NULL, title text)`);
    await raw.query(`INSERT INTO ${posts} SELECT g, g % 7, 'post ' || g FROM generate_series(1, 60) g`);
    cleanup.push(posts);
  });

  afterAll(async () => {
    await lens.close();
    for (const t of cleanup.reverse()) await raw.query(`DROP TABLE IF EXISTS ${t} CASCADE`).catch(() => {});
    await pool.end();
    await raw.end();
    await db.close();
  });

  const byScore = (score: number): { table: string; text: string; values: unknown[] } => ({
    table: posts,
    text: `SELECT id FROM ${posts} WHERE score = $1 ORDER BY title DESC`,
    values: [score],
  });

  const direct = async (score: number): Promise<Row[]> => (await raw.query(`SELECT * FROM ${posts} WHERE score = $1 ORDER BY title DESC`, [score])).rows;

  it('returns the rows of the keys the text selects, in its order, and serves the keys from the cache next time', async () => {
    const before = cache.stats();
    const first = await cache.query(pool, byScore(3));
    const second = await cache.query(pool, byScore(3));
    expect(first).toEqual(await direct(3));
    expect(second).toEqual(first);
    expect(delta(cache, before)).toMatchObject({ misses: 1, hits: 1, fillsStored: 1 });
    expect(await cache.ids(pool, byScore(3))).toEqual(first.map((r) => r['id']));
  });

  it('keeps duplicates and order for any list size with one statement shape', async () => {
    const q = { table: posts, text: 'SELECT id FROM (VALUES (5), (2), (5), (9)) AS v(id)' };
    await cache.query(pool, q);
    const rows = await cache.query(pool, q);
    expect(rows.map((r) => r['id'])).toEqual([5, 2, 5, 9]);
    const empty = { table: posts, text: `SELECT id FROM ${posts} WHERE score = 99` };
    expect(await cache.query(pool, empty)).toEqual([]);
    expect(await cache.query(pool, empty)).toEqual([]);
  });

  it('reads rows fresh on a hit: a column change the lens did not see still shows', async () => {
    await cache.query(pool, byScore(4));
    await raw.query(`UPDATE ${posts} SET title = title || ' (edited)' WHERE id = 4`);
    const before = cache.stats();
    const rows = await cache.query(pool, byScore(4));
    expect(delta(cache, before).hits).toBe(1);
    expect(rows.find((r) => r['id'] === 4)?.['title']).toBe('post 4 (edited)');
  });

  it('keys on the parameter values and their types', async () => {
    const before = cache.stats();
    await cache.query(pool, byScore(5));
    await cache.query(pool, { ...byScore(5), values: ['5'] }); // same rows, different typed value: its own key
    await cache.query(pool, byScore(6));
    await cache.query(pool, byScore(5));
    expect(delta(cache, before)).toMatchObject({ misses: 3, hits: 1 });
  });

  it('keys on the exact statement text, not its fingerprint', async () => {
    const a = await cache.query(pool, { table: posts, text: `SELECT id, score, title FROM ${posts} WHERE score = 1 ORDER BY 2, 1` });
    const b = await cache.query(pool, { table: posts, text: `SELECT id, score, title FROM ${posts} WHERE score = 1 ORDER BY 3 DESC` });
    expect(a.map((r) => r['id'])).not.toEqual(b.map((r) => r['id']));
    expect(b).toEqual((await raw.query(`SELECT * FROM ${posts} WHERE score = 1 ORDER BY 3 DESC`)).rows);
  });

  it('keys on the scope value: one tenant never gets another tenant\'s list', async () => {
    let tenant = 'a';
    const scoped = lens.cache({ schemaPollMs: 0, scope: () => tenant });
    const before = scoped.stats();
    await scoped.query(pool, byScore(2));
    tenant = 'b';
    await scoped.query(pool, byScore(2));
    await scoped.query(pool, { ...byScore(2), scope: 'a' });
    expect(delta(scoped, before)).toMatchObject({ misses: 2, hits: 1 });
    await scoped.close();
  });

  it('keys on search_path: the same text on a connection that resolves it elsewhere is a different list', async () => {
    const schema = tableName('pk_schema');
    await raw.query(`CREATE SCHEMA ${schema}`);
    cleanup.push(`${schema}.${posts}`);
    try {
      await raw.query(`CREATE TABLE ${schema}.${posts} (id int PRIMARY KEY, score int NOT NULL, title text)`);
      await raw.query(`INSERT INTO ${schema}.${posts} VALUES (1000, 3, 'other schema')`);
      const client = lens.instrument(db.client());
      await client.connect();
      try {
        await client.query(`SET search_path TO ${schema}, public`);
        const other = await cache.query(client, byScore(3));
        expect(other).toEqual([{ id: 1000, score: 3, title: 'other schema' }]);
        expect(await cache.query(pool, byScore(3))).toEqual(await direct(3));
        await client.query('RESET search_path');
        expect(await cache.query(client, byScore(3))).toEqual(await direct(3));
      } finally {
        await client.end();
      }
    } finally {
      await raw.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });

  describe('writes through an instrumented client', () => {
    it('invalidates after an autocommit insert, update and delete', async () => {
      await cache.query(pool, byScore(0));
      await pool.query(`INSERT INTO ${posts} VALUES (1001, 0, 'zzz new')`);
      expect(await cache.query(pool, byScore(0))).toEqual(await direct(0));
      await pool.query(`UPDATE ${posts} SET score = 0 WHERE id = 1`);
      expect(await cache.query(pool, byScore(0))).toEqual(await direct(0));
      await pool.query(`DELETE FROM ${posts} WHERE id = 1001`);
      const before = cache.stats();
      const rows = await cache.query(pool, byScore(0));
      expect(rows).toEqual(await direct(0));
      expect(delta(cache, before)).toMatchObject({ misses: 1, hits: 0 });
      await pool.query(`UPDATE ${posts} SET score = 1 WHERE id = 1`);
    });

    it('invalidates only after COMMIT, and not at all after ROLLBACK', async () => {
      await cache.query(pool, byScore(1));
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${posts} VALUES (1002, 1, 'zzz pending')`);
        let before = cache.stats();
        // not committed: other connections still see the old rows, and the list stays valid
        expect(await cache.query(pool, byScore(1))).toEqual(await direct(1));
        expect(delta(cache, before).hits).toBe(1);
        await client.query('ROLLBACK');
        before = cache.stats();
        expect(await cache.query(pool, byScore(1))).toEqual(await direct(1));
        expect(delta(cache, before)).toMatchObject({ hits: 1, misses: 0 }); // no spurious invalidation

        await client.query('BEGIN');
        await client.query(`INSERT INTO ${posts} VALUES (1002, 1, 'zzz committed')`);
        await client.query('SAVEPOINT s');
        await client.query(`UPDATE ${posts} SET title = 'zzz undone' WHERE id = 2`);
        await client.query('ROLLBACK TO SAVEPOINT s');
        await client.query('COMMIT');
        before = cache.stats();
        const rows = await cache.query(pool, byScore(1));
        expect(rows).toEqual(await direct(1)); // the insert before the savepoint is not lost
        expect(rows.some((r) => r['id'] === 1002)).toBe(true);
        expect(delta(cache, before).misses).toBe(1);
      } finally {
        client.release();
      }
      await pool.query(`DELETE FROM ${posts} WHERE id = 1002`);
    });

    it('does not invalidate for a failed transaction whose COMMIT the server answers with ROLLBACK', async () => {
      await cache.query(pool, byScore(2));
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${posts} VALUES (1003, 2, 'never')`);
        await expect(client.query(`INSERT INTO ${posts} VALUES (1003, 2, 'duplicate')`)).rejects.toThrow();
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const before = cache.stats();
      expect(await cache.query(pool, byScore(2))).toEqual(await direct(2));
      expect(delta(cache, before).hits).toBe(1);
    });

    it('invalidates tables a foreign key cascades to', async () => {
      const parent = tableName('pk_parent');
      const child = tableName('pk_child');
      cleanup.push(child, parent);
      await raw.query(`CREATE TABLE ${parent} (id int PRIMARY KEY)`);
      await raw.query(`CREATE TABLE ${child} (id int PRIMARY KEY, parent_id int REFERENCES ${parent} ON DELETE SET NULL)`);
      await raw.query(`INSERT INTO ${parent} VALUES (1), (2); INSERT INTO ${child} VALUES (10, 1), (11, 1), (12, 2)`);
      const fresh = lens.cache({ schemaPollMs: 0 }); // loads the foreign keys with its first query
      const q = { table: child, text: `SELECT id FROM ${child} WHERE parent_id IS NOT NULL ORDER BY id` };
      expect((await fresh.query(pool, q)).map((r) => r['id'])).toEqual([10, 11, 12]);
      await pool.query(`DELETE FROM ${parent} WHERE id = 1`);
      expect((await fresh.query(pool, q)).map((r) => r['id'])).toEqual([12]);
      await fresh.close();
    });

    it('sees writes through another instrumented pool and through lens.ignore()', async () => {
      const other = lens.instrument(db.pool({ max: 1 }));
      try {
        await cache.query(pool, byScore(6));
        await other.query(`INSERT INTO ${posts} VALUES (1004, 6, 'zzz other pool')`);
        expect(await cache.query(pool, byScore(6))).toEqual(await direct(6));
        await lens.ignore(() => pool.query(`DELETE FROM ${posts} WHERE id = 1004`));
        expect(await cache.query(pool, byScore(6))).toEqual(await direct(6));
      } finally {
        await other.end();
      }
    });

    it('does not store a fill whose query ran before a write committed', async () => {
      const wrapped = counting(pool);
      let release!: () => void;
      wrapped.hold = new Promise<void>((r) => (release = r));
      const q = { table: posts, text: `SELECT id FROM ${posts} WHERE score = $1 AND id > 0 ORDER BY id`, values: [5] };
      const before = cache.stats();
      const reading = cache.query(wrapped, q); // runs its query, then waits before storing
      await until(() => wrapped.misses === 1);
      const old = await direct(5);
      await pool.query(`INSERT INTO ${posts} VALUES (1005, 5, 'zzz raced')`); // commits while the reader holds its result
      release();
      const rows = await reading;
      expect(rows.map((r) => r['id'])).toEqual(old.map((r) => r['id']).sort((a, b) => Number(a) - Number(b)));
      expect(delta(cache, before)).toMatchObject({ fillsStored: 0, fillsRejected: 1 });
      wrapped.hold = undefined;
      const next = await cache.query(wrapped, q);
      expect(next.some((r) => r['id'] === 1005)).toBe(true);
      await pool.query(`DELETE FROM ${posts} WHERE id = 1005`);
    });
  });

  it('bypasses the cache inside a transaction, where the connection sees its own writes', async () => {
    await cache.query(pool, byScore(3));
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${posts} VALUES (1006, 3, 'zzz mine')`);
      const before = cache.stats();
      const rows = await cache.query(client, byScore(3));
      expect(rows[0]).toEqual({ id: 1006, score: 3, title: 'zzz mine' });
      expect(cache.stats().bypasses.transaction - before.bypasses.transaction).toBe(1);
      expect(delta(cache, before)).toMatchObject({ hits: 0, misses: 0 });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it('drops a deleted row from a cached list and heals the entry', async () => {
    await cache.query(pool, byScore(4));
    const victim = (await direct(4))[1]!['id'];
    await raw.query(`DELETE FROM ${posts} WHERE id = $1`, [victim]); // a write the lens cannot see
    let before = cache.stats();
    const rows = await cache.query(pool, byScore(4));
    expect(rows).toEqual(await direct(4));
    expect(delta(cache, before)).toMatchObject({ hits: 1, refetchMissing: 1 });
    before = cache.stats();
    expect(await cache.query(pool, byScore(4))).toEqual(await direct(4));
    expect(delta(cache, before)).toMatchObject({ misses: 1, fillsStored: 1 });
    expect(await cache.query(pool, byScore(4))).toEqual(await direct(4));
    expect(delta(cache, before)).toMatchObject({ hits: 1, refetchMissing: 0 });
  });

  it('runs the query once for 100 concurrent misses', async () => {
    const wrapped = counting(pool);
    const q = { table: posts, text: `SELECT id FROM ${posts} WHERE score IN (1, 2) ORDER BY id DESC`, values: [] };
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.query(wrapped, q)));
    expect(wrapped.misses).toBe(1);
    const expected = (await raw.query(`SELECT * FROM ${posts} WHERE score IN (1, 2) ORDER BY id DESC`)).rows;
    for (const r of results) expect(r).toEqual(expected);
    expect(new Set(results).size).toBe(100); // every caller gets its own array
  });

  it('hands out arrays and rows the caller may mutate without touching later hits', async () => {
    const rows = await cache.query(pool, byScore(5));
    const expected = structuredClone(rows);
    rows.pop();
    rows[0]!['title'] = 'mutated';
    const ids = await cache.ids(pool, byScore(5));
    ids.reverse();
    ids.push(-1);
    expect(await cache.query(pool, byScore(5))).toEqual(expected);
    expect(await cache.ids(pool, byScore(5))).toEqual(expected.map((r) => r['id']));
  });

  describe('schema changes', () => {
    it('makes the next read a miss with correct rows after ADD, RENAME, ALTER TYPE and DROP of a column', async () => {
      const t = tableName('pk_ddl');
      cleanup.push(t);
      await raw.query(`CREATE TABLE ${t} (id int PRIMARY KEY, grp int, a int, b text)`);
      await raw.query(`INSERT INTO ${t} SELECT g, g % 3, g, 'b' || g FROM generate_series(1, 12) g`);
      const q = { table: t, text: `SELECT id FROM ${t} WHERE grp = 1 ORDER BY id DESC` };
      const expectRows = async (): Promise<void> => expect(await cache.query(pool, q)).toEqual((await raw.query(`SELECT * FROM ${t} WHERE grp = 1 ORDER BY id DESC`)).rows);
      await expectRows();
      for (const ddl of [`ADD COLUMN c int DEFAULT 7`, `RENAME COLUMN b TO bb`, `ALTER COLUMN a TYPE text`, `DROP COLUMN c`]) {
        await cache.query(pool, q); // cached
        await pool.query(`ALTER TABLE ${t} ${ddl}`);
        const before = cache.stats();
        await expectRows();
        expect(delta(cache, before), ddl).toMatchObject({ misses: 1, hits: 0 });
      }
    });

    it('does the same for a view when its base table changes', async () => {
      const base = tableName('pk_base');
      const view = tableName('pk_view');
      cleanup.push(view, base);
      await raw.query(`CREATE TABLE ${base} (id int PRIMARY KEY, grp int, a int, b text)`);
      await raw.query(`INSERT INTO ${base} SELECT g, g % 2, g, 'b' || g FROM generate_series(1, 10) g`);
      await raw.query(`CREATE VIEW ${view} AS SELECT id, grp, a FROM ${base}`);
      const q = { table: view, text: `SELECT id FROM ${view} WHERE grp = 0 ORDER BY a DESC` };
      const expectRows = async (): Promise<void> =>
        expect(await cache.query(pool, q)).toEqual((await raw.query(`SELECT * FROM ${view} WHERE grp = 0 ORDER BY a DESC`)).rows);
      await expectRows();
      for (const ddl of [`ADD COLUMN c int`, `RENAME COLUMN b TO bb`, `ALTER COLUMN bb TYPE varchar(20)`, `DROP COLUMN c`, `RENAME COLUMN a TO aa`]) {
        await cache.query(pool, q);
        await pool.query(`ALTER TABLE ${base} ${ddl}`);
        const before = cache.stats();
        await expectRows();
        expect(delta(cache, before), ddl).toMatchObject({ misses: 1, hits: 0 });
      }
      // a write to the base table invalidates lists read through the view
      await cache.query(pool, q);
      await pool.query(`UPDATE ${base} SET grp = 0 WHERE id = 1`);
      await expectRows();
    });

    it('notices DDL the lens did not see by polling the catalog', async () => {
      const t = tableName('pk_poll');
      cleanup.push(t);
      await raw.query(`CREATE TABLE ${t} (id int PRIMARY KEY, grp int)`);
      await raw.query(`INSERT INTO ${t} VALUES (1, 1), (2, 1)`);
      const polling = lens.cache({ schemaPollMs: 30 });
      const q = { table: t, text: `SELECT id FROM ${t} WHERE grp = 1 ORDER BY id` };
      await polling.query(pool, q);
      await polling.query(pool, q);
      const refreshes = polling.stats().schemaRefreshes;
      await raw.query(`ALTER TABLE ${t} ADD COLUMN extra text DEFAULT 'x'`);
      await until(() => polling.stats().schemaRefreshes > refreshes);
      const before = polling.stats();
      expect(await polling.query(pool, q)).toEqual([
        { id: 1, grp: 1, extra: 'x' },
        { id: 2, grp: 1, extra: 'x' },
      ]);
      expect(delta(polling, before).misses).toBe(1);
      await polling.close();
    });

    it('falls back to an uncached read when a row read fails on a schema it did not notice', async () => {
      const t = tableName('pk_refetch');
      cleanup.push(t);
      await raw.query(`CREATE TABLE ${t} (id int PRIMARY KEY, grp int)`);
      await raw.query(`INSERT INTO ${t} VALUES (1, 1), (2, 1), (3, 2)`);
      const q = { table: t, text: `SELECT id FROM ${t} WHERE grp = 1 ORDER BY id` };
      await cache.query(pool, q);
      await raw.query(`ALTER TABLE ${t} ALTER COLUMN id TYPE text`); // the cached row read now compares text = integer
      const before = cache.stats();
      expect(await cache.query(pool, q)).toEqual([
        { id: '1', grp: 1 },
        { id: '2', grp: 1 },
      ]);
      expect(cache.stats().bypasses['schema-error'] - before.bypasses['schema-error']).toBe(1);
      expect(await cache.query(pool, q)).toEqual([
        { id: '1', grp: 1 },
        { id: '2', grp: 1 },
      ]);
    });

    it('changes the key when a row-level-security policy changes', async () => {
      const t = tableName('pk_rls');
      cleanup.push(t);
      await raw.query(`CREATE TABLE ${t} (id int PRIMARY KEY, owner text)`);
      await raw.query(`INSERT INTO ${t} VALUES (1, 'a'), (2, 'b')`);
      const q = { table: t, text: `SELECT id FROM ${t} ORDER BY id` };
      await cache.query(pool, q);
      await cache.query(pool, q);
      await pool.query(`ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`);
      let before = cache.stats();
      await cache.query(pool, q);
      expect(delta(cache, before).misses).toBe(1);
      await pool.query(`CREATE POLICY own ON ${t} USING (owner = current_user)`);
      before = cache.stats();
      await cache.query(pool, q);
      expect(delta(cache, before).misses).toBe(1);
    });
  });

  describe('uncacheable queries run uncached, with the same result shape', () => {
    it('bypasses locking reads, volatile functions and temporary tables, counting the reason', async () => {
      const before = cache.stats().bypasses;
      const client = await pool.connect();
      try {
        expect(await cache.query(pool, { table: posts, text: `SELECT id FROM ${posts} WHERE score = 1 ORDER BY id LIMIT 2 FOR UPDATE` })).toHaveLength(2);
        expect(await cache.query(pool, { table: posts, text: `SELECT id FROM ${posts} WHERE now() > '2000-01-01' AND score = 1` })).not.toHaveLength(0);
        expect(await cache.query(pool, { table: posts, text: `SELECT id FROM ${posts} ORDER BY random() LIMIT 3` })).toHaveLength(3);
        expect(await cache.query(pool, { table: posts, text: `SELECT id FROM ${posts} WHERE gen_random_uuid() IS NOT NULL AND id < 3` })).toHaveLength(2);
        await client.query('CREATE TEMP TABLE pk_tmp (id int)');
        await client.query('INSERT INTO pk_tmp VALUES (3), (2)');
        expect((await cache.query(client, { table: posts, text: 'SELECT id FROM pk_tmp' })).map((r) => r['id'])).toEqual([3, 2]);
      } finally {
        client.release(true);
      }
      const after = cache.stats().bypasses;
      expect(after['locking-clause'] - before['locking-clause']).toBe(1);
      expect(after['volatile-function'] - before['volatile-function']).toBe(3);
      expect(after['temp-table'] - before['temp-table']).toBe(1);
    });

    it('bypasses a user function declared VOLATILE (the default)', async () => {
      const fn = tableName('pk_fn');
      await raw.query(`CREATE FUNCTION ${fn}(x int) RETURNS int LANGUAGE sql AS 'SELECT x'`);
      try {
        const before = cache.stats().bypasses['volatile-function'];
        await cache.query(pool, { table: posts, text: `SELECT id FROM ${posts} WHERE score = ${fn}(1)` });
        expect(cache.stats().bypasses['volatile-function'] - before).toBe(1);
      } finally {
        await raw.query(`DROP FUNCTION ${fn}(int)`);
      }
    });

    it('bypasses parameters of a class it cannot encode', async () => {
      class Score {
        toPostgres(): string {
          return '1';
        }
      }
      const before = cache.stats().bypasses['parameter-type'];
      const rows = await cache.query(pool, { table: posts, text: `SELECT id FROM ${posts} WHERE score = $1 ORDER BY title DESC`, values: [new Score()] });
      expect(rows).toEqual(await direct(1));
      expect(cache.stats().bypasses['parameter-type'] - before).toBe(1);
    });
  });

  it('handles composite primary keys with one array per key column', async () => {
    const t = tableName('pk_composite');
    cleanup.push(t);
    await raw.query(`CREATE TABLE ${t} (tenant text, id int, v int, PRIMARY KEY (tenant, id))`);
    await raw.query(`INSERT INTO ${t} VALUES ('a', 1, 10), ('b', 1, 20), ('a', 2, 30)`);
    const q = { table: t, primaryKey: ['tenant', 'id'], text: `SELECT tenant, id FROM ${t} ORDER BY v DESC` };
    await cache.query(pool, q);
    expect(await cache.query(pool, q)).toEqual([
      { tenant: 'a', id: 2, v: 30 },
      { tenant: 'b', id: 1, v: 20 },
      { tenant: 'a', id: 1, v: 10 },
    ]);
    expect(await cache.ids(pool, q)).toEqual([
      ['a', 2],
      ['b', 1],
      ['a', 1],
    ]);
  });

  describe('bad input: a clear error at the first call, naming the table and the column', () => {
    it('refuses a table without a primary key', async () => {
      const t = tableName('pk_nokey');
      cleanup.push(t);
      await raw.query(`CREATE TABLE ${t} (id int, v int)`);
      const err = await cache.query(pool, { table: t, text: `SELECT id FROM ${t}` }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CachePrimaryKeyError);
      expect(err).toMatchObject({ code: 'QUERYLENS_CACHE_PRIMARY_KEY', problem: 'no-primary-key', table: t, column: 'id' });
      expect((err as Error).message).toContain(`"${t}" has no primary key`);
    });

    it('refuses a text that does not return the key column', async () => {
      const err = await cache.query(pool, { table: posts, text: `SELECT title FROM ${posts} WHERE score = 1` }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'CachePrimaryKeyError', problem: 'not-in-result', table: posts, column: 'id' });
      expect((err as Error).message).toMatch(/does not return the primary-key column "id"/);
    });

    it('refuses a primary key that does not match the table\'s, composite or not', async () => {
      const t = tableName('pk_mismatch');
      cleanup.push(t);
      await raw.query(`CREATE TABLE ${t} (a int, b int, PRIMARY KEY (a, b))`);
      await expect(cache.query(pool, { table: t, text: `SELECT a, b FROM ${t}` })).rejects.toMatchObject({ problem: 'primary-key-mismatch', table: t, column: 'id' });
      await expect(cache.query(pool, { table: t, primaryKey: ['a'], text: `SELECT a, b FROM ${t}` })).rejects.toMatchObject({
        problem: 'primary-key-mismatch',
        column: 'b',
      });
      await expect(cache.query(pool, { table: posts, primaryKey: ['id', 'score'], text: `SELECT id FROM ${posts}` })).rejects.toThrow(
        /has primary key \(id\); primaryKey \(id, score\) does not match: column "score" is not part of it/,
      );
    });

    it('passes the database\'s own error through for a text that is broken in itself', async () => {
      const err = await cache.query(pool, { table: posts, text: `SELECT id FROM ${posts} WHERE no_such_column = 1` }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: '42703' });
      expect((err as Error).message).toMatch(/no_such_column/);
    });

    it('refuses an unknown table, a write, and bad options with errors that say what is wrong', async () => {
      await expect(cache.query(pool, { table: 'no_such_table_x', text: 'SELECT 1 AS id' })).rejects.toMatchObject({ problem: 'unknown-table', table: 'no_such_table_x' });
      await expect(cache.query(pool, { table: posts, text: `DELETE FROM ${posts} WHERE id = -1 RETURNING id` })).rejects.toThrow(TypeError);
      await expect(cache.query(pool, { table: posts, text: '' })).rejects.toThrow(/option "text"/);
      await expect(cache.query(pool, { table: posts, text: `SELECT id FROM ${posts}`, primaryKey: [] })).rejects.toThrow(/option "primaryKey"/);
      await expect(cache.query({} as PkCacheQueryable, byScore(1))).rejects.toThrow(/pg Pool or Client/);
      expect(() => lens.cache({ ttlMs: -1 })).toThrow(/"ttlMs"/);
      expect(() => lens.cache({ store: { redis: {} } })).toThrow(/ioredis or node-redis/);
      expect(() => lens.cache({ stoer: 'memory' } as never)).toThrow(/unknown cache option "stoer"/);
    });
  });

  it('invalidateTable forgets every list that depends on the table', async () => {
    await cache.query(pool, byScore(2));
    await raw.query(`INSERT INTO ${posts} VALUES (1007, 2, 'zzz unseen')`);
    await cache.invalidateTable(posts);
    expect(await cache.query(pool, byScore(2))).toEqual(await direct(2));
    await raw.query(`DELETE FROM ${posts} WHERE id = 1007`);
    await cache.invalidateTable(`public.${posts}`);
    expect(await cache.query(pool, byScore(2))).toEqual(await direct(2));
  });

  it('never reports its own catalog and row queries as queries of the application', async () => {
    const seen: string[] = [];
    const stop = lens.addSink({ name: 'spy', accepts: ['query-end'], handle: (e) => void (e.type === 'query-end' && seen.push(e.text)) });
    const fresh = lens.cache({ schemaPollMs: 0 });
    await fresh.query(pool, byScore(6));
    await fresh.query(pool, byScore(6));
    stop();
    await fresh.close();
    expect(seen).toEqual([]);
  });
});
