/**
 * OpenTelemetry metrics against a real PostgreSQL and a collecting reader: operation duration and
 * returned rows with low-cardinality attributes only, errors as SQLSTATE on the metric (promise
 * and callback forms), per-pool connection metrics kept apart for several pools, and the findings
 * counter, and pool checkout timeouts.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens } from 'querylens';
import { tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';
import { allStrings, createOtel, histogramPoints, metric } from './otel-harness.js';

const items = tableName('metric_items');

describe('OpenTelemetry metrics', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await testDatabase();
    const setup = db.pool({ max: 1 });
    await setup.query(`CREATE TABLE ${items} (id int PRIMARY KEY, name text)`);
    await setup.query(`INSERT INTO ${items} SELECT g, 'item ' || g FROM generate_series(1, 30) g`);
    await setup.end();
  });

  afterAll(async () => {
    const setup = db.pool({ max: 1 });
    await setup.query(`DROP TABLE IF EXISTS ${items}`);
    await setup.end();
    await db.close();
  });

  function lensWith(otel: ReturnType<typeof createOtel>) {
    return createLens({ mode: 'production', logger: false, slowQuery: false, tracing: false, metrics: { meterProvider: otel.meterProvider, returnedRows: true, poolTimes: true } });
  }

  it('records db.client.operation.duration in seconds with the stable buckets and low-cardinality attributes', async () => {
    const otel = createOtel();
    const lens = lensWith(otel);
    const pool = lens.instrument(db.pool({ max: 1 }));
    for (let i = 1; i <= 4; i++) await pool.query(`SELECT name FROM ${items} WHERE id <= $1`, [i * 5]);
    await pool.query(`SELECT name FROM ${items} WHERE id = 'inline-literal-value'::text::int`).catch(() => undefined);
    await pool.end();
    const collected = await otel.metrics();
    await lens.close();

    const duration = metric(collected, 'db.client.operation.duration')!;
    expect(duration.descriptor.unit).toBe('s');
    const ok = histogramPoints(collected, 'db.client.operation.duration').find((p) => p.attributes['error.type'] === undefined)!;
    expect(ok.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.namespace': decodeURIComponent(new URL(db.url).pathname.slice(1)),
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(db.url).port || 5432),
      'db.query.summary': `SELECT ${items}`,
    });
    expect(ok.value.count).toBe(4);
    expect(ok.value.buckets.boundaries).toEqual([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);
    expect(ok.value.sum!).toBeGreaterThan(0);
    expect(ok.value.sum!).toBeLessThan(5);

    const rows = histogramPoints(collected, 'db.client.response.returned_rows');
    expect(metric(collected, 'db.client.response.returned_rows')!.descriptor.unit).toBe('{row}');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.value.sum).toBe(5 + 10 + 15 + 20);
    expect(rows[0]!.value.count).toBe(4);

    const everything = allStrings(collected).join('\n');
    expect(everything).not.toContain('inline-literal-value');
    expect(everything).not.toContain('db.query.text');
    expect(everything).not.toContain('querylens.fingerprint');
  });

  it('puts the SQLSTATE and error.type on the duration metric, for promise and callback forms', async () => {
    const otel = createOtel();
    const lens = lensWith(otel);
    const pool = lens.instrument(db.pool({ max: 1 }));
    const text = `INSERT INTO ${items} (id, name) VALUES ($1, $2)`;
    await pool.query(text, [1, 'duplicate']).catch(() => undefined);
    await new Promise((resolve) => pool.query(text, [2, 'duplicate'], resolve));
    const client = lens.instrument(db.client());
    await client.connect();
    await new Promise((resolve) => client.query(text, [3, 'duplicate'], resolve));
    await client.end();
    await pool.end();
    const collected = await otel.metrics();
    await lens.close();
    const failed = histogramPoints(collected, 'db.client.operation.duration').filter((p) => p.attributes['error.type'] !== undefined);
    expect(failed).toHaveLength(1); // one series: pool and standalone client share the attributes
    expect(failed[0]!.attributes).toMatchObject({ 'db.response.status_code': '23505', 'error.type': '23505', 'db.query.summary': `INSERT ${items}` });
    expect(failed[0]!.value.count).toBe(3);
    expect(histogramPoints(collected, 'db.client.response.returned_rows')).toHaveLength(0);
  });

  it('keeps the connection metrics of several pools apart, named or not', async () => {
    const otel = createOtel();
    const lens = lensWith(otel);
    const primary = lens.instrument(db.pool({ max: 3 }), { name: 'primary' });
    const replica = lens.instrument(db.pool({ max: 3 }), { name: 'replica' });
    const unnamedA = lens.instrument(db.pool({ max: 2 }));
    const unnamedB = lens.instrument(db.pool({ max: 2 }));
    // primary: two connections checked out; replica: one idle; the unnamed ones: one idle, one used.
    const held = [await primary.connect(), await primary.connect()];
    for (const c of held) await c.query('SELECT 1');
    await replica.query('SELECT 2');
    await unnamedA.query('SELECT 3');
    const heldB = await unnamedB.connect();
    await heldB.query('SELECT 4');
    const collected = await otel.metrics();

    const count = metric(collected, 'db.client.connection.count')!;
    expect(count.descriptor.unit).toBe('{connection}');
    const series = Object.fromEntries(
      count.dataPoints.map((p) => [`${String(p.attributes['db.client.connection.pool.name'])} ${String(p.attributes['db.client.connection.state'])}`, p.value]),
    );
    const base = `${decodeURIComponent(new URL(db.url).pathname.slice(1))}@127.0.0.1:${new URL(db.url).port || 5432}`;
    expect(series).toEqual({
      'primary used': 2,
      'primary idle': 0,
      'replica used': 0,
      'replica idle': 1,
      [`${base} used`]: 0,
      [`${base} idle`]: 1,
      [`${base} #2 used`]: 1,
      [`${base} #2 idle`]: 0,
    });
    const pending = metric(collected, 'db.client.connection.pending_requests')!;
    expect(pending.descriptor.unit).toBe('{request}');
    expect(pending.dataPoints.map((p) => p.attributes['db.client.connection.pool.name']).sort()).toEqual([base, `${base} #2`, 'primary', 'replica'].sort());

    const wait = histogramPoints(collected, 'db.client.connection.wait_time');
    expect(wait.map((p) => p.attributes['db.client.connection.pool.name']).sort()).toEqual([base, 'replica'].sort());
    for (const c of held) c.release();
    heldB.release();
    const afterRelease = await otel.metrics();
    const use = histogramPoints(afterRelease, 'db.client.connection.use_time');
    const useByPool = Object.fromEntries(use.map((p) => [String(p.attributes['db.client.connection.pool.name']), p.value.count]));
    expect(useByPool).toEqual({ primary: 2, replica: 1, [base]: 1, [`${base} #2`]: 1 });
    await Promise.all([primary.end(), replica.end(), unnamedA.end(), unnamedB.end()]);
    await lens.close();
  });

  it('counts pool checkout timeouts per pool in db.client.connection.timeouts, leaving the errors untouched', async () => {
    const otel = createOtel();
    const lens = lensWith(otel);
    // "busy": one connection, held, so checkouts wait and time out (pool.query both forms, pool.connect promise and callback).
    const busy = lens.instrument(db.pool({ max: 1, connectionTimeoutMillis: 50 }), { name: 'busy' });
    // "dead": a server that accepts and never answers, so opening a connection times out.
    const accepted: Socket[] = [];
    const silent = createServer((socket) => void accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const dead = lens.instrument(new pg.Pool({ host: '127.0.0.1', port: (silent.address() as AddressInfo).port, user: 'x', database: 'x', max: 1, connectionTimeoutMillis: 50 }), { name: 'dead' });
    // "calm": no connectionTimeoutMillis, never times out and is never watched.
    const calm = lens.instrument(db.pool({ max: 1 }), { name: 'calm' });
    const held = await busy.connect();
    const errors: unknown[] = [];
    try {
      errors.push(await busy.query('SELECT 1').catch((e: unknown) => e));
      errors.push(await new Promise((resolve) => busy.query('SELECT 1', (err: Error) => resolve(err))));
      errors.push(await busy.connect().catch((e: unknown) => e));
      errors.push(await new Promise((resolve) => busy.connect((err) => resolve(err))));
      errors.push(await dead.query('SELECT 1').catch((e: unknown) => e));
      await calm.query('SELECT 1');
    } finally {
      held.release();
    }
    expect(errors.map((e) => (e as Error).message)).toEqual([
      'timeout exceeded when trying to connect',
      'timeout exceeded when trying to connect',
      'timeout exceeded when trying to connect',
      'timeout exceeded when trying to connect',
      'Connection terminated due to connection timeout',
    ]);
    // a timed-out pool recovers: the next checkout works and is not counted
    expect((await busy.query('SELECT 7 AS n')).rows).toEqual([{ n: 7 }]);
    const collected = await otel.metrics();
    await Promise.all([busy.end(), dead.end(), calm.end()]);
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await lens.close();
    const timeouts = metric(collected, 'db.client.connection.timeouts')!;
    expect(timeouts.descriptor.unit).toBe('{timeout}');
    expect(Object.fromEntries(timeouts.dataPoints.map((p) => [String(p.attributes['db.client.connection.pool.name']), p.value]))).toEqual({ busy: 4, dead: 1 });
  });

  it('by default records the stable duration and the pool counts, not returned rows or pool times', async () => {
    const otel = createOtel();
    const lens = createLens({ mode: 'production', logger: false, slowQuery: false, tracing: false, metrics: { meterProvider: otel.meterProvider } });
    const pool = lens.instrument(db.pool({ max: 1 }));
    await pool.query(`SELECT name FROM ${items} WHERE id = $1`, [1]);
    const collected = await otel.metrics();
    await pool.end();
    await lens.close();
    expect(collected.map((m) => m.descriptor.name).sort()).toEqual(['db.client.connection.count', 'db.client.connection.pending_requests', 'db.client.operation.duration']);
  });

  it('counts findings by kind in querylens.findings', async () => {
    const otel = createOtel();
    const lens = createLens({ mode: 'production', logger: false, tracing: false, slowQuery: { thresholdMs: 0 }, metrics: { meterProvider: otel.meterProvider } });
    const pool = lens.instrument(db.pool({ max: 1 }));
    await pool.query('SELECT 1');
    await pool.query('SELECT 2');
    await pool.end();
    const collected = await otel.metrics();
    await lens.close();
    const findings = metric(collected, 'querylens.findings')!;
    expect(findings.dataPoints.map((p) => [p.attributes['querylens.finding.kind'], p.value])).toEqual([['slow-query', 2]]);
  });

  it('survives a meter provider that throws: queries are unaffected', async () => {
    const lens = createLens({
      mode: 'production',
      logger: false,
      tracing: false,
      slowQuery: false,
      metrics: {
        meterProvider: {
          getMeter: () => {
            throw new Error('meter provider down');
          },
        },
      },
    });
    const pool = lens.instrument(db.pool({ max: 1 }));
    expect((await pool.query('SELECT $1::int AS n', [7])).rows).toEqual([{ n: 7 }]);
    await pool.end();
    await lens.close();
    expect(lens.sinkFailures.size).toBe(0);
  });
});
