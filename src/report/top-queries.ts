/**
 * The per-process "top queries" report: `lens.stats()` (already sorted by total time) as a plain
 * text table, for the CLI, the demo, a debug endpoint or a shutdown hook. Pure formatting; the
 * statistics hold sanitized SQL only.
 *
 * ```text
 *  #  total ms  calls  mean ms  p95 ms  max ms   rows  err  query
 *  1    1523.4     42     36.3    80.2   120.5    420    0  SELECT comments  src/routes/posts.ts:42
 *                                                           SELECT * FROM comments WHERE post_id = $1
 * ```
 */
import type { FingerprintStats } from './stats-sink.js';

export interface TopQueriesOptions {
  /** Rows shown, highest total time first. Default 20. */
  readonly limit?: number;
  /** Line width the SQL line is cut to. Default 120. */
  readonly width?: number;
  /** Show each query's sanitized SQL on a second line. Default true. */
  readonly sql?: boolean;
}

function ms(n: number): string {
  return n >= 1000 ? n.toFixed(0) : n.toFixed(1);
}

/**
 * Formats per-fingerprint statistics as a table (sorted by total time, highest first). An empty
 * list gives a one-line note.
 * @example console.log(formatTopQueries(lens.stats(), { limit: 10 }));
 */
export function formatTopQueries(stats: readonly FingerprintStats[], options: TopQueriesOptions = {}): string {
  const limit = options.limit ?? 20;
  const width = options.width ?? 120;
  const showSql = options.sql ?? true;
  if (!Array.isArray(stats)) throw new TypeError('querylens: formatTopQueries() expects the array lens.stats() returns');
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`querylens: formatTopQueries() option "limit" must be a positive integer; got ${String(limit)}`);
  if (stats.length === 0) return 'querylens: no queries recorded yet';
  const rows = [...stats].sort((a, b) => b.totalMs - a.totalMs).slice(0, limit);
  const header = ['#', 'total ms', 'calls', 'mean ms', 'p95 ms', 'max ms', 'rows', 'err'];
  const cells = rows.map((s, i) => [String(i + 1), ms(s.totalMs), String(s.count), ms(s.meanMs), ms(s.p95Ms), ms(s.maxMs), String(s.rows), String(s.errors)]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c]!.length)));
  const pad = (values: readonly string[]): string => values.map((v, c) => v.padStart(widths[c]!)).join('  ');
  const indent = widths.reduce((a, b) => a + b, 0) + 2 * widths.length;
  const lines = [`${pad(header)}  query`];
  rows.forEach((s, i) => {
    const where = s.callsites[0] === undefined ? '' : `  ${s.callsites[0].file}:${s.callsites[0].line}`;
    lines.push(`${pad(cells[i]!)}  ${s.summary === '' ? '(empty)' : s.summary}${where}`);
    if (showSql && s.sql !== '') {
      const oneLine = s.sql.replace(/\s+/g, ' ').trim();
      const room = Math.max(20, width - indent);
      lines.push(`${' '.repeat(indent)}${oneLine.length > room ? `${oneLine.slice(0, room - 1)}…` : oneLine}`);
    }
  });
  return lines.join('\n');
}
