/**
 * Small questions about single tokens that sanitize and normalize both ask: is this quote left
 * open at the end of the text, is this TRUE/FALSE a boolean constant. They read the lexer's
 * tokens and look at characters only inside one token, so they add nothing to the one scan.
 */
import { KW } from './keywords.js';
import { Tok, type Lexed } from './lexer.js';

/**
 * True when token `i` is a string constant or quoted identifier whose closing quote is missing:
 * the lexer then ran it to the end of the text, as PostgreSQL does, and everything in it (including
 * what looks like code) must be treated as the literal's body.
 */
export function isUnterminatedQuote(t: Lexed, i: number): boolean {
  const text = t.text;
  const e = t.end[i]!;
  // Only a token that reaches the end of the text can be unterminated.
  if (e !== text.length) return false;
  const s = t.start[i]!;
  const k = t.kind[i];
  if (k === Tok.QIdent) {
    const body = text.charCodeAt(s) === 34 ? s + 1 : s + 3;
    return !closes(text, body, e, 34, false);
  }
  if (k !== Tok.String) return false;
  const c = text.charCodeAt(s);
  if (c === 36) {
    // $tag$ … $tag$: closed when the text ends with the tag and the tag appears twice
    const tagEnd = text.indexOf('$', s + 1) + 1;
    const tagLen = tagEnd - s;
    if (tagEnd <= 0 || e - s < 2 * tagLen) return true;
    return !text.startsWith(text.slice(s, tagEnd), e - tagLen);
  }
  let q = s;
  while (q < e && text.charCodeAt(q) !== 39) q++;
  const backslashEscapes = (c | 32) === 101 && q === s + 1;
  return !closes(text, q + 1, e, 39, backslashEscapes);
}

/** Re-reads a quoted body from `i` (after the opening quote) and says whether it closes exactly at `e`. */
function closes(text: string, i: number, e: number, quote: number, backslashEscapes: boolean): boolean {
  while (i < e) {
    const c = text.charCodeAt(i);
    if (backslashEscapes && c === 92) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (i + 1 < e && text.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      if (i + 1 === e) return true;
      // 'a'<newline>'b' continuation: the lexer kept going, so skip to the next opening quote
      let j = i + 1;
      while (j < e && text.charCodeAt(j) !== quote) j++;
      i = j + 1;
      continue;
    }
    i++;
  }
  return false;
}

/**
 * TRUE/FALSE used as a value. `x IS TRUE` / `x IS NOT FALSE` are predicates (BooleanTest in
 * PostgreSQL's grammar), not constants, so they stay as written.
 */
export function isBooleanLiteral(t: Lexed, i: number): boolean {
  if (t.kind[i] !== Tok.Ident) return false;
  const w = t.kw[i];
  if (w !== KW.TRUE && w !== KW.FALSE) return false;
  let p = i - 1;
  if (p >= 0 && t.kind[p] === Tok.Ident && t.kw[p] === KW.NOT) p--;
  return !(p >= 0 && t.kind[p] === Tok.Ident && t.kw[p] === KW.IS);
}

/** A one-character `+` or `-` operator token touching the number that follows it. */
export function isSignTouching(t: Lexed, i: number): boolean {
  if (i + 1 >= t.count || t.kind[i] !== Tok.Op || t.end[i]! - t.start[i]! !== 1) return false;
  if (t.kind[i + 1] !== Tok.Number || t.end[i] !== t.start[i + 1]) return false;
  const c = t.text.charCodeAt(t.start[i]!);
  return c === 43 || c === 45;
}
