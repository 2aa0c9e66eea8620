/**
 * OpenTelemetry spans against a real PostgreSQL and the in-memory exporter: one CLIENT span per
 * statement with the stable database attributes, errors as SQLSTATEs, sanitized text, no
 * parameter value anywhere unless allowed, parenting on the caller's span (promise, callback and
 * pool forms), cursors and streams ending their spans, hooks isolated, findings as span events,
 * and an SDK registered after createLens still receiving spans.
 */
import { SpanKind, SpanStatusCode, context, metrics, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, fingerprint } from 'querylens';
import { tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';
import { allStrings, captureLogger, createOtel, eventually, metric, useContextManager } from './otel-harness.js';

const users = tableName('span_users');

describe('OpenTelemetry spans', () => {
  let db: TestDatabase;
  let dbName: string;
  let stopContext: () => void;

  beforeAll(async () => {
    db = await testDatabase();
    dbName = decodeURIComponent(new URL(db.url).pathname.slice(1));
    stopContext = useContextManager();
    const setup = db.pool({ max: 1 });
    await setup.query(`CREATE TABLE ${users} (id serial PRIMARY KEY, email text UNIQUE NOT NULL, age int)`);
    await setup.query(`INSERT INTO ${users} (email, age) SELECT 'user' || g || '@example.com', g FROM generate_series(1, 5) g`);
    await setup.end();
  });

  afterAll(async () => {
    stopContext();
    const setup = db.pool({ max: 1 });
    await setup.query(`DROP TABLE IF EXISTS ${users}`);
    await setup.end();
    await db.close();
  });

  function lensWith(otel: ReturnType<typeof createOtel>, tracing: object = {}) {
    return createLens({
      mode: 'production',
      logger: false,
      callsites: 'always',
      slowQuery: false,
      metrics: false,
      tracing: { tracerProvider: otel.tracerProvider, ...tracing },
    });
  }

  function only(spans: ReadableSpan[], summary: string): ReadableSpan {
    const found = spans.filter((s) => s.attributes['db.query.summary'] === summary);
    expect(found, `spans for ${summary}`).toHaveLength(1);
    return found[0]!;
  }

  it('records a SELECT as a CLIENT span named by its summary, with the stable attributes', async () => {
    const otel = createOtel();
    const lens = lensWith(otel);
    const pool = lens.instrument(db.pool({ max: 1 }));
    const text = `SELECT id, email FROM ${users} WHERE age > $1 ORDER BY id`;
    const { rows } = await pool.query(text, [2]);
    expect(rows).toHaveLength(3);
    await pool.end();
    await lens.close();

    const span = only(otel.spans(), `SELECT ${users}`);
    expect(span.name).toBe(`SELECT ${users}`);
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.instrumentationScope.name).toBe('querylens');
    expect(span.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.namespace': dbName,
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(db.url).port || 5432),
      'db.query.summary': `SELECT ${users}`,
      'db.query.text': text,
      'db.response.returned_rows': 3,
      'querylens.fingerprint': fingerprint(text),
      'code.file.path': 'test/integration/report/otel-spans.test.ts',
    });
    expect(span.attributes['code.line.number']).toBeTypeOf('number');
    expect(span.attributes['db.response.status_code']).toBeUndefined();
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.ended).toBe(true);
  });

  it('records INSERTs: returned rows count RETURNING rows, not affected ones', async () => {
    const otel = createOtel();
    const lens = lensWith(otel);
    const pool = lens.instrument(db.pool({ max: 1 }));
    await pool.query(`INSERT INTO ${users} (email, age) VALUES ($1, $2)`, ['insert-a@example.com', 40]);
    await pool.query(`INSERT INTO ${users} (email, age) VALUES ($1, $2) RETURNING id`, ['insert-b@example.com', 41]);
    await pool.end();
    await lens.close();
    const spans = otel.spans();
    expect(spans.map((s) => s.name)).toEqual([`INSERT ${users}`, `INSERT ${users}`]);
    expect(spans[0]!.attributes['db.response.returned_rows']).toBe(0);
    expect(spans[1]!.attributes['db.response.returned_rows']).toBe(1);
    expect(spans[1]!.attributes['db.query.text']).toBe(`INSERT INTO ${users} (email, age) VALUES ($1, $2) RETURNING id`);
  });

  it('records a unique violation as 23505 with a description that quotes no value (promise and callback forms)', async () => {
    const otel = createOtel();
    const lens = lensWith(otel);
    const pool = lens.instrument(db.pool({ max: 1 }));
    const text = `INSERT INTO ${users} (email) VALUES ($1)`;
    const promiseError = await pool.query(text, ['user1@example.com']).catch((e: unknown) => e);
    expect((promiseError as { code?: string }).code).toBe('23505');
    const callbackError = await new Promise((resolve) => pool.query(text, ['user2@example.com'], (err) => resolve(err)));
    expect((callbackError as { code?: string }).code).toBe('23505');
    await pool.end();
    await lens.close();

    const spans = otel.spans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.name).toBe(`INSERT ${users}`);
      expect(span.attributes['db.response.status_code']).toBe('23505');
      expect(span.attributes['error.type']).toBe('23505');
      expect(span.attributes['db.response.returned_rows']).toBeUndefined();
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'unique_violation (SQLSTATE 23505)' });
      expect(span.events.map((e) => e.name)).toEqual(['exception']);
      const strings = allStrings([span.attributes, span.events, span.status]).join('\n');
      expect(strings).not.toContain('user1@example.com');
      expect(strings).not.toContain('user2@example.com');
      expect(strings).not.toContain('already exists');
    }
  });

  it('sanitizes text with inline literals, and never records parameter values by default', async () => {
    const otel = createOtel();
    const logger = captureLogger();
    const lens = createLens({
      mode: 'production',
      logger,
      callsites: 'always',
      slowQuery: { thresholdMs: 0 },
      metrics: { meterProvider: otel.meterProvider, returnedRows: true, poolTimes: true },
      tracing: { tracerProvider: otel.tracerProvider },
    });
    const pool = lens.instrument(db.pool({ max: 1 }));
    const secrets = ['s3cr3t-p4r4m@example.com', '918273645', 'n0t-a-numb3r', 'inl1ne-l1teral'];
    await pool.query(`SELECT id FROM ${users} WHERE email = $1 AND age < $2`, [secrets[0], Number(secrets[1])]);
    await pool.query(`SELECT $1::int AS n`, [secrets[2]]).catch(() => undefined); // 22P02: PostgreSQL's message quotes the value
    await pool.query(`INSERT INTO ${users} (email) VALUES ($1)`, ['user3@example.com']).catch(() => undefined);
    await pool.query(`SELECT id FROM ${users} WHERE email = '${secrets[3]}' AND age = 918273645`);
    await pool.end();
    const collected = await otel.metrics();
    await lens.close();

    const spans = otel.spans();
    expect(spans).toHaveLength(4);
    expect(spans[3]!.attributes['db.query.text']).toBe(`SELECT id FROM ${users} WHERE email = ? AND age = ?`);
    expect(spans[1]!.attributes['error.type']).toBe('22P02');
    expect(logger.records.filter((r) => r.obj['querylens'] === 'slow-query')).toHaveLength(4);
    const everything = allStrings([spans.map((s) => [s.name, s.attributes, s.events, s.status]), collected, logger.records]).join('\n');
    for (const secret of [...secrets, 'user3@example.com']) expect(everything).not.toContain(secret);
  });

  it('records the parameters captureParameters allows, and only those', async () => {
    const otel = createOtel();
    const lens = lensWith(otel, { captureParameters: [0, 5] });
    const pool = lens.instrument(db.pool({ max: 1 }));
    await pool.query(`SELECT id FROM ${users} WHERE age = $1 AND email <> $2`, [3, 'hidden@example.com']);
    await pool.end();
    await lens.close();
    const span = otel.spans()[0]!;
    expect(span.attributes['db.query.parameter.0']).toBe('3');
    expect(span.attributes['db.query.parameter.1']).toBeUndefined();
    expect(allStrings(span.attributes).join('\n')).not.toContain('hidden@example.com');
  });

  it('parents each statement on the span active when it was called: client and pool, promise and callback', async () => {
    const otel = createOtel();
    const lens = lensWith(otel);
    // One connection for three concurrent requests: pg-pool runs the queued ones from another's callback.
    const pool = lens.instrument(db.pool({ max: 1 }));
    const clients = new Map(['a', 'b', 'c'].map((name) => [name, lens.instrument(db.client())]));
    for (const client of clients.values()) await client.connect();
    const tracer = otel.tracerProvider.getTracer('test');
    const parents: Record<string, string> = {};
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        tracer.startActiveSpan(`request ${name}`, async (span) => {
          const client = clients.get(name)!;
          parents[name] = span.spanContext().spanId;
          await pool.query(`SELECT $1::text AS pool_promise_${name}`, [name]);
          await new Promise((resolve) => pool.query(`SELECT $1::text AS pool_callback_${name}`, [name], resolve));
          await client.query(`SELECT $1::text AS client_promise_${name}`, [name]);
          await new Promise((resolve) => client.query(`SELECT $1::text AS client_callback_${name}`, [name], resolve));
          span.end();
        }),
      ),
    );
    await pool.query('SELECT 1 AS orphan');
    for (const client of clients.values()) await client.end();
    await pool.end();
    await lens.close();

    const byText = new Map(otel.spans().map((s) => [String(s.attributes['db.query.text']), s]));
    for (const name of ['a', 'b', 'c']) {
      for (const form of ['pool_promise', 'pool_callback', 'client_promise', 'client_callback']) {
        const span = byText.get(`SELECT $1::text AS ${form}_${name}`);
        expect(span, `${form} ${name}`).toBeDefined();
        expect(span!.parentSpanContext?.spanId, `${form} ${name}`).toBe(parents[name]);
      }
    }
    expect(byText.get('SELECT ? AS orphan')?.parentSpanContext).toBeUndefined();
  });

  it('parents a pool.query that waited for a connection on the exact span of its call, not on the span of whoever released the connection', async () => {
    const otel = createOtel();
    // no unit of work to fall back on: only the context captured at the call can give the right parent
    const lens = createLens({ mode: 'production', logger: false, slowQuery: false, metrics: false, traceScopes: false, tracing: { tracerProvider: otel.tracerProvider } });
    const pool = lens.instrument(db.pool({ max: 1 }));
    const tracer = otel.tracerProvider.getTracer('test');
    const inner: Record<string, string> = {};
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        tracer.startActiveSpan(`request ${name}`, async (request) => {
          // a child span below the request: the statement's parent must be this one, exactly
          await tracer.startActiveSpan(`load ${name}`, async (load) => {
            inner[name] = load.spanContext().spanId;
            await pool.query(`SELECT $1::text AS nested_${name}, pg_sleep(0.01)`, [name]);
            load.end();
          });
          request.end();
        }),
      ),
    );
    await pool.end();
    await lens.close();
    const byText = new Map(otel.spans().map((s) => [String(s.attributes['db.query.text']), s]));
    for (const name of ['a', 'b', 'c']) {
      const span = byText.get(`SELECT $1::text AS nested_${name}, pg_sleep(?)`);
      expect(span, name).toBeDefined();
      expect(span!.parentSpanContext?.spanId, name).toBe(inner[name]);
    }
  });

  it('with requireParentSpan, traces only statements issued inside a span', async () => {
    const otel = createOtel();
    const lens = lensWith(otel, { requireParentSpan: true });
    const pool = lens.instrument(db.pool({ max: 1 }));
    await pool.query('SELECT 1 AS outside');
    await otel.tracerProvider.getTracer('test').startActiveSpan('parent', async (span) => {
      await pool.query('SELECT 2 AS inside');
      span.end();
    });
    await pool.end();
    await lens.close();
    expect(otel.spans().filter((s) => s.kind === SpanKind.CLIENT).map((s) => s.attributes['db.query.text'])).toEqual(['SELECT ? AS inside']);
  });

  it('ends the span of a cursor when it is closed, and of a stream when it is consumed', async () => {
    const otel = createOtel();
    const lens = lensWith(otel);
    const pool = lens.instrument(db.pool({ max: 1 }));
    const client = await pool.connect();
    const cursor = client.query(new Cursor(`SELECT id FROM ${users} WHERE age >= $1 ORDER BY id`, [1]));
    const firstRows = await cursor.read(2);
    expect(firstRows).toHaveLength(2);
    expect(otel.spans()).toHaveLength(0);
    await cursor.close();
    await eventually(() => (otel.spans().length === 1 ? true : undefined));
    const cursorSpan = otel.spans()[0]!;
    expect(cursorSpan.ended).toBe(true);
    expect(cursorSpan.name).toBe(`SELECT ${users}`);
    expect(cursorSpan.attributes['db.response.returned_rows']).toBe(2);

    const stream = client.query(new QueryStream('SELECT g FROM generate_series(1, $1::int) g', [7]));
    let streamed = 0;
    for await (const _row of stream) streamed++;
    expect(streamed).toBe(7);
    client.release();
    const streamSpan = await eventually(() => otel.spans()[1]);
    expect(streamSpan.attributes['db.response.returned_rows']).toBe(7);
    await pool.end();
    await lens.close();
  });

  it('falls back on {command} {table}, then postgresql, for the span name', async () => {
    const otel = createOtel();
    const lens = lensWith(otel);
    const client = lens.instrument(db.client());
    await client.connect();
    await client.query({ name: 'ql-span-named', text: 'SELECT $1::int AS n', values: [1] });
    await client.query({ name: 'ql-span-named', values: [2] } as pg.QueryConfig);
    await client.query('   ');
    await client.end();
    await lens.close();
    const names = otel.spans().map((s) => s.name);
    expect(names[0]).toBe('SELECT');
    expect(names[1]).toBe('SELECT'); // the text is remembered per connection
    expect(names[2]).toBe('postgresql');
  });

  it('isolates hooks: a throwing requestHook or responseHook is logged once at debug and the query is unaffected', async () => {
    const otel = createOtel();
    const logger = captureLogger();
    let responses = 0;
    const lens = createLens({
      mode: 'production',
      logger,
      slowQuery: false,
      metrics: false,
      tracing: {
        tracerProvider: otel.tracerProvider,
        requestHook: (span, event) => {
          span.setAttribute('app.statement', event.sql.summary);
          throw new Error('request hook bug');
        },
        responseHook: (span, event) => {
          responses++;
          span.setAttribute('app.rows', event.rowCount ?? -1);
          throw new TypeError('response hook bug');
        },
      },
    });
    const pool = lens.instrument(db.pool({ max: 1 }));
    for (let i = 0; i < 3; i++) expect((await pool.query('SELECT $1::int AS n', [i])).rows).toEqual([{ n: i }]);
    await pool.end();
    await lens.close();
    expect(responses).toBe(3);
    expect(otel.spans()).toHaveLength(3);
    expect(otel.spans()[0]!.attributes).toMatchObject({ 'app.statement': 'SELECT', 'app.rows': 1 });
    const debug = logger.records.filter((r) => r.level === 'debug');
    expect(debug.map((r) => r.obj['failure'])).toEqual(['request-hook', 'response-hook']);
    expect(lens.sinkFailures.size).toBe(0);
  });

  it('survives an exporter that throws: queries return their results, the failure is logged once at debug', async () => {
    const logger = captureLogger();
    const { BasicTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const badProcessor = new SimpleSpanProcessor({
      export: () => {
        throw new Error('exporter down');
      },
      shutdown: async () => {},
    });
    const throwingProcessor = {
      onStart: () => {},
      onEnd: () => {
        throw new Error('span processor bug');
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [badProcessor, throwingProcessor] });
    const lens = createLens({ mode: 'production', logger, slowQuery: false, metrics: false, tracing: { tracerProvider } });
    const pool = lens.instrument(db.pool({ max: 1 }));
    for (let i = 0; i < 3; i++) expect((await pool.query('SELECT $1::int AS n', [i])).rows).toEqual([{ n: i }]);
    await pool.end();
    await lens.close();
    expect(lens.sinkFailures.size).toBe(0);
    expect(logger.records.filter((r) => r.level === 'debug' && r.obj['failure'] === 'tracing')).toHaveLength(1);
  });

  it('puts findings on the span of their unit of work as querylens.finding events', async () => {
    const otel = createOtel();
    const lens = createLens({
      mode: 'production',
      logger: false,
      slowQuery: { thresholdMs: 0 },
      metrics: false,
      tracing: { tracerProvider: otel.tracerProvider },
    });
    const pool = lens.instrument(db.pool({ max: 1 }));
    const tracer = otel.tracerProvider.getTracer('test');
    await tracer.startActiveSpan('GET /users', async (request) => {
      await lens.scope('users page', () => pool.query(`SELECT email FROM ${users} WHERE id = $1`, [1]));
      request.end();
    });
    await pool.end();
    await lens.close();
    const request = otel.spans().find((s) => s.name === 'GET /users')!;
    const finding = request.events.find((e) => e.name === 'querylens.finding');
    expect(finding?.attributes).toMatchObject({
      'querylens.finding.kind': 'slow-query',
      'db.query.summary': `SELECT ${users}`,
      'querylens.finding.count': 1,
      'code.file.path': 'test/integration/report/otel-spans.test.ts',
    });
    expect(finding?.attributes?.['querylens.fingerprint']).toBe(fingerprint(`SELECT email FROM ${users} WHERE id = $1`));
  });

  it('puts findings reported after the request span ended on a child span of it', async () => {
    const otel = createOtel();
    const lens = createLens({ mode: 'production', logger: false, slowQuery: { thresholdMs: 0 }, metrics: false, tracing: { tracerProvider: otel.tracerProvider } });
    const pool = lens.instrument(db.pool({ max: 1 }));
    const request = otel.tracerProvider.getTracer('test').startSpan('GET /late');
    await context.with(trace.setSpan(context.active(), request), () =>
      lens.scope('late scope', async () => {
        request.end();
        await pool.query('SELECT 2 AS late');
      }),
    );
    await pool.end();
    await lens.close();
    const ended = otel.spans().find((s) => s.name === 'GET /late');
    expect(ended?.events).toEqual([]);
    const carrier = otel.spans().find((s) => s.name === 'querylens findings');
    expect(carrier?.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(carrier?.events[0]?.attributes?.['querylens.finding.kind']).toBe('slow-query');
  });

  it('sends spans to an SDK registered globally after createLens', async () => {
    const otel = createOtel();
    const lens = createLens({ mode: 'production', logger: false, slowQuery: false });
    const pool = lens.instrument(db.pool({ max: 1 }));
    await pool.query('SELECT 1 AS before_sdk');
    expect(trace.setGlobalTracerProvider(otel.tracerProvider)).toBe(true);
    expect(metrics.setGlobalMeterProvider(otel.meterProvider)).toBe(true);
    try {
      await pool.query('SELECT 2 AS after_sdk');
      const collected = await otel.metrics();
      const duration = metric(collected, 'db.client.operation.duration');
      expect(duration?.dataPoints.length).toBe(1);
    } finally {
      trace.disable();
      metrics.disable();
      await pool.end();
      await lens.close();
    }
    expect(otel.spans().map((s) => s.attributes['db.query.text'])).toEqual(['SELECT ? AS after_sdk']);
  });
});
