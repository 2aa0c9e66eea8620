/**
 * The "second process" of the Redis-tier tests: its own lens, instrumented pool and primary-key
 * cache on the shared Redis (ioredis or node-redis), driven by the test over the IPC channel.
 *
 *   node --import ./register.mjs second-process.ts <database url> <redis url> <ioredis|node-redis> <namespace>
 *
 * Messages: { id, op: 'sql', text, values } runs SQL through the instrumented pool (so the cache
 * sees the write); { id, op: 'tx', statements } runs them on one connection; { id, op: 'cache', query } reads through this process's cache; { id, op: 'stats' };
 * { id, op: 'close' } closes everything and exits.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { createClient } from 'redis';
import { createLens, type PkQueryOptions } from 'querylens';

interface Message {
  readonly id: number;
  readonly op: 'sql' | 'tx' | 'cache' | 'stats' | 'close';
  readonly text?: string;
  readonly statements?: string[];
  readonly values?: unknown[];
  readonly query?: PkQueryOptions;
}

const [databaseUrl, redisUrl, flavour, namespace] = process.argv.slice(2) as [string, string, string, string];

const lens = createLens({ mode: 'production' });
const pool = lens.instrument(new pg.Pool({ connectionString: databaseUrl, max: 3 }));
let closeRedis: () => Promise<unknown>;
let redis: unknown;
if (flavour === 'ioredis') {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  redis = client;
  closeRedis = () => client.quit();
} else {
  const client = createClient({ url: redisUrl });
  client.on('error', () => {});
  await client.connect();
  redis = client;
  closeRedis = () => client.close();
}
const cache = lens.cache({ store: { redis }, namespace, schemaPollMs: 0 });

const send = (m: object): void => {
  process.send?.(m);
};

process.on('message', (raw) => {
  const m = raw as Message;
  void (async () => {
    try {
      switch (m.op) {
        case 'sql':
          send({ id: m.id, ok: true, result: (await pool.query(m.text!, m.values)).rowCount });
          break;
        case 'tx': {
          // several statements on one connection (BEGIN … COMMIT/ROLLBACK)
          const client = await pool.connect();
          try {
            for (const text of m.statements!) await client.query(text);
          } finally {
            client.release();
          }
          send({ id: m.id, ok: true });
          break;
        }
        case 'cache':
          send({ id: m.id, ok: true, result: await cache.query(pool, m.query!) });
          break;
        case 'stats':
          send({ id: m.id, ok: true, result: cache.stats() });
          break;
        case 'close':
          await cache.close();
          await lens.close();
          await pool.end();
          await closeRedis();
          send({ id: m.id, ok: true });
          process.disconnect();
          break;
      }
    } catch (err) {
      send({ id: m.id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    }
  })();
});

send({ ready: true });
