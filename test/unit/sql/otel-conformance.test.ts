/**
 * OpenTelemetry's SQL test cases (semantic conventions, docs/non-normative/database-test-cases):
 * every case for PostgreSQL or generic SQL must sanitize to one of the expected `db.query.text`
 * values and summarize to the expected `db.query.summary`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sanitize, summarize } from '../../../src/sql/index.js';
import { sqlFixture } from './fixture-paths.js';

interface OtelCase {
  readonly name: string;
  readonly input: { readonly 'db.system.name': string; readonly query: string };
  readonly expected: { readonly 'db.query.text'?: readonly string[]; readonly 'db.query.summary'?: string };
}

const all = JSON.parse(readFileSync(sqlFixture('otel-db-sql-test-cases.json'), 'utf8')) as OtelCase[];
const cases = all.filter((c) => c.input['db.system.name'] === 'postgresql' || c.input['db.system.name'] === 'other_sql');

describe('OpenTelemetry db.query.text / db.query.summary test cases', () => {
  it('has PostgreSQL / generic SQL cases to check', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const texts = c.expected['db.query.text'];
    if (texts !== undefined) expect(texts).toContain(sanitize(c.input.query));
    const summary = c.expected['db.query.summary'];
    if (summary !== undefined) expect(summarize(c.input.query)).toBe(summary);
  });
});
