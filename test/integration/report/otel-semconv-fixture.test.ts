/**
 * OpenTelemetry's SQL test cases (semantic conventions, docs/non-normative/database-test-cases)
 * through the real span path: every PostgreSQL / generic SQL case is sent to PostgreSQL (inside a
 * transaction that is rolled back; statements PostgreSQL rejects still get their span) and the
 * span's `db.query.text` must be one of the expected texts and its `db.query.summary` (and name)
 * the expected summary.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens } from 'querylens';
import { testDatabase, type TestDatabase } from '../../helpers/database.js';
import { createOtel } from './otel-harness.js';

interface OtelCase {
  readonly name: string;
  readonly input: { readonly 'db.system.name': string; readonly query: string };
  readonly expected: { readonly 'db.query.text'?: readonly string[]; readonly 'db.query.summary'?: string };
}

const fixture = fileURLToPath(new URL('../../../../shared/fixtures/sql/otel-db-sql-test-cases.json', import.meta.url));
const cases = (JSON.parse(readFileSync(fixture, 'utf8')) as OtelCase[]).filter(
  (c) => c.input['db.system.name'] === 'postgresql' || c.input['db.system.name'] === 'other_sql',
);

describe('OpenTelemetry SQL test cases through the span path', () => {
  let db: TestDatabase;
  const otel = createOtel();
  const outcome = new Map<string, 'ok' | 'rejected'>();

  beforeAll(async () => {
    db = await testDatabase();
    const lens = createLens({ mode: 'production', logger: false, slowQuery: false, metrics: false, tracing: { tracerProvider: otel.tracerProvider } });
    const client = lens.instrument(db.client());
    await client.connect();
    for (const c of cases) {
      await client.query('BEGIN');
      try {
        await client.query(c.input.query);
        outcome.set(c.name, 'ok');
      } catch {
        outcome.set(c.name, 'rejected');
      }
      await client.query('ROLLBACK');
    }
    await client.end();
    await lens.close();
  });

  afterAll(async () => {
    await db.close();
  });

  it('has the cases, and PostgreSQL runs some of them and rejects others', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect([...outcome.values()]).toContain('ok');
    expect([...outcome.values()]).toContain('rejected');
  });

  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
    // Spans in order: BEGIN, the case, ROLLBACK for each case.
    const span = otel.spans().filter((s) => s.kind === SpanKind.CLIENT)[3 * i + 1]!;
    expect(span.attributes['querylens.fingerprint']).toBeTypeOf('string');
    const texts = c.expected['db.query.text'];
    if (texts !== undefined) expect(texts).toContain(span.attributes['db.query.text']);
    const summary = c.expected['db.query.summary'];
    if (summary !== undefined) {
      expect(span.attributes['db.query.summary']).toBe(summary);
      expect(span.name).toBe(summary);
    }
    if (outcome.get(c.name) === 'rejected') expect(span.attributes['db.response.status_code']).toMatch(/^[0-9A-Z]{5}$/);
  });
});
