/**
 * What the primary-key cache must know about a statement text before it may cache it, read from one
 * pass of the SQL toolkit's lexer (no regexes, no parser), memoised per text:
 *
 * - whether it is a single read (`SELECT`/`WITH … SELECT`/`VALUES`/`TABLE`), optionally followed by
 *   one `;` — anything else is refused with a TypeError (a write through the cache would bypass
 *   the write tracking, and a multi-statement text cannot be wrapped);
 * - what makes it uncacheable: a locking clause (`FOR UPDATE/SHARE/NO KEY UPDATE/KEY SHARE`),
 *   a volatile or time-dependent function (`now()`, `random()`, `nextval()`, `gen_random_uuid()`,
 *   `clock_timestamp()`, `CURRENT_TIMESTAMP` …), a temporary table (`pg_temp.x`), an unrepeatable
 *   `TABLESAMPLE`;
 * - the relations it names (from the analyser's SqlInfo) and the functions it calls (the catalog
 *   is asked whether any of those is volatile);
 * - the body to embed in the cache's own statement (the text without a trailing `;`).
 */
import { LRUCache } from 'lru-cache';
import { createAnalyzer } from '../sql/index.js';
import { KW } from '../sql/keywords.js';
import { createLexed, identText, lex, Tok } from '../sql/lexer.js';

export type UncacheableReason = 'locking-clause' | 'volatile-function' | 'temp-table';

export interface StatementCheck {
  /** Why the text can never be cached, or undefined. */
  readonly uncacheable: UncacheableReason | undefined;
  /** Relation names as written (lower-cased unless quoted, schema-qualified when written so). */
  readonly relations: readonly string[];
  /** Names of functions the text calls (lower-cased unless quoted), for the volatility check. */
  readonly functions: readonly string[];
  /** The text without a trailing semicolon (and whatever follows it), safe to embed in a CTE. */
  readonly body: string;
  /** Highest `$n` the text uses. */
  readonly maxParam: number;
}

/**
 * Functions whose result changes between calls with the same arguments (volatile), or within a
 * transaction's lifetime (now(), current_timestamp: stable, but a cached list would freeze them).
 */
const VOLATILE_FUNCTIONS: ReadonlySet<string> = new Set([
  'now', 'random', 'random_normal', 'setseed', 'nextval', 'currval', 'lastval', 'setval',
  'gen_random_uuid', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4', 'uuidv4', 'uuidv7',
  'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timeofday', 'pg_sleep',
  'txid_current', 'pg_current_xact_id', 'localtimestamp', 'localtime', 'current_timestamp',
  'current_date', 'current_time', 'age',
]);

/** Keywords that read the clock without parentheses. */
const CLOCK_KEYWORDS: ReadonlySet<number> = new Set([KW.CURRENT_TIMESTAMP, KW.CURRENT_DATE, KW.CURRENT_TIME, KW.LOCALTIME, KW.LOCALTIMESTAMP]);

const lexed = createLexed();
const analyze = createAnalyzer({ memoMax: 0 });

function check(text: string): StatementCheck {
  const info = analyze(text);
  const what = info.command === '' ? 'an empty text' : `a ${info.command} statement`;
  if (info.statementClass !== 'read' && !(info.statementClass === 'session' && info.command === 'SELECT')) {
    throw new TypeError(`querylens: cache.query() text must be one read statement (SELECT, WITH … SELECT, VALUES, TABLE); got ${what}`);
  }
  const t = lex(text, lexed);
  let end = text.length;
  let uncacheable: UncacheableReason | undefined;
  const functions: string[] = [];
  for (let i = 0; i < t.count; i++) {
    const kind = t.kind[i]!;
    if (kind === Tok.Semi) {
      // one trailing semicolon (and comments after it) is fine; a second statement is not
      if (i !== t.count - 1) throw new TypeError('querylens: cache.query() text must be a single statement; it contains several');
      end = t.start[i]!;
      break;
    }
    if (kind !== Tok.Ident && kind !== Tok.QIdent) continue;
    const kw = kind === Tok.Ident ? t.kw[i]! : 0;
    const next = i + 1 < t.count ? t.kind[i + 1] : -1;
    const nextKw = i + 1 < t.count && t.kind[i + 1] === Tok.Ident ? t.kw[i + 1]! : 0;
    if (kw === KW.FOR && (nextKw === KW.UPDATE || nextKw === KW.SHARE || nextKw === KW.NO || nextKw === KW.KEY)) {
      uncacheable ??= 'locking-clause';
    } else if (CLOCK_KEYWORDS.has(kw)) {
      uncacheable ??= 'volatile-function';
    } else if (kw === KW.TABLESAMPLE && !hasRepeatable(t, i)) {
      uncacheable ??= 'volatile-function';
    } else if (next === Tok.LParen && (kw === 0 || kind === Tok.QIdent)) {
      const name = identText(t, i);
      if (VOLATILE_FUNCTIONS.has(name)) uncacheable ??= 'volatile-function';
      if (!functions.includes(name)) functions.push(name);
    } else if (next === Tok.Dot && kind === Tok.Ident && /^pg_temp(_\d+)?$/.test(identText(t, i))) {
      uncacheable ??= 'temp-table';
    }
  }
  // Locking clauses come first: they decide the reason a caller sees.
  return Object.freeze({
    uncacheable,
    relations: info.tables,
    functions: Object.freeze(functions),
    body: end === text.length ? text : text.slice(0, end),
    maxParam: info.maxParam,
  });
}

function hasRepeatable(t: ReturnType<typeof lex>, from: number): boolean {
  for (let i = from + 1; i < t.count && i < from + 40; i++) {
    if (t.kind[i] === Tok.Ident && identText(t, i) === 'repeatable') return true;
  }
  return false;
}

const memo = new LRUCache<string, StatementCheck>({ max: 2000 });

/** Checks a text (memoised); throws a TypeError for anything that is not one read statement. */
export function checkStatement(text: string): StatementCheck {
  const hit = memo.get(text);
  if (hit !== undefined) return hit;
  const result = check(text);
  if (text.length <= 16_384) memo.set(text, result);
  return result;
}
