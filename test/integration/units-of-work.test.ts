/**
 * Units of work beyond `lens.scope`: one per Express request (named by its route pattern once the
 * router has matched), and, without any lens scope, the active OpenTelemetry trace.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens } from 'querylens';
import { recordEvents } from '../helpers/record-events.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

describe('units of work', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await testDatabase();
  });

  afterAll(async () => {
    await db.close();
  });

  it('gives each Express request its own scope, named METHOD /route/pattern', async () => {
    const lens = createLens({ mode: 'production' });
    const log = recordEvents(lens);
    const pool: pg.Pool = lens.instrument(db.pool({ max: 2 }));
    const app = express();
    app.use(lens.middleware());
    const api = express.Router();
    api.get('/posts/:id', async (req, res) => {
      const { rows } = await pool.query('SELECT $1::int AS id', [Number(req.params['id'])]);
      await new Promise((r) => setTimeout(r, 5));
      await pool.query('SELECT $1::int AS again', [Number(req.params['id'])]);
      res.json(rows[0]);
    });
    app.use('/api', api);
    app.get('/', (_req, res) => void res.send('home'));
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const bodies = await Promise.all([1, 2, 3].map(async (id) => (await fetch(`${base}/api/posts/${id}?x=1`)).json()));
      expect(bodies).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
      await fetch(`${base}/nothing/here?q=1`);
    } finally {
      await new Promise((r) => server.close(r));
      await pool.end();
    }
    const ends = log.ends();
    expect(ends).toHaveLength(6);
    for (const e of ends) {
      expect(e.scope?.kind).toBe('request');
      expect(e.scope?.name).toBe('GET /api/posts/:id');
    }
    // Both queries of a request share its scope; requests do not share scopes.
    const byScope = new Map<unknown, unknown[]>();
    for (const e of ends) byScope.set(e.scope, [...(byScope.get(e.scope) ?? []), e.values?.[0]]);
    expect([...byScope.values()].map((v) => v.sort())).toEqual(expect.arrayContaining([[1, 1], [2, 2], [3, 3]]));
    expect(byScope.size).toBe(3);
    const scopeEnds = log.scopeEnds().map((e) => e.scope.name).sort();
    expect(scopeEnds).toEqual(['GET /api/posts/:id', 'GET /api/posts/:id', 'GET /api/posts/:id', 'GET /nothing/here']);
    await lens.close();
  });

  it('names a request scope lazily (fallback until the route is known) and never rejects it in test mode', async () => {
    const lens = createLens({ mode: 'test', logger: false });
    const log = recordEvents(lens);
    const findings: string[] = [];
    lens.on('finding', (f, scope) => void findings.push(`${f.kind}@${scope?.name ?? '-'}`));
    const pool: pg.Pool = lens.instrument(db.pool({ max: 2 }));
    let route: string | undefined;
    try {
      const result = await lens.scope(
        () => route,
        async () => {
          await pool.query('SELECT 1 AS first');
          route = 'GET /posts/:id'; // the router matched after the first query
          for (let i = 0; i < 6; i++) await pool.query('SELECT $1::int AS same', [1]);
          return 'response';
        },
        { kind: 'request', fallbackName: 'GET /posts/42' },
      );
      expect(result).toBe('response');
      // the same repeats in a plain scope reject in test mode: the request kind is what spares it
      await expect(
        lens.scope('job', async () => {
          for (let i = 0; i < 6; i++) await pool.query('SELECT $1::int AS same', [1]);
        }),
      ).rejects.toMatchObject({ name: 'NPlusOneError' });
      await expect(lens.scope(() => undefined, async () => 'x', { kind: 'request', fallbackName: 'GET /nothing' })).resolves.toBe('x');
    } finally {
      await pool.end();
      await lens.close();
    }
    const scopeEnds = log.scopeEnds();
    expect(scopeEnds.map((e) => [e.scope.kind, e.scope.name])).toEqual([
      ['request', 'GET /posts/:id'],
      ['scope', 'job'],
      ['request', 'GET /nothing'],
    ]);
    expect(findings).toEqual(['duplicate@GET /posts/:id', 'duplicate@job']);
  });

  it('rejects bad scope() options with a message naming the value', async () => {
    const lens = createLens({ mode: 'production' });
    await expect(lens.scope('x', () => 1, { kind: 'job' as never })).rejects.toThrow(/kind must be 'scope' or 'request'; got "job"/);
    await expect(lens.scope('x', () => 1, { fallbackName: 3 as never })).rejects.toThrow(/fallbackName must be a string; got number/);
    await expect(lens.scope(42 as never, () => 1)).rejects.toThrow(/expects a name .* got number/);
    await lens.close();
  });

  it('uses the active OpenTelemetry trace as the unit of work when there is no lens scope', async () => {
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    const provider = new BasicTracerProvider();
    trace.setGlobalTracerProvider(provider);
    const lens = createLens({ mode: 'production', traceScopeIdleMs: 250 });
    const log = recordEvents(lens);
    const pool = lens.instrument(db.pool({ max: 2 }));
    try {
      const tracer = trace.getTracer('test');
      const traceId = await tracer.startActiveSpan('job', async (span) => {
        await pool.query('SELECT 1 AS a');
        await pool.query('SELECT 2 AS b');
        await lens.scope('explicit', () => pool.query('SELECT 3 AS c'));
        span.end();
        return span.spanContext().traceId;
      });
      await pool.query('SELECT 4 AS untraced');
      const ends = log.ends();
      expect(ends.map((e) => [e.scope?.kind, e.scope?.id === traceId ? 'trace' : e.scope?.name])).toEqual([
        ['trace', 'trace'],
        ['trace', 'trace'],
        ['scope', 'explicit'],
        [undefined, undefined],
      ]);
      expect(ends[0]?.scope).toBe(ends[1]?.scope);
      expect(ends[0]?.scope?.name).toBe('job');
      // The trace's unit of work ends once it has been idle for traceScopeIdleMs.
      const ended = () => log.scopeEnds().some((e) => e.scope.kind === 'trace' && e.scope.id === traceId);
      for (let waited = 0; !ended() && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      expect(ended()).toBe(true);
    } finally {
      await pool.end();
      await lens.close();
      trace.disable();
      context.disable();
    }
  });

  it('keeps statistics per fingerprint with counts, percentiles, rows, errors and call sites', async () => {
    const lens = createLens({ mode: 'development', stats: { maxFingerprints: 2 } });
    const pool = lens.instrument(db.pool({ max: 1 }));
    for (let i = 0; i < 5; i++) await pool.query('SELECT g FROM generate_series(1, $1::int) g', [i]);
    await pool.query('SELECT 1 FROM ql_missing_table_stats').catch(() => {});
    const stats = lens.stats();
    const series = stats.find((s) => s.sql.includes('generate_series'));
    expect(series).toMatchObject({ count: 5, rows: 0 + 1 + 2 + 3 + 4, errors: 0, summary: expect.stringMatching(/^SELECT/) });
    expect(series?.p50Ms).toBeGreaterThan(0);
    expect(series?.p95Ms).toBeGreaterThanOrEqual(series?.p50Ms ?? 0);
    expect(series?.maxMs).toBeGreaterThanOrEqual(series?.p95Ms ?? 0);
    expect(series?.meanMs).toBeCloseTo((series?.totalMs ?? 0) / 5);
    expect(series?.callsites).toEqual([expect.objectContaining({ file: 'test/integration/units-of-work.test.ts' })]);
    expect(stats.find((s) => s.errors === 1)).toBeDefined();
    // Bounded: a new fingerprint evicts one not used since it arrived, and keeps the busy one.
    await pool.query('SELECT g FROM generate_series(1, $1::int) g', [1]);
    await pool.query('SELECT 42');
    expect(lens.stats().map((s) => s.sql)).toEqual(expect.arrayContaining([expect.stringContaining('generate_series'), 'SELECT ?']));
    expect(lens.stats()).toHaveLength(2);
    await pool.end();
    await lens.close();
  });
});
