/**
 * `db.query.text` as spans and log records show it: a parameterized text (values travel apart, as
 * `$n`) as is; a text with inline literals sanitized (every literal → `?`); comments removed (they
 * may carry anything, from a sqlcommenter traceparent to a customer id); cut to a maximum length.
 * Computed once per distinct text: the memo is keyed by the text's SqlInfo, which the lens's
 * analyser memoises per text, so the steady state is one WeakMap lookup.
 */
import type { SqlInfo } from '../core/sql-info.js';
import { sanitize } from '../sql/index.js';

/** Cuts `text` to at most `max` UTF-16 units, ending in `…` when cut, never inside a surrogate pair. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** The text with literals and comments removed when it has any; the text itself otherwise. */
export function safeQueryText(text: string, sql: SqlInfo): string {
  return sql.hasLiterals || text.includes('--') || text.includes('/*') ? sanitize(text) : text;
}

export class QueryTextMemo {
  readonly #max: number;
  readonly #memo = new WeakMap<SqlInfo, string>();

  constructor(maxLength: number) {
    this.#max = maxLength;
  }

  /** `db.query.text` for this statement, or undefined when pg never saw its text (a named statement reused). */
  get(text: string, sql: SqlInfo): string | undefined {
    if (text === '') return undefined;
    const hit = this.#memo.get(sql);
    if (hit !== undefined) return hit;
    const out = truncateText(safeQueryText(text, sql), this.#max);
    this.#memo.set(sql, out);
    return out;
  }
}
