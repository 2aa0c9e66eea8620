/**
 * The one lexer every SQL function in querylens runs on: a single char-code pass over the text
 * that follows PostgreSQL's lexing rules (scan.l) closely enough to never mistake a literal for
 * code or code for a literal, and never throws.
 *
 * It writes tokens into a reusable struct of typed arrays (no per-token objects): kind, start/end
 * offsets in the text, two 32-bit hash lanes of the token's normalised text (identifiers
 * lower-cased unless quoted, so `Posts`, `posts` and `"posts"` hash the same), the keyword id for
 * words that are keywords, and the index of the matching bracket for `(`/`[`/`CASE`.
 *
 * Unterminated strings, quoted identifiers and comments run to the end of the input, as in
 * PostgreSQL: nothing after an opening quote is ever taken as code.
 */
import { keywordId, KW } from './keywords.js';

export const Tok = {
  /** unquoted word: identifier or keyword (see `kw`) */
  Ident: 1,
  /** "quoted identifier" or U&"…" */
  QIdent: 2,
  /** any string constant: '…', E'…', U&'…', B'…', X'…', N'…', $tag$…$tag$ */
  String: 3,
  Number: 4,
  /** $1, $2 … */
  Param: 5,
  /** a `?` placeholder in operand position (JDBC-style drivers) */
  QMark: 6,
  Op: 7,
  LParen: 8,
  RParen: 9,
  LBracket: 10,
  RBracket: 11,
  Comma: 12,
  Semi: 13,
  Dot: 14,
  /** `::` */
  Cast: 15,
  /** a lone `:` (array slices, named placeholders) */
  Colon: 16,
} as const;
export type TokKind = (typeof Tok)[keyof typeof Tok];

/** The token stream of one text. Arrays are reused between calls; read only up to `count`. */
export interface Lexed {
  text: string;
  count: number;
  kind: Uint8Array;
  start: Int32Array;
  end: Int32Array;
  /** hash lane A of the normalised token text (identifiers, keywords, operators) */
  ha: Int32Array;
  /** hash lane B */
  hb: Int32Array;
  /** keyword id (KW.*) for Ident tokens that are keywords, else 0 */
  kw: Uint16Array;
  /** for `(`, `[` and CASE: index of the matching closer (or `count` when unclosed); else -1 */
  match: Int32Array;
  /** 1 when whitespace or a comment precedes the token */
  spaceBefore: Uint8Array;
  /** a comment was seen anywhere */
  hasComment: boolean;
  /** highest $n */
  maxParam: number;
  /** number of `;` tokens (0: the text is one statement, no need to look for separators) */
  semis: number;
  /** number of AND / OR / BETWEEN words (0: no expression needs a search for boolean operators) */
  bools: number;
}

const INITIAL = 256;

export function createLexed(): Lexed {
  return {
    text: '',
    count: 0,
    kind: new Uint8Array(INITIAL),
    start: new Int32Array(INITIAL),
    end: new Int32Array(INITIAL),
    ha: new Int32Array(INITIAL),
    hb: new Int32Array(INITIAL),
    kw: new Uint16Array(INITIAL),
    match: new Int32Array(INITIAL),
    spaceBefore: new Uint8Array(INITIAL),
    hasComment: false,
    maxParam: 0,
    semis: 0,
    bools: 0,
  };
}

function grow(t: Lexed): void {
  const n = t.kind.length * 2;
  const k = new Uint8Array(n); k.set(t.kind); t.kind = k;
  const s = new Int32Array(n); s.set(t.start); t.start = s;
  const e = new Int32Array(n); e.set(t.end); t.end = e;
  const a = new Int32Array(n); a.set(t.ha); t.ha = a;
  const b = new Int32Array(n); b.set(t.hb); t.hb = b;
  const w = new Uint16Array(n); w.set(t.kw); t.kw = w;
  const m = new Int32Array(n); m.set(t.match); t.match = m;
  const sp = new Uint8Array(n); sp.set(t.spaceBefore); t.spaceBefore = sp;
}

// Character classes (PostgreSQL scan.l): ident_start [A-Za-z\200-\377_], ident_cont adds [0-9$].
// One table load per character instead of a chain of comparisons.
const CC_START = 1;
const CC_CONT = 2;
const CC_SPACE = 4;
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
  if (letter) CLASS[c] = CC_START | CC_CONT;
  if ((c >= 48 && c <= 57) || c === 36) CLASS[c] = CC_CONT;
  if (c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11) CLASS[c] = CC_SPACE;
}
/** ASCII identifier-continue characters mapped to their lower-cased code; 0 for anything else. */
const IDENT_LOWER = new Uint8Array(128);
for (let c = 0; c < 128; c++) if ((CLASS[c]! & CC_CONT) !== 0) IDENT_LOWER[c] = c >= 65 && c <= 90 ? c + 32 : c;
function isIdentStart(c: number): boolean {
  return c >= 128 || (CLASS[c]! & CC_START) !== 0;
}
function isIdentCont(c: number): boolean {
  return c >= 128 || (CLASS[c]! & CC_CONT) !== 0;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isSpace(c: number): boolean {
  return c < 128 && CLASS[c] === CC_SPACE;
}
// Operator characters: + - * / < > = ~ ! @ # % ^ & | ` ?
function isOpChar(c: number): boolean {
  switch (c) {
    case 43: case 45: case 42: case 47: case 60: case 62: case 61: case 126: case 33:
    case 64: case 35: case 37: case 94: case 38: case 124: case 96: case 63:
      return true;
    default:
      return false;
  }
}
// Characters that let a multi-char operator end in + or - (scan.l "self"/"op_chars" rule).
function isOpSpecial(c: number): boolean {
  return c === 126 || c === 33 || c === 64 || c === 35 || c === 94 || c === 38 || c === 124 || c === 96 || c === 63 || c === 37;
}

// FNV-1a (lane A) and a multiply-xorshift (lane B) over normalised chars.
const FNV_OFFSET = 0x811c9dc5 | 0;
const LANE_B_SEED = 0x3c6ef372 | 0;

/** Hash of a whole string as the lexer would hash an unquoted identifier (lower-cased). */
export function hashWord(word: string): [number, number] {
  let a = FNV_OFFSET;
  let b = LANE_B_SEED;
  for (let i = 0; i < word.length; i++) {
    let c = word.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    a = Math.imul(a ^ c, 0x01000193);
    b = (Math.imul(b, 31) + c) | 0;
  }
  return [a ^ word.length, b];
}

// First-character dispatch for the main loop: one table load and one switch per token instead of
// a chain of tests (space? comment? identifier? quote? digit? …) that every token ran through.
const D_OTHER = 0;
const D_SPACE = 1;
const D_IDENT = 2;
const D_QUOTE = 3;
const D_DQUOTE = 4;
const D_DIGIT = 5;
const D_DOLLAR = 6;
const D_DOT = 7;
const D_LPAREN = 8;
const D_RPAREN = 9;
const D_LBRACKET = 10;
const D_RBRACKET = 11;
const D_COMMA = 12;
const D_SEMI = 13;
const D_COLON = 14;
const D_OP = 15;
const DISPATCH = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  let d = D_OTHER;
  if (CLASS[c] === CC_SPACE) d = D_SPACE;
  else if ((CLASS[c]! & CC_START) !== 0) d = D_IDENT;
  else if (c >= 48 && c <= 57) d = D_DIGIT;
  else if (isOpChar(c)) d = D_OP;
  else {
    switch (c) {
      case 39: d = D_QUOTE; break;
      case 34: d = D_DQUOTE; break;
      case 36: d = D_DOLLAR; break;
      case 46: d = D_DOT; break;
      case 40: d = D_LPAREN; break;
      case 41: d = D_RPAREN; break;
      case 91: d = D_LBRACKET; break;
      case 93: d = D_RBRACKET; break;
      case 44: d = D_COMMA; break;
      case 59: d = D_SEMI; break;
      case 58: d = D_COLON; break;
    }
  }
  DISPATCH[c] = d;
}

/**
 * Scans `text` into `t` (reusing its arrays). Never throws; linear in the input length.
 */
export function lex(text: string, t: Lexed): Lexed {
  const n = text.length;
  t.text = text;
  t.hasComment = false;
  t.maxParam = 0;
  let count = 0;
  let i = 0;
  let space = 0;
  let semis = 0;
  let bools = 0;
  // Bracket matching: a small stack of open token indexes. CASE pairs with END.
  let stack = bracketStack;
  let sp = 0;
  // The previous significant token kind, to tell a `?` placeholder from the jsonb `?` operator.
  let prevKind = 0;
  // Local references to the output arrays (re-read after growth): stores through `t.kind[…]`
  // would reload the field on every token.
  let kindA = t.kind;
  let startA = t.start;
  let endA = t.end;
  let haA = t.ha;
  let hbA = t.hb;
  let kwA = t.kw;
  let matchA = t.match;
  let spaceA = t.spaceBefore;

  while (i < n) {
    const c = text.charCodeAt(i);
    const d = c < 128 ? DISPATCH[c]! : D_IDENT;

    if (d === D_SPACE) {
      space = 1;
      i++;
      while (i < n) {
        const x = text.charCodeAt(i);
        if (x >= 128 || CLASS[x] !== CC_SPACE) break;
        i++;
      }
      continue;
    }
    if (d === D_OP) {
      const next = text.charCodeAt(i + 1);
      // -- comment
      if (c === 45 && next === 45) {
        i += 2;
        while (i < n) {
          const x = text.charCodeAt(i);
          if (x === 10 || x === 13) break;
          i++;
        }
        t.hasComment = true;
        space = 1;
        continue;
      }
      // /* nested */ comment
      if (c === 47 && next === 42) {
        i = blockCommentEnd(text, i, n);
        t.hasComment = true;
        space = 1;
        continue;
      }
    }

    if (count === kindA.length) {
      grow(t);
      kindA = t.kind;
      startA = t.start;
      endA = t.end;
      haA = t.ha;
      hbA = t.hb;
      kwA = t.kw;
      matchA = t.match;
      spaceA = t.spaceBefore;
    }
    const tokStart = i;
    let kind: number = 0;
    let ha = 0;
    let hb = 0;
    let kw = 0;

    switch (d) {
      case D_IDENT: {
        // String prefixes: E'…', B'…', X'…', N'…', U&'…', U&"…" (only looked at when the next
        // character is a quote or `&`, so plain words pay one comparison)
        const next = text.charCodeAt(i + 1);
        if (next === 39) {
          if (c === 69 || c === 101) {
            i = scanEString(text, i + 2);
            kind = Tok.String;
          } else if (c === 66 || c === 98 || c === 88 || c === 120 || c === 78 || c === 110) {
            i = scanQuoted(text, i + 2, 39);
            kind = Tok.String;
          }
        } else if (next === 38 && (c === 85 || c === 117)) {
          const third = text.charCodeAt(i + 2);
          if (third === 39) {
            i = scanQuoted(text, i + 3, 39);
            kind = Tok.String;
          } else if (third === 34) {
            const s = i + 3;
            i = scanQuoted(text, s, 34);
            kind = Tok.QIdent;
            const e = closingEnd(text, s, i, 34);
            ha = hashQuoted(text, s, e, 0);
            hb = hashQuoted(text, s, e, 1);
          }
        }
        if (kind === 0) {
          let a = FNV_OFFSET;
          let b = LANE_B_SEED;
          while (i < n) {
            let x = text.charCodeAt(i);
            if (x < 128) {
              // one table load does both the continue-test and the lower-casing
              x = IDENT_LOWER[x]!;
              if (x === 0) break;
            }
            a = Math.imul(a ^ x, 0x01000193);
            b = (Math.imul(b, 31) + x) | 0;
            i++;
          }
          ha = a ^ (i - tokStart);
          hb = b;
          kind = Tok.Ident;
          kw = keywordId(text, tokStart, i, ha);
          if (kw !== 0) {
            if (kw === KW.AND || kw === KW.OR || kw === KW.BETWEEN) bools++;
            else if (kw === KW.CASE) {
              if (sp === stack.length) stack = growStack();
              stack[sp++] = count;
            } else if (kw === KW.END) sp = closeBracket(kindA, kwA, matchA, stack, sp, 0, count);
          }
        }
        break;
      }
      case D_QUOTE:
        i = scanQuoted(text, i + 1, 39);
        kind = Tok.String;
        break;
      case D_DQUOTE: {
        const s = i + 1;
        i = scanQuoted(text, s, 34);
        kind = Tok.QIdent;
        const e = closingEnd(text, s, i, 34);
        ha = hashQuoted(text, s, e, 0);
        hb = hashQuoted(text, s, e, 1);
        break;
      }
      case D_DIGIT: {
        // Fast path for the common plain integer (`1`, `42`): digits followed by a character
        // that cannot continue a number; anything else (`.`, `_`, `e`, `0x…`) takes scanNumber.
        // A number token cost ~1.5× a word before this (scanNumber's call and re-reads).
        let j = i + 1;
        let x = text.charCodeAt(j);
        while (x >= 48 && x <= 57) x = text.charCodeAt(++j);
        if (x === 46 || x === 95 || (x | 32) === 101 || (c === 48 && j === i + 1 && ((x | 32) === 120 || (x | 32) === 111 || (x | 32) === 98))) i = scanNumber(text, i);
        else i = j;
        kind = Tok.Number;
        break;
      }
      case D_DOT:
        if (isDigit(text.charCodeAt(i + 1))) {
          i = scanNumber(text, i);
          kind = Tok.Number;
        } else {
          i++;
          kind = Tok.Dot;
        }
        break;
      case D_DOLLAR: {
        const x = text.charCodeAt(i + 1);
        if (isDigit(x)) {
          let v = 0;
          i++;
          while (i < n && isDigit(text.charCodeAt(i))) {
            if (v < 1e9) v = v * 10 + (text.charCodeAt(i) - 48);
            i++;
          }
          // `$1abc` is a syntax error in PostgreSQL; keep the trailing word out of the param.
          kind = Tok.Param;
          if (v > t.maxParam) t.maxParam = v;
        } else {
          const tagEnd = dollarTagEnd(text, i);
          if (tagEnd > 0) {
            i = scanDollar(text, i, tagEnd);
            kind = Tok.String;
          } else {
            // A stray `$`: treat as a one-char operator so it is neither lost nor a literal.
            i++;
            kind = Tok.Op;
            ha = 36;
            hb = 36 * 31;
          }
        }
        break;
      }
      case D_LPAREN:
      case D_LBRACKET:
        i++;
        kind = d === D_LPAREN ? Tok.LParen : Tok.LBracket;
        if (sp === stack.length) stack = growStack();
        stack[sp++] = count;
        break;
      case D_RPAREN:
      case D_RBRACKET:
        i++;
        kind = d === D_RPAREN ? Tok.RParen : Tok.RBracket;
        // written before closeBracket reads it (it compares the opener kinds only)
        sp = closeBracket(kindA, kwA, matchA, stack, sp, d === D_RPAREN ? Tok.LParen : Tok.LBracket, count);
        break;
      case D_COMMA:
        i++;
        kind = Tok.Comma;
        break;
      case D_SEMI:
        i++;
        kind = Tok.Semi;
        semis++;
        break;
      case D_COLON:
        i++;
        if (text.charCodeAt(i) === 58) {
          i++;
          kind = Tok.Cast;
        } else if (text.charCodeAt(i) === 61) {
          i++;
          kind = Tok.Op; // := is the old spelling of => (named argument): hash them alike
          ha = ARROW_A;
          hb = ARROW_B;
        } else kind = Tok.Colon;
        break;
      case D_OP: {
        i++;
        // Greedy operator, stopping before a comment start, then PostgreSQL's rule: a
        // multi-char operator may not end in + or - unless it contains a special char.
        let special = isOpSpecial(c);
        while (i < n) {
          const x = text.charCodeAt(i);
          if (!isOpChar(x)) break;
          if ((x === 45 && text.charCodeAt(i + 1) === 45) || (x === 47 && text.charCodeAt(i + 1) === 42)) break;
          if (isOpSpecial(x)) special = true;
          i++;
        }
        if (!special) {
          while (i - tokStart > 1) {
            const last = text.charCodeAt(i - 1);
            if (last === 43 || last === 45) i--;
            else break;
          }
        }
        if (c === 63 && i - tokStart === 1 && !endsOperand(prevKind)) {
          kind = Tok.QMark;
        } else {
          kind = Tok.Op;
          let a = FNV_OFFSET;
          let b = LANE_B_SEED;
          for (let j = tokStart; j < i; j++) {
            const x = text.charCodeAt(j);
            a = Math.imul(a ^ x, 0x01000193);
            b = (Math.imul(b, 31) + x) | 0;
          }
          ha = a;
          hb = b;
        }
        break;
      }
      default:
        // Any other character (backslash, braces, control chars): an operator-like token of
        // its own, so the scan always advances.
        i++;
        kind = Tok.Op;
        ha = c | 0x10000;
        hb = Math.imul(c, 0x9e3779b1);
    }

    kindA[count] = kind;
    startA[count] = tokStart;
    endA[count] = i;
    haA[count] = ha;
    hbA[count] = hb;
    kwA[count] = kw;
    // closers record their match on the opener (a lower index), so this never overwrites one
    matchA[count] = -1;
    spaceA[count] = space;
    space = 0;
    prevKind = kind;
    count++;
  }
  // Unclosed openers match the end of the stream.
  for (let s = 0; s < sp; s++) matchA[stack[s]!] = count;
  t.count = count;
  t.semis = semis;
  t.bools = bools;
  return t;
}

/**
 * Pops the bracket stack for a closer at token `at`: to the nearest opener of the right sort
 * (`want` LParen/LBracket, or 0 for END closing a CASE) and records the match. Unmatched closers
 * are left alone. Returns the new stack depth.
 */
function closeBracket(kindA: Uint8Array, kwA: Uint16Array, matchA: Int32Array, stack: Int32Array, sp: number, want: number, at: number): number {
  for (let s = sp - 1; s >= 0; s--) {
    const o = stack[s]!;
    const ok = want === 0 ? kwA[o] === KW.CASE : kindA[o] === want;
    if (ok) {
      matchA[o] = at;
      return s;
    }
    // a CASE without END inside parentheses: let the parenthesis close over it
    if (want !== 0 && kwA[o] === KW.CASE) continue;
    if (want === 0) break; // END that closes no CASE (END of a block): ignore
  }
  return sp;
}

/**
 * End of the `/* … *\/` comment starting at i (which holds the slash), nested as PostgreSQL nests
 * them; `n` when it is unterminated.
 */
export function blockCommentEnd(text: string, i: number, n: number): number {
  let depth = 1;
  i += 2;
  while (i < n && depth > 0) {
    const d = text.charCodeAt(i);
    if (d === 42 && text.charCodeAt(i + 1) === 47) {
      depth--;
      i += 2;
    } else if (d === 47 && text.charCodeAt(i + 1) === 42) {
      depth++;
      i += 2;
    } else i++;
  }
  return i;
}

/** Open-bracket token indexes (module scratch, grown by doubling; never shrinks). */
let bracketStack: Int32Array = new Int32Array(64);
function growStack(): Int32Array {
  const next = new Int32Array(bracketStack.length * 2);
  next.set(bracketStack);
  bracketStack = next;
  return next;
}
const ARROW_A = (() => {
  let a = FNV_OFFSET;
  for (const c of [61, 62]) a = Math.imul(a ^ c, 0x01000193);
  return a;
})();
const ARROW_B = (() => {
  let b = LANE_B_SEED;
  for (const c of [61, 62]) b = (Math.imul(b, 31) + c) | 0;
  return b;
})();

function endsOperand(kind: number): boolean {
  return (
    kind === Tok.Ident || kind === Tok.QIdent || kind === Tok.String || kind === Tok.Number ||
    kind === Tok.Param || kind === Tok.QMark || kind === Tok.RParen || kind === Tok.RBracket
  );
}

/** Scans a '…' or "…" body starting after the opening quote; doubled quotes escape. Returns the end. */
function scanQuoted(text: string, i: number, q: number): number {
  const n = text.length;
  for (;;) {
    // Literals are mostly short: a char loop finds the quote before indexOf's call overhead is
    // paid (~10% per string token in a micro-benchmark); longer bodies still go to indexOf.
    let j = i;
    const lim = n - i > 24 ? i + 24 : n;
    while (j < lim && text.charCodeAt(j) !== q) j++;
    if (j === lim) {
      if (lim === n) return n;
      j = text.indexOf(q === 39 ? "'" : '"', lim);
      if (j < 0) return n;
    }
    const after = text.charCodeAt(j + 1);
    if (after === q) {
      i = j + 2;
      continue;
    }
    // String continuation: 'a'<whitespace with newline>'b' is one constant (only possible when
    // whitespace follows the quote).
    if (q === 39 && after < 128 && CLASS[after] === CC_SPACE) {
      const k = continuation(text, j + 1);
      if (k > 0) {
        i = k + 1;
        continue;
      }
    }
    return j + 1;
  }
}

function continuation(text: string, i: number): number {
  const n = text.length;
  let newline = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) newline = true;
    else if (!isSpace(c)) break;
    i++;
  }
  return newline && text.charCodeAt(i) === 39 ? i : -1;
}

/** E'…': backslash escapes anything, doubled quotes too. */
function scanEString(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 92) {
      i += 2;
      continue;
    }
    if (c === 39) {
      if (text.charCodeAt(i + 1) === 39) {
        i += 2;
        continue;
      }
      const k = continuation(text, i + 1);
      if (k > 0) {
        i = k + 1;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return n;
}

/** Returns the index just past the closing `$` of a dollar-quote tag at `i`, or -1. */
function dollarTagEnd(text: string, i: number): number {
  const n = text.length;
  let j = i + 1;
  if (j < n && text.charCodeAt(j) === 36) return j + 1;
  if (j >= n || !isIdentStart(text.charCodeAt(j))) return -1;
  j++;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === 36) return j + 1;
    // tags are identifier characters without `$`
    if (!isIdentCont(c)) return -1;
    j++;
  }
  return -1;
}

function scanDollar(text: string, i: number, tagEnd: number): number {
  const tag = text.slice(i, tagEnd);
  const j = text.indexOf(tag, tagEnd);
  return j < 0 ? text.length : j + tag.length;
}

function scanNumber(text: string, i: number): number {
  const n = text.length;
  const c0 = text.charCodeAt(i);
  const c1 = text.charCodeAt(i + 1) | 32;
  if (c0 === 48 && (c1 === 120 || c1 === 111 || c1 === 98)) {
    // 0x1F, 0o17, 0b101 (PostgreSQL 16+), with _ separators
    let j = i + 2;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (isIdentCont(d) && d !== 36) j++;
      else break;
    }
    return j;
  }
  let j = i;
  while (j < n && (isDigit(text.charCodeAt(j)) || (text.charCodeAt(j) === 95 && isDigit(text.charCodeAt(j + 1))))) j++;
  if (text.charCodeAt(j) === 46 && text.charCodeAt(j + 1) !== 46) {
    j++;
    while (j < n && (isDigit(text.charCodeAt(j)) || (text.charCodeAt(j) === 95 && isDigit(text.charCodeAt(j + 1))))) j++;
  }
  const e = text.charCodeAt(j) | 32;
  if (e === 101) {
    let k = j + 1;
    const s = text.charCodeAt(k);
    if (s === 43 || s === 45) k++;
    if (isDigit(text.charCodeAt(k))) {
      j = k;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
    }
  }
  return j;
}

/** End of a quoted body (index of the closing quote, or the text end when unterminated). */
function closingEnd(text: string, s: number, end: number, q: number): number {
  return end > s && text.charCodeAt(end - 1) === q && end - 1 >= s ? end - 1 : end;
}

/** Hash of a quoted identifier's content with "" unescaped, matching hashWord of the same name. */
function hashQuoted(text: string, s: number, e: number, lane: number): number {
  let a = FNV_OFFSET;
  let b = LANE_B_SEED;
  let len = 0;
  for (let j = s; j < e; j++) {
    const d = text.charCodeAt(j);
    if (d === 34 && text.charCodeAt(j + 1) === 34) j++;
    a = Math.imul(a ^ d, 0x01000193);
    b = (Math.imul(b, 31) + d) | 0;
    len++;
  }
  return lane === 0 ? a ^ len : b;
}

/** The normalised text of an identifier token (lower-cased unless quoted, quotes removed). */
export function identText(t: Lexed, i: number): string {
  const s = t.start[i]!;
  const e = t.end[i]!;
  if (t.kind[i] === Tok.QIdent) {
    const body = t.text.charCodeAt(s) === 34 ? s + 1 : s + 3;
    const close = e > body && t.text.charCodeAt(e - 1) === 34 ? e - 1 : e;
    return t.text.slice(body, close).replace(/""/g, '"');
  }
  return t.text.slice(s, e).toLowerCase();
}

export function isLiteralKind(kind: number): boolean {
  return kind === Tok.String || kind === Tok.Number;
}
