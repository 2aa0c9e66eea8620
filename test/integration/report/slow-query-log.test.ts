/**
 * The slow-query log against a real PostgreSQL: one warn record per slow statement with the
 * documented fields and a slow-query finding; sampling; EXPLAIN on a pooled connection, never
 * observed, only for parameterized SELECTs, rate limited, read-only and rolled back (ANALYZE
 * included); a plan summary naming the sequential scan on a 50 000-row table and the index hint;
 * EXPLAIN failures and timeouts leave the query untouched and are logged once at debug.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanSummary } from 'querylens';
import { createLens, fingerprint, formatTopQueries } from 'querylens';
import { collectFindings, recordEvents } from '../../helpers/record-events.js';
import { tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';
import { allStrings, captureLogger, createOtel, type LogRecord } from './otel-harness.js';

const comments = tableName('slow_comments');
const counter = tableName('slow_counter');

function slowRecords(records: readonly LogRecord[]): LogRecord[] {
  return records.filter((r) => r.level === 'warn' && r.obj['querylens'] === 'slow-query');
}

/** Records wait for their plan, so they may be written out of order: find one by its text. */
function recordFor(records: readonly LogRecord[], text: RegExp): LogRecord {
  const found = slowRecords(records).filter((r) => text.test(String(r.obj['db.query.text'])));
  expect(found, String(text)).toHaveLength(1);
  return found[0]!;
}

describe('slow-query log', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await testDatabase();
    const setup = db.pool({ max: 1 });
    await setup.query(`CREATE TABLE ${comments} (id serial PRIMARY KEY, post_id int NOT NULL, author text NOT NULL, body text NOT NULL)`);
    await setup.query(`INSERT INTO ${comments} (post_id, author, body) SELECT g % 2500, 'author ' || (g % 97), 'comment body ' || g FROM generate_series(1, 50000) g`);
    await setup.query(`ANALYZE ${comments}`);
    await setup.query(`CREATE SEQUENCE ${counter}`);
    await setup.end();
  });

  afterAll(async () => {
    const setup = db.pool({ max: 1 });
    await setup.query(`DROP TABLE IF EXISTS ${comments}`);
    await setup.query(`DROP SEQUENCE IF EXISTS ${counter}`);
    await setup.end();
    await db.close();
  });

  it('writes a warn record with the documented fields and reports a slow-query finding', async () => {
    const otel = createOtel();
    const logger = captureLogger();
    const lens = createLens({
      mode: 'production',
      logger,
      callsites: 'always',
      slowQuery: { thresholdMs: 0 },
      metrics: false,
      tracing: { tracerProvider: otel.tracerProvider },
    });
    const findings = collectFindings(lens);
    const pool = lens.instrument(db.pool({ max: 1 }));
    const text = `SELECT id, body FROM ${comments} WHERE post_id = $1 AND author <> $2`;
    await lens.scope('comments page', () => pool.query(text, [42, 'p4r4m-value']));
    await pool.end();
    await lens.close();

    const [record, ...rest] = slowRecords(logger.records);
    expect(rest).toHaveLength(0);
    const span = otel.spans()[0]!;
    expect(record!.obj).toMatchObject({
      querylens: 'slow-query',
      threshold_ms: 0,
      'db.query.fingerprint': fingerprint(text),
      'db.query.summary': `SELECT ${comments}`,
      'db.query.text': text,
      rows: 20,
      callsite: { file: 'test/integration/report/slow-query-log.test.ts' },
      scope: { name: 'comments page', kind: 'scope' },
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
    });
    expect(record!.obj['duration_ms']).toBeTypeOf('number');
    expect(record!.obj['pool_wait_ms']).toBeTypeOf('number');
    expect(record!.obj['plan']).toBeUndefined(); // production: no EXPLAIN unless asked
    expect(record!.msg).toMatch(new RegExp(`^slow query: SELECT ${comments} took [\\d.]+ ms \\(threshold 0 ms\\) at test/integration/report/slow-query-log\\.test\\.ts:\\d+$`));
    expect(allStrings(logger.records).join('\n')).not.toContain('p4r4m-value');

    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'slow-query', fingerprint: fingerprint(text), sql: text, count: 1, thresholdMs: 0, scope: { name: 'comments page' } });
  });

  it('records failures with their SQLSTATE and samples by sampleRate', async () => {
    const logger = captureLogger();
    const lens = createLens({ mode: 'production', logger, tracing: false, metrics: false, slowQuery: { thresholdMs: 0, sampleRate: 0.5 } });
    const pool = lens.instrument(db.pool({ max: 1 }));
    for (let i = 0; i < 4; i++) await pool.query('SELECT $1::int AS n', [i]);
    await pool.query('SELECT * FROM ql_no_such_table_anywhere').catch(() => undefined);
    await pool.query('SELECT 1 / $1::int', [0]).catch(() => undefined);
    await pool.end();
    await lens.close();
    const records = slowRecords(logger.records);
    expect(records).toHaveLength(3);
    expect(records.at(-1)!.obj['sqlstate']).toBe('22012');
  });

  it('does not report statements inside lens.ignore() or under the threshold', async () => {
    const logger = captureLogger();
    const lens = createLens({ mode: 'production', logger, tracing: false, metrics: false, slowQuery: { thresholdMs: 10_000 } });
    const pool = lens.instrument(db.pool({ max: 1 }));
    await pool.query('SELECT pg_sleep(0.02)');
    const ignoring = createLens({ mode: 'production', logger, tracing: false, metrics: false, slowQuery: { thresholdMs: 0 } });
    const other = ignoring.instrument(db.pool({ max: 1 }));
    await ignoring.ignore(() => other.query('SELECT 1'));
    await Promise.all([pool.end(), other.end()]);
    await Promise.all([lens.close(), ignoring.close()]);
    expect(slowRecords(logger.records)).toHaveLength(0);
  });

  it('explains a slow parameterized SELECT on a 50 000-row table: seq scan with its filter, and the index hint', async () => {
    const logger = captureLogger();
    const lens = createLens({ mode: 'production', logger, tracing: false, metrics: false, slowQuery: { thresholdMs: 0, explain: true } });
    const log = recordEvents(lens, ['query-end']);
    const pool = lens.instrument(db.pool({ max: 2 }));
    const text = `SELECT id, body FROM ${comments} WHERE post_id = $1`;
    const { rows } = await pool.query(text, [42]);
    expect(rows).toHaveLength(20);
    await pool.query(`INSERT INTO ${comments} (post_id, author, body) VALUES ($1, $2, $3)`, [99_999, 'a', 'b']);
    await pool.query(`DELETE FROM ${comments} WHERE post_id = $1`, [99_999]);
    await lens.close(); // waits for records that wait for their plan
    await pool.end();

    const select = recordFor(logger.records, /^SELECT id, body/);
    const insert = recordFor(logger.records, /^INSERT/);
    const plan = select!.obj['plan'] as PlanSummary;
    expect(plan.node).toBe(`Seq Scan on ${comments}`);
    expect(plan.totalCost).toBeGreaterThan(100);
    expect(plan.seqScans).toHaveLength(1);
    expect(plan.seqScans[0]).toMatchObject({ table: comments, columns: ['post_id'] });
    expect(plan.seqScans[0]!.tableRows).toBeGreaterThanOrEqual(45_000);
    // The custom plan prints the bound value; the record shows it sanitized.
    expect(plan.seqScans[0]!.filter).toBe(`(${comments}.post_id = ?)`);
    const hint = `sequential scan on ${comments} filtered by post_id — consider an index on ${comments}(post_id)`;
    expect(select!.obj['hint']).toBe(hint);
    expect(select!.msg).toContain(`— ${hint}`);
    expect(insert!.obj['plan']).toBeUndefined(); // only SELECTs are explained
    expect(insert!.obj['plan_unavailable']).toBeUndefined();

    // EXPLAIN ran as internal queries: never observed, never in the statistics.
    expect(log.ends().map((e) => e.text)).toEqual([text, expect.stringContaining('INSERT'), expect.stringContaining('DELETE')]);
    expect(lens.stats().some((s) => /EXPLAIN|pg_class|BEGIN|ROLLBACK/i.test(s.sql))).toBe(false);
    expect(formatTopQueries(lens.stats())).toContain(`SELECT ${comments}`);
  });

  it('reuses a plan per fingerprint and rate limits EXPLAINs per minute', async () => {
    const logger = captureLogger();
    const lens = createLens({ mode: 'production', logger, tracing: false, metrics: false, slowQuery: { thresholdMs: 0, explain: { maxPerMinute: 1 } } });
    const pool = lens.instrument(db.pool({ max: 2 }));
    await pool.query(`SELECT id FROM ${comments} WHERE author = $1`, ['author 5']);
    await new Promise((r) => setTimeout(r, 300)); // let the first EXPLAIN finish
    await pool.query(`SELECT id FROM ${comments} WHERE author = $1`, ['author 6']);
    await pool.query(`SELECT id FROM ${comments} WHERE body = $1`, ['nothing']);
    await lens.close();
    await pool.end();
    const records = slowRecords(logger.records);
    const outcome = (r: LogRecord): unknown => (r.obj['plan'] as PlanSummary | undefined)?.seqScans[0]?.columns ?? r.obj['plan_unavailable'];
    expect(records.filter((r) => /author/.test(String(r.obj['db.query.text']))).map(outcome)).toEqual([['author'], ['author']]);
    expect(outcome(recordFor(logger.records, /body = /))).toBe('rate-limited');
  });

  it('runs EXPLAIN ANALYZE only when asked, read-only and rolled back', async () => {
    const logger = captureLogger();
    const lens = createLens({ mode: 'production', logger, tracing: false, metrics: false, slowQuery: { thresholdMs: 0, explain: { analyze: true } } });
    const pool = lens.instrument(db.pool({ max: 2 }));
    await pool.query(`SELECT count(*) FROM ${comments} WHERE post_id = $1`, [7]);
    const before = (await pool.query(`SELECT nextval('${counter}') AS v`)).rows[0].v as string;
    await pool.query(`SELECT nextval($1::regclass) AS v`, [counter]);
    await lens.close();
    const after = (await pool.query(`SELECT last_value FROM ${counter}`)).rows[0].last_value as string;
    await pool.end();
    const analyzed = recordFor(logger.records, /count\(\*\)/);
    const sequence = recordFor(logger.records, /nextval\(\$1/);
    const plan = analyzed!.obj['plan'] as PlanSummary;
    expect(plan.actualTimeMs).toBeTypeOf('number');
    expect(plan.actualRows).toBe(1);
    // The application's own nextval ran; the EXPLAIN ANALYZE of it could not write (read-only) and changed nothing.
    expect(Number(after)).toBe(Number(before) + 1);
    expect(sequence!.obj['plan_unavailable']).toBe('failed');
  });

  it('gives up on an EXPLAIN that fails or times out: the query is unaffected, logged once at debug', async (ctx) => {
    // The failing EXPLAIN needs a temporary table only one connection can see.
    if (db.sharedSession) ctx.skip('the embedded PGlite shares one session between connections, so no temporary table is private to one connection and EXPLAIN cannot be made to fail');
    const logger = captureLogger();
    const lens = createLens({ mode: 'production', logger, tracing: false, metrics: false, slowQuery: { thresholdMs: 0, explain: { analyze: true, timeoutMs: 50 } } });
    const pool = lens.instrument(db.pool({ max: 3 }));
    // A standalone client's statements are explained on a pool to the same database; its temporary
    // table exists on its own connection only, so the EXPLAIN fails.
    const client = lens.instrument(db.client());
    await client.connect();
    await client.query('CREATE TEMP TABLE ql_only_here (id int)');
    expect((await client.query('SELECT id FROM ql_only_here WHERE id = $1', [1])).rows).toEqual([]);
    expect((await client.query('SELECT id FROM ql_only_here WHERE id = $1 AND id > $2', [1, 0])).rows).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    await client.end();
    // EXPLAIN ANALYZE runs the query: 50 ms of statement timeout stop it.
    expect((await pool.query('SELECT pg_sleep($1::float8) AS slept', [0.3])).rows).toHaveLength(1);
    await lens.close();
    await pool.end();
    expect(recordFor(logger.records, /^CREATE/).obj['plan_unavailable']).toBeUndefined();
    expect(recordFor(logger.records, /WHERE id = \$1$/).obj['plan_unavailable']).toBe('failed');
    expect(recordFor(logger.records, /AND id > \$2/).obj['plan_unavailable']).toBe('failed');
    expect(recordFor(logger.records, /pg_sleep/).obj['plan_unavailable']).toBe('timeout');
    const debug = logger.records.filter((r) => r.level === 'debug');
    expect(debug.map((r) => r.obj['failure'])).toEqual(['explain', 'explain-timeout']);
    expect(allStrings(debug).join('\n')).not.toContain('ql_only_here" does not exist');
  });
});
