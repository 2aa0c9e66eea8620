/**
 * The SQL toolkit's public surface: pure functions on SQL text, all built on one lexer pass.
 *
 * `fingerprint` reads the memoised SqlInfo of a module-level default analyser (a lens owns its own,
 * created with `createAnalyzer`, whose SqlInfo also carries the summary). `summarize`, `normalize`
 * and `sanitize` keep small memos of their own: the texts they are asked about repeat as much as
 * the fingerprinted ones, and each stands alone (a summary never waits on a fingerprint).
 * Every function throws a TypeError naming what it was given when that is not a string, and never
 * throws on any string.
 */
import { LRUCache } from 'lru-cache';
import { assertSql, createAnalyzer } from './analyze.js';
import { normalize as normalizeText } from './normalize.js';
import { sanitize as sanitizeText } from './sanitize.js';
import { summarize as summarizeText } from './summarize.js';

export { createAnalyzer } from './analyze.js';
export type { Analyzer, AnalyzerOptions } from './analyze.js';
export type { SqlInfo, StatementClass } from './sql-info.js';

const analyze = createAnalyzer();

/** Texts longer than this are computed but not memoised: they are rarely sent twice. */
const MEMO_MAX_TEXT = 16_384;
const MEMO_ENTRIES = 1000;

function memoised(fn: (sql: string) => string): (sql: string) => string {
  const memo = new LRUCache<string, string>({ max: MEMO_ENTRIES });
  return (sql: string): string => {
    const hit = memo.get(sql);
    if (hit !== undefined) return hit;
    const out = fn(sql);
    if (sql.length <= MEMO_MAX_TEXT) memo.set(sql, out);
    return out;
  };
}

/**
 * 16 lowercase hex digits that group statements the way libpg_query's fingerprint does: literals
 * and parameters, comments, whitespace, keyword case, aliases and list lengths do not matter.
 *
 * ```ts
 * fingerprint('SELECT * FROM posts WHERE id = 1') === fingerprint('select * from posts where id = $1')
 * ```
 */
export function fingerprint(sql: string): string {
  assertSql(sql, 'fingerprint');
  return analyze(sql).fingerprint;
}

/**
 * The OpenTelemetry `db.query.summary`: operations and targets in order, ≤ 255 characters, '' for
 * empty or comment-only text.
 *
 * ```ts
 * summarize('SELECT * FROM posts p JOIN users u ON u.id = p.user_id') // 'SELECT posts users'
 * ```
 */
export function summarize(sql: string): string {
  assertSql(sql, 'summarize');
  return summarizeMemo(sql);
}
const summarizeMemo = memoised(summarizeText);

/**
 * pg_stat_statements-18 style text: constants as `$n` after the highest existing parameter, constant
 * lists squashed to `IN ($n /*, ... *\/)`, comments removed, whitespace collapsed.
 *
 * ```ts
 * normalize("SELECT * FROM t WHERE id IN (1, 2, 3) AND a = $1") // 'SELECT * FROM t WHERE id IN ($2 /*, ... *\/) AND a = $1'
 * ```
 */
export function normalize(sql: string): string {
  assertSql(sql, 'normalize');
  return normalizeMemo(sql);
}
const normalizeMemo = memoised(normalizeText);

/**
 * The text with every literal replaced by `?` (OpenTelemetry `db.query.text` sanitization); `$n`
 * parameters, identifiers and structure kept, comments removed.
 *
 * ```ts
 * sanitize("SELECT * FROM users WHERE email = 'a@b.c' AND id = $1") // 'SELECT * FROM users WHERE email = ? AND id = $1'
 * ```
 */
export function sanitize(sql: string): string {
  assertSql(sql, 'sanitize');
  return sanitizeMemo(sql);
}
const sanitizeMemo = memoised(sanitizeText);
