/**
 * The top-queries table: rows by total time, highest first, aligned columns, the call site and the
 * sanitized SQL, cut to the width.
 */
import { describe, expect, it } from 'vitest';
import type { FingerprintStats } from '../../../src/report/stats-sink.js';
import { formatTopQueries } from '../../../src/report/top-queries.js';

function stats(summary: string, totalMs: number, count: number, sql = `${summary} WHERE id = $1`): FingerprintStats {
  return {
    fingerprint: summary.padEnd(16, '0').slice(0, 16),
    summary,
    sql,
    count,
    errors: 0,
    rows: count * 2,
    totalMs,
    meanMs: totalMs / count,
    p50Ms: totalMs / count,
    p95Ms: (totalMs / count) * 2,
    maxMs: (totalMs / count) * 3,
    callsites: summary === 'SELECT comments' ? [{ file: 'src/routes/posts.ts', line: 42, column: 7 }] : [],
  };
}

describe('formatTopQueries', () => {
  it('prints the statistics as a table sorted by total time', () => {
    const table = formatTopQueries([stats('SELECT users', 12.5, 5), stats('SELECT comments', 1523.4, 42), stats('INSERT audit', 80, 8)]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^#\s+total ms\s+calls\s+mean ms\s+p95 ms\s+max ms\s+rows\s+err\s+query$/);
    expect(lines[1]).toMatch(/^1\s+1523\s+42\s+36\.3\s+72\.5\s+108\.8\s+84\s+0\s+SELECT comments {2}src\/routes\/posts\.ts:42$/);
    expect(lines[2]!.trim()).toBe('SELECT comments WHERE id = $1');
    expect(lines[3]).toMatch(/^2\s+80\.0\s+8\s+.*INSERT audit$/);
    expect(lines[5]).toMatch(/^3\s+12\.5\s+5\s+/);
    // columns line up
    expect(lines[1]!.indexOf('SELECT')).toBe(lines[0]!.indexOf('query'));
  });

  it('honours limit, width and sql: false', () => {
    const long = stats('SELECT wide', 10, 1, `SELECT ${'a, '.repeat(100)}b FROM wide`);
    const table = formatTopQueries([long, stats('SELECT users', 5, 1)], { limit: 1, width: 80 });
    const lines = table.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]!.length).toBeLessThanOrEqual(80);
    expect(lines[2]!.endsWith('…')).toBe(true);
    expect(formatTopQueries([long], { sql: false }).split('\n')).toHaveLength(2);
  });

  it('says so when there is nothing, and refuses bad input', () => {
    expect(formatTopQueries([])).toBe('querylens: no queries recorded yet');
    expect(() => formatTopQueries([], { limit: 0 })).toThrow(TypeError);
    expect(() => formatTopQueries(undefined as never)).toThrow(TypeError);
  });
});
