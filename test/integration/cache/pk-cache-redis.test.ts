/**
 * The Redis tier against a real Redis (REDIS_URL, default redis://127.0.0.1:6379) and a real
 * PostgreSQL: lists and version tokens are shared by processes — a write in a second process (a
 * real child process with its own lens, pool and cache) makes the next read here fresh, and the
 * other way round; every key carries a TTL; and with Redis stopped mid-test (our own redis-server
 * on a free port, never the shared one) every query still returns correct rows, no error reaches
 * the caller, and the namespace epoch bumped after the outage keeps lists from before it unread.
 * Skipped, with the reason printed, when no Redis answers.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type Lens, type PkCache, type PkQueryOptions } from 'querylens';
import { ownSessions, tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function probe(url: string): Promise<string | undefined> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG' ? undefined : 'unexpected PING reply';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    client.disconnect();
  }
}

// The cache follows transactions per connection and runs concurrent sessions; PGlite multiplexes
// every connection onto one session, so these tests need a real PostgreSQL.
const sharedSession = !(await ownSessions('primary-key cache'));

const unavailable = await probe(REDIS_URL);
if (unavailable !== undefined) {
  process.stderr.write(`[querylens tests] Redis tier tests skipped: no Redis answers at ${REDIS_URL} (${unavailable}); set REDIS_URL or start redis-server\n`);
}

const CHILD = fileURLToPath(new URL('./child/second-process.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('./child/register.mjs', import.meta.url));

interface SecondProcess {
  sql(text: string, values?: unknown[]): Promise<unknown>;
  tx(statements: string[]): Promise<unknown>;
  cache(query: PkQueryOptions): Promise<Record<string, unknown>[]>;
  stats(): Promise<{ hits: number; misses: number }>;
  close(): Promise<void>;
}

function startSecondProcess(databaseUrl: string, flavour: string, namespace: string): Promise<SecondProcess> {
  const child = fork(CHILD, [databaseUrl, REDIS_URL, flavour, namespace], { execArgv: ['--import', REGISTER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      reject(new Error(`second process exited early (${code})`));
      for (const w of waiting.values()) w.reject(new Error(`second process exited (${code})`));
    });
    child.on('message', (raw) => {
      const m = raw as { ready?: boolean; id?: number; ok?: boolean; result?: unknown; error?: string };
      if (m.ready === true) {
        const call = (msg: object): Promise<unknown> =>
          new Promise((res, rej) => {
            const id = ++next;
            waiting.set(id, { resolve: res, reject: rej });
            child.send({ id, ...msg });
          });
        resolve({
          sql: (text, values) => call({ op: 'sql', text, values }),
          tx: (statements) => call({ op: 'tx', statements }),
          cache: (query) => call({ op: 'cache', query }) as Promise<Record<string, unknown>[]>,
          stats: () => call({ op: 'stats' }) as Promise<{ hits: number; misses: number }>,
          close: async () => {
            await call({ op: 'close' });
            if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
          },
        });
        return;
      }
      const w = waiting.get(m.id ?? -1);
      if (w === undefined) return;
      waiting.delete(m.id!);
      if (m.ok === true) w.resolve(m.result);
      else w.reject(new Error(m.error));
    });
  });
}

async function keysOf(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [nextCursor, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = nextCursor;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

describe.skipIf(sharedSession)('primary-key cache with a Redis that never answers', () => {
  it('returns correct rows from the database, never a Redis error, and closes cleanly', async () => {
    const db = await testDatabase();
    const lens = createLens({ mode: 'production' });
    const pool = lens.instrument(db.pool({ max: 2 }));
    const t = tableName('pk_noredis');
    // nothing listens on port 1: every connection attempt is refused
    const client = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, retryStrategy: () => 100, lazyConnect: false });
    client.on('error', () => {});
    const cache = lens.cache({ store: { redis: client, timeoutMs: 50 }, schemaPollMs: 0 });
    try {
      await pool.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v int)`);
      await pool.query(`INSERT INTO ${t} VALUES (1, 1), (2, 1), (3, 2)`);
      const q = { table: t, text: `SELECT id FROM ${t} WHERE v = 1 ORDER BY id DESC` };
      for (let i = 0; i < 4; i++) expect(await cache.query(pool, q)).toEqual([{ id: 2, v: 1 }, { id: 1, v: 1 }]);
      await pool.query(`UPDATE ${t} SET v = 1 WHERE id = 3`);
      expect((await cache.query(pool, q)).map((r) => r['id'])).toEqual([3, 2, 1]);
      await cache.invalidateTable(t);
      expect(cache.stats()).toMatchObject({ hits: 0, fillsStored: 0 });
      expect(cache.stats().bypasses['store-unavailable']).toBe(5);
    } finally {
      await cache.close();
      client.disconnect();
      await pool.query(`DROP TABLE IF EXISTS ${t}`);
      await pool.end();
      await lens.close();
    }
  });
});

describe.skipIf(unavailable !== undefined || sharedSession)('primary-key cache on Redis', () => {
  let db: TestDatabase;
  let lens: Lens;
  let pool: pg.Pool;
  let raw: pg.Pool;
  let admin: Redis;
  const t = tableName('pk_redis');

  beforeAll(async () => {
    db = await testDatabase();
    lens = createLens({ mode: 'production' });
    pool = lens.instrument(db.pool({ max: 4 }));
    raw = db.pool({ max: 2 });
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    await raw.query(`CREATE TABLE ${t} (id int PRIMARY KEY, grp int NOT NULL, title text)`);
    await raw.query(`INSERT INTO ${t} SELECT g, g % 4, 'title ' || g FROM generate_series(1, 40) g`);
  });

  afterAll(async () => {
    await lens.close();
    await raw.query(`DROP TABLE IF EXISTS ${t}`);
    await pool.end();
    await raw.end();
    admin.disconnect();
    await db.close();
  });

  const query = (grp: number): PkQueryOptions => ({ table: t, text: `SELECT id FROM ${t} WHERE grp = $1 ORDER BY title`, values: [grp] });
  const direct = async (grp: number): Promise<Record<string, unknown>[]> => (await raw.query(`SELECT * FROM ${t} WHERE grp = $1 ORDER BY title`, [grp])).rows;

  for (const flavour of ['ioredis', 'node-redis'] as const) {
    describe(flavour, () => {
      const namespace = tableName(`ns_${flavour}`);
      let cache: PkCache;
      let second: SecondProcess;
      let close: () => Promise<unknown>;

      beforeAll(async () => {
        if (flavour === 'ioredis') {
          const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
          close = () => client.quit();
          cache = lens.cache({ store: { redis: client }, namespace, schemaPollMs: 0 });
        } else {
          const client = createClient({ url: REDIS_URL });
          client.on('error', () => {});
          await client.connect();
          close = () => client.close();
          cache = lens.cache({ store: { redis: client }, namespace, schemaPollMs: 0 });
        }
        second = await startSecondProcess(db.url, flavour, namespace);
      });

      afterAll(async () => {
        await second?.close();
        await cache?.close();
        await close?.();
      });

      it('shares lists between processes, and a write in either makes the next read fresh in both', async () => {
        expect(await cache.query(pool, query(1))).toEqual(await direct(1)); // miss here: fills Redis
        expect(await second.cache(query(1))).toEqual(await direct(1)); // the second process reuses the list
        expect((await second.stats()).hits).toBe(1);

        await second.sql(`INSERT INTO ${t} VALUES (1000, 1, 'a first')`);
        let before = cache.stats();
        let rows = await cache.query(pool, query(1));
        expect(rows).toEqual(await direct(1));
        expect(rows[0]?.['id']).toBe(1000);
        expect(cache.stats().misses - before.misses).toBe(1);

        await second.sql(`UPDATE ${t} SET grp = 2 WHERE id = 1000`);
        expect(await cache.query(pool, query(1))).toEqual(await direct(1));
        await second.sql(`UPDATE ${t} SET grp = 1 WHERE id = 1000`);
        expect(await cache.query(pool, query(1))).toEqual(await direct(1));
        await second.sql(`DELETE FROM ${t} WHERE id = 1000`);
        rows = await cache.query(pool, query(1));
        expect(rows).toEqual(await direct(1));
        expect(rows.some((r) => r['id'] === 1000)).toBe(false);

        // a write here reaches the second process
        await second.cache(query(1));
        await pool.query(`INSERT INTO ${t} VALUES (1001, 1, 'a here')`);
        expect(await second.cache(query(1))).toEqual(await direct(1));

        // a rollback there invalidates nothing here; a commit does
        await cache.query(pool, query(1));
        await second.tx(['BEGIN', `INSERT INTO ${t} VALUES (1002, 1, 'a rolled back')`, 'ROLLBACK']);
        before = cache.stats();
        expect(await cache.query(pool, query(1))).toEqual(await direct(1));
        expect(cache.stats().hits - before.hits).toBe(1);
        await second.tx(['BEGIN', `INSERT INTO ${t} VALUES (1002, 1, 'a committed')`, 'SAVEPOINT s', `DELETE FROM ${t} WHERE id = 1001`, 'ROLLBACK TO s', 'COMMIT']);
        rows = await cache.query(pool, query(1));
        expect(rows).toEqual(await direct(1));
        expect(rows.map((r) => r['id'])).toEqual(expect.arrayContaining([1001, 1002]));
        await pool.query(`DELETE FROM ${t} WHERE id IN (1001, 1002)`);
      });

      it('sees a schema change made in the other process', async () => {
        await cache.query(pool, query(3));
        await second.sql(`ALTER TABLE ${t} ADD COLUMN ${flavour === 'ioredis' ? 'extra_a' : 'extra_b'} int DEFAULT 1`);
        const expected = await direct(3);
        // the notice travels over pub/sub; the catalog hash changes either way once it is re-read
        const deadline = Date.now() + 3000;
        let rows = await cache.query(pool, query(3));
        while (JSON.stringify(rows) !== JSON.stringify(expected) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          rows = await cache.query(pool, query(3));
        }
        expect(rows).toEqual(expected);
      });

      it('gives every key it writes a TTL', async () => {
        await cache.query(pool, query(2));
        await pool.query(`UPDATE ${t} SET title = title WHERE id = 2`);
        await cache.query(pool, query(2));
        const keys = await keysOf(admin, `querylens:${namespace}:*`);
        expect(keys.length).toBeGreaterThan(2);
        for (const key of keys) expect(await admin.pttl(key), key).toBeGreaterThan(0);
      });
    });
  }

  describe('when Redis stops mid-test', () => {
    let server: ChildProcess | undefined;
    let dir: string;
    let port: number;

    const freePort = async (): Promise<number> => {
      for (let p = 6390; p < 6490; p++) {
        const free = await new Promise<boolean>((resolve) => {
          const s = createServer();
          s.once('error', () => resolve(false));
          s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
        });
        if (free) return p;
      }
      throw new Error('no free port in 6390–6489');
    };

    const startServer = async (): Promise<void> => {
      server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      server.on('error', () => {});
      const deadline = Date.now() + 5000;
      while ((await probe(`redis://127.0.0.1:${port}`)) !== undefined) {
        if (Date.now() > deadline) throw new Error('own redis-server did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const stopServer = async (save: boolean): Promise<void> => {
      const s = server;
      if (s === undefined || s.exitCode !== null) return;
      const exited = new Promise((r) => s.once('exit', r));
      if (save) spawnSync('redis-cli', ['-p', String(port), 'SHUTDOWN', 'SAVE'], { stdio: 'ignore', timeout: 5000 });
      if (s.exitCode === null) s.kill('SIGKILL');
      await exited;
      server = undefined;
    };

    const haveServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
    if (!haveServer) process.stderr.write('[querylens tests] Redis outage test skipped: it stops a redis-server of its own, and no redis-server binary is on PATH\n');

    beforeAll(async () => {
      if (!haveServer) return;
      dir = mkdtempSync(join(tmpdir(), 'querylens-redis-'));
      port = await freePort();
      await startServer();
    });

    afterAll(async () => {
      await stopServer(false);
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it.skipIf(!haveServer)('keeps returning correct rows, never an error, and reads nothing from before the outage', async () => {
      const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0, retryStrategy: () => 50, enableOfflineQueue: false });
      client.on('error', () => {});
      const cache = lens.cache({ store: { redis: client, timeoutMs: 100, failureThreshold: 2, cooldownMs: 150 }, namespace: 'outage', schemaPollMs: 0 });
      try {
        await new Promise((r) => (client.status === 'ready' ? r(undefined) : client.once('ready', r)));
        expect(await cache.query(pool, query(0))).toEqual(await direct(0));
        expect(await cache.query(pool, query(0))).toEqual(await direct(0));
        expect(cache.stats().hits).toBe(1);

        // Redis goes away, keeping what it had on disk (the list and its version tokens)
        await stopServer(true);
        await pool.query(`INSERT INTO ${t} VALUES (2000, 0, 'a during the outage')`); // its bump cannot reach Redis
        for (let i = 0; i < 6; i++) {
          expect(await cache.query(pool, query(0))).toEqual(await direct(0));
          expect(await cache.ids(pool, query(0))).toEqual((await direct(0)).map((r) => r['id']));
        }
        expect(cache.stats().bypasses['store-unavailable']).toBeGreaterThan(0);
        expect(cache.stats().store.circuit).not.toBe('closed');

        // Redis comes back with the old list and tokens: the epoch bump must hide them
        await startServer();
        await new Promise((r) => (client.status === 'ready' ? r(undefined) : client.once('ready', r)));
        await new Promise((r) => setTimeout(r, 200)); // the breaker's cooldown
        let rows: Record<string, unknown>[] = [];
        for (let i = 0; i < 5; i++) {
          rows = await cache.query(pool, query(0));
          expect(rows).toEqual(await direct(0));
        }
        expect(rows[0]?.['id']).toBe(2000);
        expect(cache.stats().store).toMatchObject({ circuit: 'closed' });
        expect(cache.stats().store.epochBumps).toBeGreaterThan(0);
        const before = cache.stats().hits;
        expect(await cache.query(pool, query(0))).toEqual(await direct(0));
        expect(cache.stats().hits - before).toBe(1); // and the cache works again
      } finally {
        await cache.close();
        client.disconnect();
        await pool.query(`DELETE FROM ${t} WHERE id = 2000`);
      }
    });
  });
});
