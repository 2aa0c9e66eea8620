// Primary-key cache: what a cache hit costs next to the expensive query it replaces and next to
// the cheapest way to read the same rows by hand.
//
// The expensive query filters and sorts 200 000 rows (`WHERE body LIKE $1 ORDER BY score DESC,
// title LIMIT 50`, no index that helps: tens of ms). Variants, all through one pool instrumented
// by a production-mode lens (so every variant pays the same instrumentation):
//   uncached   — the query itself, `SELECT *` (what an application runs without a cache)
//   pk fetch   — `SELECT * FROM t WHERE id = ANY($1)` for the same 50 keys (the floor: one
//                primary-key round trip, keys already known)
//   cache hit  — `cache.query(pool, …)` with the key list cached: key derivation, lookup, and the
//                row read by primary key (`JOIN unnest($1::int[]) WITH ORDINALITY … ORDER BY ord`)
//   cache hit (Redis tier) — the same with `store: { redis }` (one EVALSHA round trip more), when
//                a Redis answers at REDIS_URL
//   cache miss — `invalidateTable` then `cache.query`: the text and its rows in one statement + fill
// Rounds alternate the variants (order rotated each round); each round takes `--per` timed calls of
// each variant after its warm-up; the table shows the median over every timed call (wall time per
// call) and the ratios the targets are stated in. Not a gate: it prints, it does not fail.
//
// Usage: node bench/suites/pk-cache.mjs [--rounds 7] [--per 40] [--rows 200000]
// Needs a PostgreSQL: DATABASE_URL, else postgres://127.0.0.1:5432/test.
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { arg, databaseUrl, median } from '../lib.mjs';

const require = createRequire(import.meta.url);
const DIST = new URL('../../dist/src/index.js', import.meta.url).href;
const TABLE = `ql_bench_pk_${process.pid}`;

async function redisClient() {
  let Redis;
  try {
    ({ Redis } = require('ioredis'));
  } catch {
    return undefined;
  }
  const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch {
    client.disconnect();
    return undefined;
  }
}


const pg = require('pg');
const url = await databaseUrl(pg);
if (url === undefined) {
  console.log('pk-cache: no PostgreSQL (set DATABASE_URL); skipped.');
  process.exit(0);
}
const rounds = arg('rounds', 7);
const per = arg('per', 40);
const rowCount = arg('rows', 200_000);

const { createLens } = await import(DIST);
const lens = createLens({ mode: 'production', logger: false });
const pool = lens.instrument(new pg.Pool({ connectionString: url, max: 1 }));
const redis = await redisClient();

try {
  const version = (await pool.query('SHOW server_version')).rows[0].server_version;
  console.log(`pk-cache: ${rounds} rounds × ${per} timed calls per variant (after warm-up), variants alternating`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}, PostgreSQL ${version}${redis ? ', Redis local' : ''}`);
  await pool.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, category int NOT NULL, score double precision NOT NULL, title text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL)`);
  await pool.query(
    `INSERT INTO ${TABLE} SELECT g, g % 20, (hashint4(g) & 1048575) / 1048576.0, 'post ' || md5(g::text), repeat(md5((g * 7)::text), 4),
       '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, $1::int) g`,
    [rowCount],
  );
  await pool.query(`ANALYZE ${TABLE}`);

  const filter = 'body LIKE $1 ORDER BY score DESC, title LIMIT 50';
  const values = ['%ab%'];
  const cached = { table: TABLE, text: `SELECT id FROM ${TABLE} WHERE ${filter}`, values };
  const memoryCache = lens.cache({ schemaPollMs: 0 });
  const redisCache = redis ? lens.cache({ store: { redis }, namespace: `bench_${process.pid}`, schemaPollMs: 0 }) : undefined;
  const expected = (await pool.query(`SELECT * FROM ${TABLE} WHERE ${filter}`, values)).rows;
  const ids = expected.map((r) => r.id);

  const variants = [
    { id: 'uncached', label: 'uncached: the query itself (filter + sort over 200 000 rows)', run: () => pool.query(`SELECT * FROM ${TABLE} WHERE ${filter}`, values) },
    { id: 'pk', label: 'plain primary-key fetch of the same rows (`id = ANY($1)`)', run: () => pool.query(`SELECT * FROM ${TABLE} WHERE id = ANY($1::int[])`, [ids]) },
    { id: 'hit', label: 'PK-cache hit (in-process tier)', run: () => memoryCache.query(pool, cached) },
    ...(redisCache ? [{ id: 'hit-redis', label: 'PK-cache hit (Redis tier)', run: () => redisCache.query(pool, cached) }] : []),
    {
      id: 'miss',
      label: 'PK-cache miss (text + rows in one statement, fill)',
      run: async () => {
        await memoryCache.invalidateTable(TABLE);
        return memoryCache.query(pool, cached);
      },
    },
  ];

  // Correctness first: every variant returns the rows the query returns.
  for (const v of variants) {
    // A cache variant's first call fills the cache: check the second, the path the variant times.
    // pool.query resolves to a pg result, cache.query to the rows themselves.
    await v.run();
    const result = await v.run();
    const got = Array.isArray(result) ? result : result.rows;
    if (v.id !== 'pk' && JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${v.id} returned different rows`);
  }

  const samples = new Map(variants.map((v) => [v.id, []]));
  for (let round = 0; round < rounds; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]);
    for (const v of order) {
      const n = v.id === 'uncached' || v.id === 'miss' ? Math.max(5, Math.round(per / 4)) : per;
      for (let i = 0; i < 3; i++) await v.run(); // warm-up for this block
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await v.run();
        samples.get(v.id).push(performance.now() - t0);
      }
    }
    process.stdout.write(`  round ${round + 1}/${rounds} done\n`);
  }

  const med = (id) => median(samples.get(id));
  const pk = med('pk');
  const uncached = med('uncached');
  console.log('\n| variant | median ms/call | p90 ms | × plain PK fetch | uncached ÷ this | target |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const v of variants) {
    const s = samples.get(v.id);
    const m = median(s);
    const p90 = [...s].sort((a, b) => a - b)[Math.floor(s.length * 0.9)];
    let target = '';
    if (v.id === 'hit') target = `≤ 1.5 × PK fetch ${m <= 1.5 * pk ? 'met' : 'MISSED'}; ≥ 20 × cheaper than uncached ${uncached / m >= 20 ? 'met' : 'MISSED'}`;
    console.log(`| ${v.label} | ${m.toFixed(3)} | ${p90.toFixed(3)} | ${(m / pk).toFixed(2)} | ${(uncached / m).toFixed(1)} | ${target} |`);
  }
  const s = memoryCache.stats();
  console.log(`\nin-process cache: ${s.hits} hits, ${s.misses} misses, ${s.fillsStored} fills stored`);
  await memoryCache.close();
  await redisCache?.close();
} finally {
  await pool.query(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => {});
  await pool.end();
  await lens.close();
  redis?.disconnect();
}
