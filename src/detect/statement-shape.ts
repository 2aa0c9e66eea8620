/**
 * Where values enter a statement, read from the lexer's tokens at report time (never per query):
 * each `$n` parameter and each inline literal is a slot, with the column it is compared to when
 * the statement says so plainly (`post_id = $1`, `"Comment"."postId" IN ($1)`, `id = ANY($1)`,
 * `$1 = id`). Linking a loop to its parent compares slot values with result-row values, and the
 * slot's column tells which parent column plausibly fed it. The same slot is where the batched
 * statement puts `= ANY($1)`.
 */
import { KW } from '../sql/keywords.js';
import { createLexed, identText, isLiteralKind, lex, Tok, type Lexed } from '../sql/lexer.js';
import { sanitize } from '../sql/index.js';
import { MAX_LINKED_SLOTS } from './limits.js';

export interface Slot {
  /** 1-based `$n`, or 0 for an inline literal. */
  readonly param: number;
  /** For an inline literal: its ordinal among the text's literals; else -1. */
  readonly literal: number;
  /** The column compared with the slot (last part of a qualified name), when recognisable. */
  readonly column: string | undefined;
  /** How the slot is compared: `col = X`, `col IN (X)`, `col = ANY(X)`, or something else. */
  readonly form: '=' | 'in' | 'any' | 'other';
  /** Token index of the slot in the representative text. */
  readonly token: number;
}

export interface StatementShape {
  readonly slots: readonly Slot[];
  /** Inline literals in the text. */
  readonly literalCount: number;
}

const scratch = createLexed();

function isOp(t: Lexed, i: number, op: string): boolean {
  return i >= 0 && i < t.count && t.kind[i] === Tok.Op && t.end[i]! - t.start[i]! === op.length && t.text.startsWith(op, t.start[i]!);
}

function isColumnToken(t: Lexed, i: number): boolean {
  if (i < 0 || i >= t.count) return false;
  const k = t.kind[i];
  return k === Tok.QIdent || (k === Tok.Ident && (t.kw[i] === 0 || !RESERVED_NOT_COLUMNS.has(t.kw[i]!)));
}

/** Keywords that sit where a column would and are never one. */
const RESERVED_NOT_COLUMNS: ReadonlySet<number> = new Set([KW.SELECT, KW.FROM, KW.WHERE, KW.AND, KW.OR, KW.NOT, KW.IN, KW.ANY, KW.SOME, KW.ALL, KW.CASE, KW.WHEN, KW.THEN, KW.ELSE, KW.END, KW.EXISTS, KW.ARRAY]);

function slotAt(t: Lexed, i: number, param: number, literal: number): Slot {
  let column: string | undefined;
  let form: Slot['form'] = 'other';
  const j = i - 1;
  if (isOp(t, j, '=')) {
    form = '=';
    if (isColumnToken(t, j - 1)) column = identText(t, j - 1);
  } else if (j >= 0 && t.kind[j] === Tok.LParen) {
    const w = t.kw[j - 1];
    if ((w === KW.ANY || w === KW.SOME) && isOp(t, j - 2, '=')) {
      form = 'any';
      if (isColumnToken(t, j - 3)) column = identText(t, j - 3);
    } else if (w === KW.IN) {
      form = 'in';
      if (isColumnToken(t, j - 2)) column = identText(t, j - 2);
    }
  } else if (isOp(t, i + 1, '=') && isColumnToken(t, i + 2)) {
    // `$1 = "t"."id"`: the column is the last part of the qualified name
    let c = i + 2;
    while (c + 2 < t.count && t.kind[c + 1] === Tok.Dot && isColumnToken(t, c + 2)) c += 2;
    column = identText(t, c);
    form = '=';
  }
  return { param, literal, column, form, token: i };
}

/** The slots of `text` (parameters first by number, then literals in order), at most MAX_LINKED_SLOTS. */
export function statementShape(text: string): StatementShape {
  const t = lex(text, scratch);
  const slots: Slot[] = [];
  let literals = 0;
  for (let i = 0; i < t.count; i++) {
    const k = t.kind[i];
    if (k === Tok.Param) {
      const n = Number(text.slice(t.start[i]! + 1, t.end[i]!));
      if (slots.length < MAX_LINKED_SLOTS && Number.isInteger(n) && n > 0 && !slots.some((s) => s.param === n)) slots.push(slotAt(t, i, n, -1));
    } else if (isLiteralKind(k!)) {
      if (slots.length < MAX_LINKED_SLOTS) slots.push(slotAt(t, i, 0, literals));
      literals++;
    }
  }
  return { slots, literalCount: literals };
}

/** The values of the inline literals of `text`, in order, as comparable text (see value-keys). */
export function literalValues(text: string): string[] {
  const t = lex(text, scratch);
  const out: string[] = [];
  for (let i = 0; i < t.count; i++) {
    if (!isLiteralKind(t.kind[i]!)) continue;
    const raw = text.slice(t.start[i]!, t.end[i]!);
    if (t.kind[i] === Tok.Number) {
      const negative = i > 0 && isOp(t, i - 1, '-') && t.end[i - 1] === t.start[i] && !(i > 1 && (t.kind[i - 2] === Tok.Number || t.kind[i - 2] === Tok.Ident || t.kind[i - 2] === Tok.RParen || t.kind[i - 2] === Tok.Param));
      out.push(negative ? `-${raw}` : raw);
    } else {
      out.push(unquote(raw));
    }
  }
  return out;
}

function unquote(raw: string): string {
  const c = raw.charCodeAt(0);
  if (c === 39) return raw.slice(1, raw.endsWith("'") && raw.length > 1 ? -1 : undefined).replace(/''/g, "'");
  if (c === 36) {
    const tagEnd = raw.indexOf('$', 1) + 1;
    return tagEnd > 0 && raw.length >= 2 * tagEnd ? raw.slice(tagEnd, raw.length - tagEnd) : raw;
  }
  if ((c | 32) === 101 && raw.charCodeAt(1) === 39) {
    return raw.slice(2, raw.endsWith("'") ? -1 : undefined).replace(/\\(.)/g, '$1').replace(/''/g, "'");
  }
  return raw;
}

/**
 * `text` rewritten to take all the loop's keys at once through `slot`: `col = $1` and `col IN ($1)`
 * become `col = ANY($1)` (an inline literal becomes the next free `$n`), and the rest is sanitized.
 * Undefined when the slot is not a plain comparison.
 */
export function batchedStatement(text: string, slot: Slot): string | undefined {
  if (slot.form !== '=' && slot.form !== 'in') return undefined;
  const t = lex(text, scratch);
  const i = slot.token;
  if (i >= t.count) return undefined;
  const param = slot.param > 0 ? `$${slot.param}` : `$${t.maxParam + 1}`;
  let start = t.start[i]!;
  let end = t.end[i]!;
  let cast = '';
  if (i + 2 < t.count && t.kind[i + 1] === Tok.Cast && t.kind[i + 2] === Tok.Ident) {
    cast = `::${text.slice(t.start[i + 2]!, t.end[i + 2]!)}[]`;
    end = t.end[i + 2]!;
  }
  let replacement = `ANY(${param}${cast})`;
  if (slot.form === 'in') {
    // `col IN ($1)` → `col = ANY($1)`: replace from IN to its closing parenthesis (one-element lists only)
    const open = i - 1;
    const close = t.match[open]!;
    if (close !== i + 1 && !(cast !== '' && close === i + 3)) return undefined;
    start = t.start[open - 1]!;
    end = t.end[close]!;
    replacement = `= ANY(${param}${cast})`;
  }
  return sanitize(text.slice(0, start) + replacement + text.slice(end));
}

/** The tables of a statement without schema and quotes, for matching `post_id` to `posts`. */
export function bareTable(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot === -1 ? name : name.slice(dot + 1)).replace(/"/g, '').toLowerCase();
}

/** `categories` → `category`, `posts` → `post`, `addresses` → `address`. */
export function singular(word: string): string {
  if (word.endsWith('ies') && word.length > 3) return `${word.slice(0, -3)}y`;
  if (word.endsWith('sses') || word.endsWith('xes') || word.endsWith('ches') || word.endsWith('shes')) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us') && !word.endsWith('is')) return word.slice(0, -1);
  return word;
}

function norm(name: string): string {
  return name.toLowerCase().replace(/_/g, '');
}

/**
 * Whether a parent's `parentColumn` (from `parentTables`) can plausibly feed a child's
 * `childColumn` (of `childTables`): the same name (`post_id` → `post_id`, `id` → `id`), a foreign
 * key looked up by id (`post_id` → `posts.id`), or ids looked up through the foreign key that
 * names their table (`posts.id` → `post_id`).
 */
export function columnsCompatible(childColumn: string, childTables: readonly string[], parentColumn: string, parentTables: readonly string[]): boolean {
  return linkStrength(childColumn, childTables, parentColumn, parentTables) > 0;
}

/**
 * How plausibly, and how specifically, a parent's column feeds a child's column (memoised): 0 not
 * at all; 3 when one names the other's table (`author_id` → `authors.id`, `posts.id` → `post_id`);
 * 2 for the same name (`post_id` → `post_id`); 1 for a weaker match (`id` → `id`, `writer_id` →
 * `authors.id`). The strength chooses between several columns of one parent that all held the
 * loop's values (`posts.author_id` over `posts.id` for a loop on `authors.id`).
 */
export function linkStrength(childColumn: string, childTables: readonly string[], parentColumn: string, parentTables: readonly string[]): number {
  const key = `${childColumn}\u0000${childTables.join('\u0001')}\u0000${parentColumn}\u0000${parentTables.join('\u0001')}`;
  let known = strengths.get(key);
  if (known === undefined) {
    known = decideStrength(childColumn, childTables, parentColumn, parentTables);
    if (strengths.size >= MAX_COMPATIBILITY_MEMO) strengths.clear();
    strengths.set(key, known);
  }
  return known;
}

/** Column pairs decided so far (the same few pairs come back in every request). */
const MAX_COMPATIBILITY_MEMO = 1000;
const strengths = new Map<string, number>();

/**
 * The names a table's rows may be referred to by in a foreign key: `posts` → `post`, `posts`, and
 * with a prefix (`wp_posts`, `blog_post_comments`) each `_`-suffix too (`posts`, `post_comments`, `comments`).
 */
function entityNames(table: string): string[] {
  const bare = bareTable(table);
  const names: string[] = [];
  let rest = bare;
  for (;;) {
    names.push(norm(singular(rest)), norm(rest));
    const cut = rest.indexOf('_');
    if (cut === -1 || cut === rest.length - 1) return names;
    rest = rest.slice(cut + 1);
  }
}

function decideStrength(childColumn: string, childTables: readonly string[], parentColumn: string, parentTables: readonly string[]): number {
  const c = norm(childColumn);
  const p = norm(parentColumn);
  if (c === p) return c === 'id' ? 1 : 2;
  if (c === 'id') {
    if (!p.endsWith('id') && !p.endsWith('uuid')) return 0;
    return childTables.some((tb) => entityNames(tb).some((name) => p === `${name}id`)) ? 3 : 1;
  }
  if (p === 'id') return parentTables.some((tb) => entityNames(tb).some((name) => c === `${name}id`)) ? 3 : 0;
  return 0;
}
