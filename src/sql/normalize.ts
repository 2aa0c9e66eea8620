/**
 * `normalize(sql)`: the statement text as pg_stat_statements 18 shows it, for logs and for grouping
 * by eye: every constant becomes `$n`, numbered after the highest `$n` the text already uses, in
 * order of appearance; lists of constants are squashed the way PostgreSQL 18 squashes them.
 *
 * What PostgreSQL 18's query jumbling treats as one constant, and so what becomes one `$n` here:
 * - string constants of every form, numbers, TRUE/FALSE (A_Const in the grammar since 15), the
 *   string of a typed literal (`DATE '…'` → `DATE $1`);
 * - a number with a unary minus, whitespace allowed (`- 1` → `$1`): the grammar folds the minus
 *   into the constant; a unary plus is an operator and stays (`+$1`), and so does a minus before a
 *   cast number (`-1::int` is `-(1::int)` → `-$1::int`);
 * - `IN (c1, c2, …)` and `ARRAY[c1, c2, …]` with two or more constants (optionally cast, possibly
 *   parenthesised) become `IN ($n /*, ... *\/)` and `ARRAY[$n /*, ... *\/]`; one element is not
 *   squashed, and neither are lists holding `$n` parameters, expressions or subqueries (PostgreSQL
 *   18 squashes constants only);
 * - an integer that is a whole ORDER BY / GROUP BY item is a column position, not a constant, and
 *   stays (`ORDER BY 1`), as pg_stat_statements shows it; so do type modifiers, which become part
 *   of the type (`$1::numeric(10,2)`, `CAST($1 AS varchar(20))`).
 * Unlike pg_stat_statements, comments are removed, whitespace runs become one space, and trailing
 * semicolons are dropped, so the text is one tidy line. Unterminated strings (and quoted
 * identifiers) run to the end of the text and become one `$n`.
 *
 * One pass over the lexer's tokens; list squashing looks ahead inside the list once.
 */
import { CAT_RESERVED, KW, keywordCategory } from './keywords.js';
import { createLexed, lex, Tok, type Lexed } from './lexer.js';
import { isBooleanLiteral, isUnterminatedQuote } from './literal-tokens.js';

const own = createLexed();

export function normalize(sql: string): string {
  return normalizeLexed(lex(sql, own));
}

/** Per paren depth: 1 while inside an ORDER BY / GROUP BY list of a query (not a window). */
const sortList: number[] = [0];
/** Per paren depth: 1 when the parenthesis is a window definition (`OVER (…)`), where ORDER BY 1 sorts by a constant. */
const windowParen: number[] = [0];

export function normalizeLexed(t: Lexed): string {
  const text = t.text;
  let last = t.count - 1;
  while (last >= 0 && t.kind[last] === Tok.Semi) last--;
  if (last < 0) return '';
  let next = t.maxParam + 1;
  let out = '';
  let depth = 0;
  // Index of the `)` closing a type modifier, `numeric(10, 2)`: its numbers stay as written.
  let typmodEnd = -1;
  sortList[0] = 0;
  windowParen[0] = 0;

  for (let i = 0; i <= last; i++) {
    const sp = i > 0 && t.spaceBefore[i] === 1 ? ' ' : '';
    const k = t.kind[i]!;
    const s = t.start[i]!;
    const e = t.end[i]!;
    switch (k) {
      case Tok.String:
        out += sp + '$' + next++;
        continue;
      case Tok.QIdent:
        out += sp + (i === last && isUnterminatedQuote(t, i) ? '$' + next++ : text.slice(s, e));
        continue;
      case Tok.Number:
        out += sp + (i < typmodEnd || isPosition(t, i, last, depth) ? text.slice(s, e) : '$' + next++);
        continue;
      case Tok.Cast: {
        const m = typmodClose(t, i + 1, last, false);
        if (m > typmodEnd) typmodEnd = m;
        break;
      }
      case Tok.Op:
        if (e - s === 1 && text.charCodeAt(s) === 45 && i < last && foldsMinus(t, i) && unaryPosition(t, i)) {
          out += sp + '$' + next++;
          i++;
          continue;
        }
        break;
      case Tok.LParen:
      case Tok.LBracket: {
        depth++;
        sortList[depth] = 0;
        const p = i - 1;
        windowParen[depth] = p >= 0 && t.kind[p] === Tok.Ident && t.kw[p] === KW.OVER ? 1 : 0;
        break;
      }
      case Tok.RParen:
      case Tok.RBracket:
        if (depth > 0) depth--;
        break;
      case Tok.Semi:
        sortList[depth] = 0;
        break;
      case Tok.Ident: {
        const w = t.kw[i]!;
        if ((w === KW.IN && t.kind[i + 1] === Tok.LParen) || (w === KW.ARRAY && t.kind[i + 1] === Tok.LBracket)) {
          const close = squashEnd(t, i + 1, last);
          if (close > 0) {
            const open = w === KW.IN ? '(' : '[';
            const shut = w === KW.IN ? ')' : ']';
            out += sp + text.slice(s, e) + (t.spaceBefore[i + 1] === 1 ? ' ' : '') + open + '$' + next++ + ' /*, ... */' + shut;
            i = close;
            continue;
          }
        }
        if ((w === KW.TRUE || w === KW.FALSE) && isBooleanLiteral(t, i)) {
          out += sp + '$' + next++;
          continue;
        }
        if (w === KW.AS) {
          // CAST(x AS numeric(10, 2))
          const m = typmodClose(t, i + 1, last, true);
          if (m > typmodEnd) typmodEnd = m;
        }
        if (w === KW.BY) {
          const p = i - 1;
          const pw = p >= 0 && t.kind[p] === Tok.Ident ? t.kw[p] : 0;
          if ((pw === KW.ORDER || pw === KW.GROUP) && windowParen[depth] === 0) sortList[depth] = 1;
        } else if (w !== 0 && endsSortList(w)) sortList[depth] = 0;
        break;
      }
      default:
        break;
    }
    out += sp + text.slice(s, e);
  }
  return out;
}

/**
 * The `)` of a type modifier list after a type name starting at `j` (`numeric(10, 2)`,
 * `character varying(20)`), or -1. After AS only built-in type keywords count, so an alias with a
 * column list or a CTE body is never mistaken for one.
 */
function typmodClose(t: Lexed, j: number, last: number, keywordTypesOnly: boolean): number {
  if (j > last || (t.kind[j] !== Tok.Ident && t.kind[j] !== Tok.QIdent)) return -1;
  if (keywordTypesOnly && !isTypeKeyword(t.kw[j]!)) return -1;
  j++;
  while (j + 1 <= last && t.kind[j] === Tok.Dot && (t.kind[j + 1] === Tok.Ident || t.kind[j + 1] === Tok.QIdent)) j += 2;
  while (j <= last && t.kind[j] === Tok.Ident && (t.kw[j] === KW.VARYING || t.kw[j] === KW.PRECISION)) j++;
  if (j > last || t.kind[j] !== Tok.LParen) return -1;
  const m = t.match[j]!;
  return m <= last ? m : -1;
}

function isTypeKeyword(w: number): boolean {
  return (
    w === KW.NUMERIC || w === KW.DECIMAL || w === KW.DEC || w === KW.VARCHAR || w === KW.CHAR ||
    w === KW.CHARACTER || w === KW.NCHAR || w === KW.NATIONAL || w === KW.BIT || w === KW.FLOAT ||
    w === KW.TIMESTAMP || w === KW.TIME || w === KW.INTERVAL
  );
}

function endsSortList(w: number): boolean {
  return (
    w === KW.LIMIT || w === KW.OFFSET || w === KW.FETCH || w === KW.FOR || w === KW.HAVING ||
    w === KW.WINDOW || w === KW.UNION || w === KW.INTERSECT || w === KW.EXCEPT ||
    w === KW.RETURNING || w === KW.WHERE || w === KW.FROM || w === KW.SELECT || w === KW.ON ||
    w === KW.ORDER || w === KW.GROUP
  );
}

/** An integer that is a whole ORDER BY / GROUP BY item: PostgreSQL reads it as a column position. */
function isPosition(t: Lexed, i: number, last: number, depth: number): boolean {
  if (sortList[depth] !== 1) return false;
  const p = t.kind[i - 1];
  if (!(p === Tok.Comma || (p === Tok.Ident && t.kw[i - 1] === KW.BY))) return false;
  if (i === last) return true;
  const n = t.kind[i + 1];
  if (n === Tok.Comma || n === Tok.RParen || n === Tok.Semi) return true;
  if (n !== Tok.Ident) return false;
  const w = t.kw[i + 1]!;
  return w === KW.ASC || w === KW.DESC || w === KW.NULLS || w === KW.USING || (w !== 0 && endsSortList(w));
}

/**
 * A minus before a plain number: the grammar folds it into the constant. A cast binds tighter than
 * unary minus (`-1::int` is `-(1::int)`), so then the minus stays an operator.
 */
function foldsMinus(t: Lexed, i: number): boolean {
  return t.kind[i + 1] === Tok.Number && t.kind[i + 2] !== Tok.Cast;
}

/**
 * Whether the `-` at `i` is a unary minus: nothing before it, or something after which an operand
 * must start (an operator, an opening bracket, a comma, or a keyword that introduces an expression).
 */
function unaryPosition(t: Lexed, i: number): boolean {
  if (i === 0) return true;
  const p = i - 1;
  switch (t.kind[p]) {
    case Tok.Op: case Tok.LParen: case Tok.LBracket: case Tok.Comma: case Tok.Semi: case Tok.Colon:
      return true;
    case Tok.Ident: {
      const w = t.kw[p]!;
      if (w === 0) return false;
      switch (w) {
        // keywords that are themselves operands
        case KW.NULL: case KW.TRUE: case KW.FALSE: case KW.END: case KW.CURRENT_DATE:
        case KW.CURRENT_TIME: case KW.CURRENT_TIMESTAMP: case KW.LOCALTIME: case KW.LOCALTIMESTAMP:
        case KW.CURRENT_USER: case KW.SESSION_USER: case KW.USER: case KW.CURRENT_ROLE:
        case KW.CURRENT_CATALOG: case KW.CURRENT_SCHEMA: case KW.SYSTEM_USER:
          return false;
        // non-reserved words that still introduce an operand
        case KW.BETWEEN: case KW.LIKE: case KW.ILIKE: case KW.SIMILAR: case KW.BY: case KW.TO:
        case KW.ESCAPE: case KW.OVERLAPS: case KW.IS:
          return true;
        default:
          return keywordCategory(w) === CAT_RESERVED;
      }
    }
    default:
      return false;
  }
}

/** The closer of an IN (…) / ARRAY[…] list of two or more constants, or -1. */
function squashEnd(t: Lexed, open: number, last: number): number {
  const close = t.match[open]!;
  if (close > last || close <= open + 1) return -1;
  let j = open + 1;
  let items = 0;
  for (;;) {
    j = constItem(t, j, close, 4);
    if (j < 0) return -1;
    items++;
    if (j === close) return items >= 2 ? close : -1;
    if (t.kind[j] !== Tok.Comma) return -1;
    j++;
  }
}

/** End of one constant item starting at `j` (before `limit`), or -1: [(] [-]const [)] [::type]… */
function constItem(t: Lexed, j: number, limit: number, nest: number): number {
  const k = t.kind[j];
  if (k === Tok.LParen) {
    const m = t.match[j]!;
    if (nest === 0 || m >= limit || constItem(t, j + 1, m, nest - 1) !== m) return -1;
    j = m + 1;
  } else if (k === Tok.Number || k === Tok.String) {
    j++;
  } else if (k === Tok.Op && t.end[j]! - t.start[j]! === 1 && t.text.charCodeAt(t.start[j]!) === 45 && foldsMinus(t, j)) {
    j += 2;
  } else if (k === Tok.Ident && isBooleanLiteral(t, j)) {
    j++;
  } else if (k === Tok.Ident && t.kind[j + 1] === Tok.String && keywordCategory(t.kw[j]!) !== CAT_RESERVED) {
    // typed literal: DATE '2024-01-01', uuid '…'
    j += 2;
  } else return -1;
  while (j < limit && t.kind[j] === Tok.Cast) {
    j = typeNameEnd(t, j + 1, limit);
    if (j < 0) return -1;
  }
  return j > limit ? -1 : j;
}

function typeNameEnd(t: Lexed, j: number, limit: number): number {
  if (j >= limit || (t.kind[j] !== Tok.Ident && t.kind[j] !== Tok.QIdent)) return -1;
  j++;
  while (j + 1 < limit && t.kind[j] === Tok.Dot && (t.kind[j + 1] === Tok.Ident || t.kind[j + 1] === Tok.QIdent)) j += 2;
  while (j < limit && t.kind[j] === Tok.Ident) {
    const w = t.kw[j];
    if (w === KW.PRECISION || w === KW.VARYING || w === KW.WITH || w === KW.WITHOUT || w === KW.TIME || w === KW.ZONE) j++;
    else break;
  }
  if (j < limit && t.kind[j] === Tok.LParen) {
    const m = t.match[j]!;
    if (m >= limit) return -1;
    j = m + 1;
  }
  while (j < limit && t.kind[j] === Tok.LBracket) {
    const m = t.match[j]!;
    if (m >= limit) return -1;
    j = m + 1;
  }
  return j;
}
