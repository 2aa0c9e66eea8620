/**
 * `sanitize(sql)`: the text with every literal replaced by `?`, for `db.query.text` on spans and
 * for logs when a statement carries inline values (OpenTelemetry "Sanitization of db.query.text").
 *
 * Rules, in the order the OpenTelemetry SQL test cases pin them down:
 * - string constants of every PostgreSQL form ('…', E'…', U&'…', B'…', X'…', N'…', $tag$…$tag$)
 *   and numbers (integers, decimals, exponents, hex/octal/binary, 1_000) become `?`;
 * - a `+`/`-` touching a number belongs to it (`-12` → `?`, `99+100` → `??`, as the test cases
 *   expect: the sign may carry information and the reference sanitizers lex it with the number);
 * - TRUE/FALSE used as values become `?` (the conventions list Boolean literals), `IS TRUE` stays;
 * - a type word before a string stays (`DATE '2024-01-01'` → `DATE ?`, `guid '…'` → `guid ?`);
 * - `$1` parameters, `?` placeholders, identifiers (quoted or not), operators, NULL stay as written;
 * - comments are removed and the whitespace around them kept (a comment that separated two tokens
 *   with no whitespace leaves one space, so tokens never merge); leading and trailing whitespace
 *   that held a comment goes with it, so comment-only text sanitizes to '';
 * - an IN list made only of literals collapses to `IN (?)` (the conventions allow it; it keeps
 *   cardinality and length down);
 * - an unterminated string or quoted identifier swallows the rest of the text: `?` and nothing after.
 *   If the text ends that way and an earlier plain string contains `\'`, the cut starts at that
 *   string: with backslash escapes (standard_conforming_strings off, MySQL-minded clients) the
 *   quotes pair differently, and what PostgreSQL's default reading calls code in between may be
 *   the body of a value.
 *
 * One pass over the lexer's tokens; gaps between tokens are only looked into when the lexer saw a
 * comment somewhere.
 */
import { KW } from './keywords.js';
import { blockCommentEnd, createLexed, lex, Tok, type Lexed } from './lexer.js';
import { isBooleanLiteral, isSignTouching, isUnterminatedQuote } from './literal-tokens.js';

const own = createLexed();

export function sanitize(sql: string): string {
  return sanitizeLexed(lex(sql, own));
}

export function sanitizeLexed(t: Lexed): string {
  const text = t.text;
  const n = t.count;
  const comments = t.hasComment;
  if (n === 0) return comments ? gapText(text, 0, text.length, false) : text;

  const cut = cutIndex(t);
  let out = '';
  // Start of the text not yet copied to `out`; everything between `pos` and the current token is
  // copied verbatim when the next replacement happens.
  let pos = 0;
  let prevEnd = 0;

  for (let i = 0; i < n; i++) {
    const s = t.start[i]!;
    if (comments && s > prevEnd && pos <= prevEnd) {
      // The gap before this token holds whitespace and comments only: keep the whitespace.
      out += text.slice(pos, prevEnd) + gapText(text, prevEnd, s, i > 0);
      pos = s;
    }
    if (i >= cut) {
      out += text.slice(pos, s) + '?';
      return out;
    }
    const k = t.kind[i];
    if (k === Tok.String || k === Tok.Number || (k === Tok.Ident && isBooleanLiteral(t, i))) {
      out += text.slice(pos, s) + '?';
      pos = t.end[i]!;
    } else if (k === Tok.Op && isSignTouching(t, i)) {
      // the sign and the number are one literal
      out += text.slice(pos, s) + '?';
      i++;
      pos = t.end[i]!;
    } else if (k === Tok.Ident && t.kw[i] === KW.IN && t.kind[i + 1] === Tok.LParen) {
      const close = literalListEnd(t, i + 1, cut);
      if (close > 0) {
        const e = t.end[i]!;
        const open = t.start[i + 1]!;
        // `IN /* … */ (` — the gap before the parenthesis may hold a comment too
        out += text.slice(pos, e) + (comments && open > e ? gapText(text, e, open, true) : text.slice(e, open)) + '(?';
        pos = t.start[close]!;
        i = close - 1;
      }
    }
    prevEnd = t.end[i]!;
  }
  if (comments && prevEnd < text.length && pos <= prevEnd) {
    out += text.slice(pos, prevEnd) + gapText(text, prevEnd, text.length, false);
    pos = text.length;
  }
  return out + text.slice(pos);
}

/**
 * The index of the `)` closing an IN list whose items are all literals (optionally signed), or -1.
 */
function literalListEnd(t: Lexed, open: number, cut: number): number {
  const close = t.match[open]!;
  if (close >= t.count || close >= cut || close <= open + 1) return -1;
  let j = open + 1;
  for (;;) {
    if (isSignTouching(t, j)) j++;
    const k = t.kind[j];
    if (!(k === Tok.String || k === Tok.Number || (k === Tok.Ident && isBooleanLiteral(t, j)))) return -1;
    j++;
    if (j === close) return close;
    if (t.kind[j] !== Tok.Comma) return -1;
    j++;
  }
}

/** Token index from which everything is one unterminated literal (`count` when none). */
function cutIndex(t: Lexed): number {
  const last = t.count - 1;
  if (!isUnterminatedQuote(t, last)) return t.count;
  const text = t.text;
  for (let i = 0; i < last; i++) {
    if (t.kind[i] !== Tok.String) continue;
    const s = t.start[i]!;
    const c = text.charCodeAt(s) | 32;
    // plain '…' and N'…' only: E'…' already uses backslash escapes, $$ has none, B/X hold no quotes
    if (c !== 39 && !(c === 110 && text.charCodeAt(s + 1) === 39)) continue;
    const e = t.end[i]! - 1;
    for (let j = s + 1; j < e; j++) if (text.charCodeAt(j) === 92 && text.charCodeAt(j + 1) === 39) return i;
  }
  return last;
}

/**
 * The whitespace of a gap made of whitespace and comments, comments dropped. Between two tokens,
 * a gap of comments only leaves one space so the tokens stay apart; at the start or end of the
 * text, a gap that held a comment leaves nothing (no stray newline where a leading `-- name: …`
 * comment was).
 */
function gapText(text: string, s: number, e: number, between: boolean): string {
  let out = '';
  let i = s;
  let run = s;
  let sawComment = false;
  while (i < e) {
    const c = text.charCodeAt(i);
    if (c === 45 && text.charCodeAt(i + 1) === 45) {
      out += text.slice(run, i);
      sawComment = true;
      i += 2;
      while (i < e) {
        const d = text.charCodeAt(i);
        if (d === 10 || d === 13) break;
        i++;
      }
      run = i;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      out += text.slice(run, i);
      sawComment = true;
      i = blockCommentEnd(text, i, e);
      run = i;
    } else i++;
  }
  if (!between) return sawComment ? '' : text.slice(s, e);
  out += text.slice(run, e);
  return out === '' ? ' ' : out;
}
