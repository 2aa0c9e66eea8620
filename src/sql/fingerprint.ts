/**
 * Structural fingerprint over the lexer's tokens, grouping statements the way libpg_query's
 * fingerprint (version 3, libpg_query 17) does, without building a parse tree.
 *
 * libpg_query hashes the parse tree and deliberately ignores: constants and parameters (A_Const,
 * ParamRef, casts of them), aliases (table and select-list), locations, and the order and
 * duplicates of the items of a few lists (select list, FROM list, INSERT columns, IN lists,
 * VALUES lists, function/boolean arguments). `x IN (…)` and `x = ANY(…)` are hashed as `x = …`,
 * so a constant IN list of any length, `= ANY($1)` and `= $1` group together. Relation names
 * drop runs of two or more digits (partitions such as events_2024_01).
 *
 * This module reproduces those equivalences from tokens: each construct mixes markers and token
 * hashes into a running two-lane 32-bit state; order-insensitive lists hash each item into its own
 * digest, then mix the sorted, de-duplicated digests. Literals mix nothing, exactly as an A_Const
 * writes nothing in libpg_query. Redundant parentheses around a whole item are transparent.
 *
 * Everything here is non-reentrant module state reused across calls (no per-token allocation);
 * all loops advance, so any input finishes in time roughly linear in its length.
 */
import { CAT_COLNAME, CAT_UNRESERVED, KW, keywordCategory } from './keywords.js';
import { Tok, type Lexed } from './lexer.js';

// ---------------------------------------------------------------------------------------------
// Hash state
//
// Hot module state is declared with `var`: reads of module-level `let` bindings from other
// functions carry a temporal-dead-zone check on every access, which showed up on this path.

const SEED_A = 0x2545f491 | 0;
const SEED_B = 0x7f4a7c15 | 0;
var SA = SEED_A;
var SB = SEED_B;
/** whether the current frame mixed anything */
var SW = 0;

function mix(x: number, y: number): void {
  let a = Math.imul(SA ^ x, 0x85ebca6b);
  a ^= a >>> 15;
  let b = Math.imul(SB ^ y, 0xc2b2ae35);
  b = (b << 13) | (b >>> 19);
  SA = (a + (b >>> 7)) | 0;
  SB = b ^ a;
  SW = 1;
}

/** Markers: fixed pairs mixed for structure that has no token of its own. */
function marker(n: number): void {
  mix(Math.imul(n, 0x9e3779b1) ^ 0x5bd1e995, Math.imul(n + 0x632be5ab, 0x85ebca77));
}
const M = {
  Stmt: 1, SelectItem: 2, FromItem: 3, SortedEnd: 4, And: 5, Or: 6, Func: 7, Star: 8,
  Cast: 9, InEq: 10, InNe: 11, SubIn: 12, SubOp: 13, Exists: 14, SubExpr: 15, Array: 16,
  ArraySub: 17, Row: 18, Case: 19, When: 20, Else: 21, Group: 22, Join: 23, On: 24,
  UsingCols: 25, Relation: 26, Schema: 27, Clause: 28, SortItem: 29, Limit: 30, Values: 31,
  ValuesRow: 32, Cols: 33, Assign: 34, Between: 35, NotBetween: 36, Like: 37, NotLike: 38,
  ILike: 39, NotILike: 40, IsNull: 41, IsNotNull: 42, IsTrue: 43, IsNotTrue: 44, IsFalse: 45,
  IsNotFalse: 46, IsDistinct: 47, IsNotDistinct: 48, Subscript: 49, Dot: 50, Distinct: 51,
  DistinctOn: 52, AggDistinct: 53, AggOrder: 54, Ordered: 55, Ties: 56, Lateral: 57,
  OpAll: 58, Not: 59, Generic: 60, Similar: 61, NotSimilar: 62, IsUnknown: 63,
  IsNotUnknown: 64, Collate: 65, Default: 66, Cte: 67, Returning: 68, Conflict: 69, Natural: 70,
  JoinLeft: 71, JoinRight: 72, JoinFull: 73, Neg: 74, Window: 75, Filter: 76, Over: 77,
  Only: 78, Param: 79, Uescape: 80,
} as const;

// Scratch stack for sortable lists: 53-bit item keys.
var scratch = new Float64Array(256);
var sp = 0;

function pushKey(key: number): void {
  if (sp === scratch.length) {
    const next = new Float64Array(scratch.length * 2);
    next.set(scratch);
    scratch = next;
  }
  scratch[sp++] = key;
}

/** Current frame's digest as a 53-bit key. */
function frameKey(): number {
  let a = SA ^ (SB >>> 16);
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  let b = SB ^ (SA >>> 15);
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 16;
  return (a >>> 0) * 2097152 + (b >>> 11);
}

function mixKey(key: number): void {
  const hi = Math.floor(key / 2097152);
  const lo = key - hi * 2097152;
  mix(hi | 0, lo | 0);
}

/** Sorts scratch[base, sp), mixes each distinct key, resets sp. Returns the distinct count. */
function mixSorted(base: number): number {
  const n = sp - base;
  if (n <= 0) {
    sp = base;
    return 0;
  }
  if (n <= 16) {
    for (let i = base + 1; i < sp; i++) {
      const v = scratch[i]!;
      let j = i - 1;
      while (j >= base && scratch[j]! > v) {
        scratch[j + 1] = scratch[j]!;
        j--;
      }
      scratch[j + 1] = v;
    }
  } else {
    scratch.subarray(base, sp).sort();
  }
  let prev = -1;
  let distinct = 0;
  for (let i = base; i < sp; i++) {
    const k = scratch[i]!;
    if (k !== prev) {
      mixKey(k);
      distinct++;
      prev = k;
    }
  }
  sp = base;
  return distinct;
}

// ---------------------------------------------------------------------------------------------
// Token access (module state for the statement being hashed)

var T: Lexed;
var K: Uint8Array;
var W: Uint16Array;
var HA: Int32Array;
var HB: Int32Array;
var MATCH: Int32Array;
var ignoreSchema = false;
/** the text has no AND / OR / BETWEEN word at all (set per scan from the lexer's count) */
var noBools = false;
/** relation token ranges seen, for SqlInfo.tables: [nameStart, nameEnd, written] triples */
var relOut: number[] = [];
var relCount = 0;
var cteCount = 0;
let cteNames: number[] = [];
var listLens: number[] = [];
var depthGuard = 0;
const MAX_DEPTH = 400;

/** Keyword id at i when i < e (the lexer sets kw only on unquoted words). */
function kwAt(i: number, e: number): number {
  return i < e ? W[i]! : 0;
}

/** End (exclusive) of the token at i, skipping over a bracket group or CASE…END. */
function skip(i: number, e: number): number {
  const m = MATCH[i]!;
  if (m >= 0) return m + 1 > e ? e : m + 1;
  return i + 1;
}

function mixToken(i: number): void {
  mix(HA[i]! ^ (K[i]! << 24), HB[i]!);
}

/**
 * Does a query (SELECT/WITH/VALUES/TABLE) start at i, possibly behind opening parentheses? The
 * answer for a run of parentheses is memoised per token, so deeply nested parentheses cost linear
 * time (and no recursion) however often the question is asked.
 */
function isQueryStart(i: number, e: number): boolean {
  if (i >= e) return false;
  if (K[i] !== Tok.LParen) {
    const w = W[i]!;
    return w === KW.SELECT || w === KW.WITH || w === KW.VALUES || w === KW.TABLE;
  }
  const memo = qsMemo[i]!;
  if (memo === qsGen) return true;
  if (memo === -qsGen) return false;
  let j = i;
  let end = e;
  let result = false;
  for (;;) {
    const m = MATCH[j]!;
    if (!(m > j + 1) || m > end) break;
    end = m;
    j++;
    if (K[j] !== Tok.LParen) {
      const w = W[j]!;
      result = w === KW.SELECT || w === KW.WITH || w === KW.VALUES || w === KW.TABLE;
      break;
    }
    const inner = qsMemo[j]!;
    if (inner === qsGen || inner === -qsGen) {
      result = inner === qsGen;
      break;
    }
  }
  const v = result ? qsGen : -qsGen;
  for (let x = i; x < j; x++) if (K[x] === Tok.LParen) qsMemo[x] = v;
  return result;
}
/**
 * isQueryStart answers per token: qsGen yes, -qsGen no, anything else unknown. qsGen changes per
 * scan, which invalidates every old answer without clearing the array (no fill() call per
 * statement, which weighs on the many short ones).
 */
var qsMemo = new Int32Array(256);
var qsGen = 0;

/** True when the range [s, e) is exactly one parenthesised group. */
function isWrapped(s: number, e: number): boolean {
  return K[s] === Tok.LParen && MATCH[s] === e - 1 && e - s >= 2;
}

function endsOperand(i: number): boolean {
  const k = K[i]!;
  if (k === Tok.Ident) {
    const w = W[i]!;
    // reserved words that end an operand: NULL, TRUE, FALSE, END, CURRENT_* ...
    if (w === 0) return true;
    return w === KW.NULL || w === KW.TRUE || w === KW.FALSE || w === KW.END || keywordCategory(w) !== 3;
  }
  return (
    k === Tok.QIdent || k === Tok.String || k === Tok.Number || k === Tok.Param || k === Tok.QMark ||
    k === Tok.RParen || k === Tok.RBracket
  );
}

function isConstTok(i: number): boolean {
  const k = K[i]!;
  return k === Tok.String || k === Tok.Number || k === Tok.Param || k === Tok.QMark;
}

// ---------------------------------------------------------------------------------------------
// Entry

export interface FingerprintScan {
  /** the 64-bit digest as two 32-bit lanes */
  a: number;
  b: number;
  statements: number;
}

/**
 * Hashes the lexed text. Fills `tables` with [start, end, written] token triples of relation names
 * and `lists` with collapsed list lengths. The returned object is reused by the next call.
 */
export function scanFingerprint(
  t: Lexed,
  ignoreSchemaNames: boolean,
  tables: number[],
  lists: number[],
): FingerprintScan {
  T = t;
  K = t.kind;
  W = t.kw;
  HA = t.ha;
  HB = t.hb;
  MATCH = t.match;
  ignoreSchema = ignoreSchemaNames;
  noBools = t.bools === 0;
  relOut = tables;
  if (qsMemo.length < t.count + 1) {
    qsMemo = new Int32Array(Math.max(t.count + 1, qsMemo.length * 2));
    qsGen = 0;
  }
  if (++qsGen >= 0x3fffffff) {
    qsMemo.fill(0);
    qsGen = 1;
  }
  listLens = lists;
  cteCount = 0;
  relCount = 0;
  sp = 0;
  depthGuard = 0;
  SA = SEED_A;
  SB = SEED_B;
  SW = 0;
  const n = t.count;
  let statements = 0;
  if (t.semis === 0) {
    // one statement: no need to walk the tokens looking for `;`
    if (n > 0) {
      statements = 1;
      marker(M.Stmt);
      hashStatement(0, n);
    }
  } else {
    let s = 0;
    while (s < n) {
      let e = s;
      while (e < n && K[e] !== Tok.Semi) e = skip(e, n);
      if (e > s) {
        statements++;
        marker(M.Stmt);
        hashStatement(s, e);
      }
      s = e + 1;
    }
  }
  // Drop CTE references from the table list: they are not relations.
  if (cteCount > 0 && relCount > 0) filterCtes(tables);
  tableCount = relCount;
  // one result object reused across calls: the caller reads it before the next scan
  scanResult.a = SA;
  scanResult.b = SB;
  scanResult.statements = statements;
  return scanResult;
}
const scanResult: FingerprintScan = { a: 0, b: 0, statements: 0 };

/** Number of entries written to `tables` by the last scanFingerprint (3 per relation). */
export let tableCount = 0;

function filterCtes(tables: number[]): void {
  let w = 0;
  for (let r = 0; r < relCount; r += 3) {
    const s = tables[r]!;
    const e = tables[r + 1]!;
    let isCte = false;
    if (e - s === 1) {
      for (let x = 0; x < cteCount; x++) {
        const c = cteNames[x]!;
        if (HA[c] === HA[s] && HB[c] === HB[s]) {
          isCte = true;
          break;
        }
      }
    }
    if (!isCte) {
      tables[w++] = s;
      tables[w++] = e;
      tables[w++] = tables[r + 2]!;
    }
  }
  relCount = w;
}

function hashStatement(s: number, e: number): void {
  if (++depthGuard > MAX_DEPTH) {
    depthGuard--;
    return;
  }
  while (isWrapped(s, e) && isQueryStart(s + 1, e - 1)) {
    s++;
    e--;
  }
  const w = kwAt(s, e);
  if (
    w === KW.SELECT || w === KW.WITH || w === KW.VALUES || w === KW.TABLE || w === KW.INSERT ||
    w === KW.UPDATE || w === KW.DELETE || K[s] === Tok.LParen
  ) {
    hashQuery(s, e);
  } else if (!hashUtility(s, e, w)) {
    if (w === KW.TRUNCATE || w === KW.COPY || w === KW.REFRESH) recordUtilityTargets(s, e, w);
    hashGeneric(s, e);
  }
  depthGuard--;
}

/**
 * `TRUNCATE [TABLE] [ONLY] a, b`, `COPY a [(cols)] FROM|TO …`, `REFRESH MATERIALIZED VIEW
 * [CONCURRENTLY] mv`: libpg_query hashes these like any utility statement (so does hashGeneric),
 * but their targets are relations SqlInfo lists, recorded here without mixing anything. TRUNCATE
 * and COPY … FROM write theirs; COPY … TO reads its table; REFRESH rebuilds its view (DDL).
 */
function recordUtilityTargets(s: number, e: number, w: number): void {
  let i = s + 1;
  while (i < e && (W[i] === KW.TABLE || W[i] === KW.ONLY || W[i] === KW.MATERIALIZED || W[i] === KW.VIEW || W[i] === KW.CONCURRENTLY)) i++;
  const first = relCount;
  while (i < e && (K[i] === Tok.QIdent || (K[i] === Tok.Ident && (W[i] === 0 || keywordCategory(W[i]!) === CAT_UNRESERVED)))) {
    const last = lastNamePart(i, e);
    relOut[relCount++] = i;
    relOut[relCount++] = last + 1;
    relOut[relCount++] = 1;
    i = last + 1;
    if (K[i] !== Tok.Comma || w !== KW.TRUNCATE) break;
    i++;
  }
  if (w === KW.COPY && relCount > first) {
    // COPY name (cols) TO …: a read.
    if (K[i] === Tok.LParen) i = skip(i, e);
    if (W[i] !== KW.FROM) relOut[first + 2] = 0;
  }
}

/**
 * Utility statements whose names libpg_query ignores: transaction statements keep only their kind
 * (options, savepoint names and gids are skipped), LISTEN/UNLISTEN/NOTIFY drop the channel,
 * PREPARE/EXECUTE/DEALLOCATE the statement name, DECLARE/FETCH/MOVE/CLOSE the cursor name.
 */
function hashUtility(s: number, e: number, w: number): boolean {
  switch (w) {
    case KW.BEGIN: case KW.START: case KW.COMMIT: case KW.END: case KW.ROLLBACK: case KW.ABORT:
    case KW.SAVEPOINT: case KW.RELEASE: {
      // kind: BEGIN/START, COMMIT/END, ROLLBACK/ABORT, ROLLBACK TO, SAVEPOINT, RELEASE, … PREPARED
      let kind: number = w === KW.END ? KW.COMMIT : w === KW.ABORT ? KW.ROLLBACK : w;
      let chain = false;
      for (let i = s + 1; i < e; i++) {
        const x = W[i]!;
        if (x === KW.TO && kind === KW.ROLLBACK) kind = KW.TO;
        else if (x === KW.PREPARE && kind === KW.START) kind = x;
        else if (x === KW.AND && W[i + 1] !== KW.NO) chain = true;
        else if (K[i] === Tok.Ident && T.end[i]! - T.start[i]! === 8 && T.text.slice(T.start[i]!, T.end[i]!).toLowerCase() === 'prepared') kind = kind + 1000;
      }
      mix(0x51ab0000 | kind, kind * 0x2c1b3c6d);
      if (chain) marker(M.Generic);
      return true;
    }
    case KW.PREPARE: {
      if (W[s + 1] === KW.TRANSACTION) {
        mix(0x51ab0000 | KW.PREPARE, KW.PREPARE * 0x2c1b3c6d);
        return true;
      }
      // PREPARE name [(types)] AS statement
      mixToken(s);
      let i = s + 2;
      if (K[i] === Tok.LParen) {
        const j = skip(i, e);
        hashGeneric(i, j);
        i = j;
      }
      if (W[i] === KW.AS) i++;
      if (i < e) hashStatement(i, e);
      return true;
    }
    case KW.EXECUTE: {
      // the statement name is skipped, its parameter list is not
      mixToken(s);
      if (K[s + 2] === Tok.LParen) hashGeneric(s + 2, e);
      return true;
    }
    case KW.DEALLOCATE: case KW.LISTEN: case KW.UNLISTEN: case KW.NOTIFY: case KW.CLOSE: {
      mixToken(s);
      if (w === KW.DEALLOCATE && (W[s + 1] === KW.ALL || W[s + 2] === KW.ALL)) marker(M.Generic);
      if (w === KW.CLOSE && W[s + 1] === KW.ALL) marker(M.Generic);
      return true;
    }
    case KW.DECLARE: {
      // DECLARE name [options] CURSOR [WITH[OUT] HOLD] FOR query
      mixToken(s);
      let i = s + 2;
      while (i < e && W[i] !== KW.FOR) mixToken(i++);
      if (i < e) hashStatement(i + 1, e);
      return true;
    }
    case KW.FETCH: case KW.MOVE: {
      // FETCH [direction [count]] [FROM|IN] name: the count is an integer field (kept), the name is skipped
      mixToken(s);
      for (let i = s + 1; i < e - 1; i++) {
        const x = W[i]!;
        if (x === KW.FROM || x === KW.IN) break;
        if (K[i] === Tok.Ident) mixToken(i);
        else if (K[i] === Tok.Number) mixLiteralText(i);
      }
      return true;
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Queries (SELECT / INSERT / UPDATE / DELETE / WITH / VALUES): clause by clause

const C_NONE = 0;
const C_SELECT = 1;
const C_FROM = 2;
const C_OTHER = 3;
const C_DELETE = 4;

/**
 * Keywords isBoundary can answer yes for (W is non-zero only on unquoted words, so this also
 * stands for the Ident test): most words in a clause body are not, and skip the call.
 */
const BOUNDARY_WORD = new Uint8Array(512);
for (const w of [
  KW.SELECT, KW.WHERE, KW.HAVING, KW.WINDOW, KW.LIMIT, KW.OFFSET, KW.FETCH, KW.UNION, KW.INTERSECT,
  KW.EXCEPT, KW.INTO, KW.RETURNING, KW.VALUES, KW.FOR, KW.GROUP, KW.ORDER, KW.FROM, KW.USING, KW.SET,
  KW.ON, KW.DO, KW.DEFAULT,
]) BOUNDARY_WORD[w] = 1;

/** Is the keyword at i (top level) the start of a new clause? `clause` is the current one. */
function isBoundary(i: number, e: number, clause: number, prev: number): boolean {
  const w = kwAt(i, e);
  switch (w) {
    case 0:
      return false;
    case KW.SELECT: case KW.WHERE: case KW.HAVING: case KW.WINDOW: case KW.LIMIT: case KW.OFFSET:
    case KW.FETCH: case KW.UNION: case KW.INTERSECT: case KW.EXCEPT: case KW.INTO:
    case KW.RETURNING: case KW.VALUES:
      return !(w === KW.VALUES && prev >= 0 && kwAt(prev, e) === KW.DEFAULT);
    case KW.FOR:
      return clause !== C_NONE;
    case KW.GROUP: case KW.ORDER:
      return kwAt(i + 1, e) === KW.BY;
    case KW.FROM: {
      if (clause === C_DELETE && prev >= 0 && kwAt(prev, e) === KW.DELETE) return false;
      // IS [NOT] DISTINCT FROM
      if (prev >= 0 && kwAt(prev, e) === KW.DISTINCT) return false;
      return true;
    }
    case KW.USING:
      return clause !== C_FROM;
    case KW.SET:
      return true;
    case KW.ON:
      return kwAt(i + 1, e) === KW.CONFLICT;
    case KW.DO:
      return true;
    case KW.DEFAULT:
      return kwAt(i + 1, e) === KW.VALUES;
    default:
      return false;
  }
}

function hashQuery(s: number, e: number): void {
  let i = s;
  let clause = C_NONE;
  const savedLimit = limitSeen;
  limitSeen = false;
  let prev = -1;
  while (i < e) {
    const w = kwAt(i, e);
    if (K[i] === Tok.LParen && clause === C_NONE) {
      // (SELECT …) UNION (SELECT …) or a parenthesised query
      const j = skip(i, e);
      hashGroupAsQueryOrExpr(i, j);
      prev = i;
      i = j;
      continue;
    }
    if (w === KW.WITH && clause === C_NONE) {
      i = hashWith(i + 1, e);
      prev = i - 1;
      continue;
    }
    if (clause === C_NONE && (w === KW.INSERT || w === KW.UPDATE || w === KW.DELETE || w === KW.TABLE || w === KW.MERGE)) {
      mixToken(i);
      const j = findBoundary(i + 1, e, w === KW.DELETE ? C_DELETE : C_OTHER, i);
      if (w === KW.INSERT) hashInsertTarget(i + 1, j);
      else if (w === KW.UPDATE || w === KW.TABLE) hashTarget(i + 1, j, w === KW.UPDATE);
      else if (w === KW.DELETE) hashTarget(kwAt(i + 1, j) === KW.FROM ? i + 2 : i + 1, j, true);
      else hashGeneric(i + 1, j);
      clause = C_OTHER;
      prev = j - 1;
      i = j;
      continue;
    }
    if (w !== 0 && (clause === C_NONE || (BOUNDARY_WORD[w] === 1 && isBoundary(i, e, clause, prev)))) {
      i = hashClause(i, e, w);
      clause = w === KW.FROM ? C_FROM : w === KW.SELECT ? C_SELECT : C_OTHER;
      prev = i - 1;
      continue;
    }
    // Stray token at query level: hash generically up to the next boundary.
    const j = findBoundary(i + 1, e, clause, i);
    hashGeneric(i, j);
    prev = j - 1;
    i = j;
  }
  limitSeen = savedLimit;
}

/** LIMIT, OFFSET and FETCH all set one limitOption; a constant count or offset leaves no trace. */
var limitSeen = false;
function limitMarker(): void {
  if (!limitSeen) {
    limitSeen = true;
    marker(M.Limit);
  }
}

/** A parenthesised group at query level: a nested query, or an expression. */
function hashGroupAsQueryOrExpr(i: number, j: number): void {
  if (isQueryStart(i + 1, j - 1)) {
    marker(M.SubExpr);
    hashStatement(i + 1, j - 1);
  } else hashExpr(i + 1, j - 1);
}

function findBoundary(i: number, e: number, clause: number, prev: number): number {
  while (i < e) {
    if (BOUNDARY_WORD[W[i]!] === 1 && isBoundary(i, e, clause, prev)) return i;
    prev = i;
    i = skip(i, e);
  }
  return e;
}

/** Hashes one clause starting at keyword i; returns where the next clause starts. */
function hashClause(i: number, e: number, w: number): number {
  // A clause whose content is only constants leaves no trace (libpg_query drops a field whose
  // value hashed to nothing): `GROUP BY 1`, `WHERE true`, `OFFSET 5`.
  const pa = SA;
  const pb = SB;
  const pw = SW;
  marker(M.Clause);
  mixToken(i);
  SW = 0;
  const next = hashClauseBody(i, e, w);
  if (SW === 0 && w !== KW.SELECT && w !== KW.FROM && w !== KW.VALUES && w !== KW.UNION && w !== KW.INTERSECT && w !== KW.EXCEPT && w !== KW.INTO && w !== KW.SET) {
    SA = pa;
    SB = pb;
    SW = pw;
  } else SW = 1;
  return next;
}

function hashClauseBody(i: number, e: number, w: number): number {
  let s = i + 1;
  switch (w) {
    case KW.SELECT: {
      const j = findBoundary(s, e, C_SELECT, i);
      const k = kwAt(s, j);
      if (k === KW.DISTINCT) {
        s++;
        if (kwAt(s, j) === KW.ON && K[s + 1] === Tok.LParen) {
          marker(M.DistinctOn);
          const g = skip(s + 1, j);
          hashOrderedList(s + 2, g - 1);
          s = g;
        } else marker(M.Distinct);
      } else if (k === KW.ALL) s++;
      hashSortedList(s, j, LIST_SELECT);
      return j;
    }
    case KW.FROM: {
      const j = findBoundary(s, e, C_FROM, i);
      hashSortedList(s, j, LIST_FROM);
      return j;
    }
    case KW.USING: {
      const j = findBoundary(s, e, C_OTHER, i);
      hashFromList(s, j);
      return j;
    }
    case KW.WHERE: case KW.HAVING: {
      const j = findBoundary(s, e, C_OTHER, i);
      hashExpr(s, j);
      return j;
    }
    case KW.GROUP: case KW.ORDER: {
      s++; // BY
      const j = findBoundary(s, e, C_OTHER, i);
      if (w === KW.ORDER) hashSortClause(s, j);
      else hashOrderedList(s, j);
      return j;
    }
    case KW.LIMIT: case KW.FETCH: {
      const j = findBoundary(s, e, C_OTHER, i);
      limitMarker();
      if (w === KW.FETCH) {
        for (let k = s; k < j; k++) if (kwAt(k, j) === KW.TIES) marker(M.Ties);
        // FETCH FIRST n ROWS ONLY: only the count expression matters
        let a = s;
        const fw = kwAt(a, j);
        if (fw === KW.FIRST || fw === KW.NEXT) a++;
        let b = a;
        while (b < j && kwAt(b, j) !== KW.ROWS && kwAt(b, j) !== KW.ROW) b = skip(b, j);
        hashExpr(a, b);
      } else if (kwAt(s, j) !== KW.ALL) hashExpr(s, j);
      return j;
    }
    case KW.OFFSET: {
      const j = findBoundary(s, e, C_OTHER, i);
      limitMarker();
      let b = j;
      const last = kwAt(j - 1, j);
      if (last === KW.ROWS || last === KW.ROW) b--;
      hashExpr(s, b);
      return j;
    }
    case KW.VALUES: {
      const j = findBoundary(s, e, C_OTHER, i);
      hashValues(s, j);
      return j;
    }
    case KW.SET: {
      const j = findBoundary(s, e, C_OTHER, i);
      hashSortedList(s, j, LIST_SET);
      return j;
    }
    case KW.RETURNING: {
      const j = findBoundary(s, e, C_OTHER, i);
      marker(M.Returning);
      hashOrderedList(s, j);
      return j;
    }
    case KW.INTO: {
      const j = findBoundary(s, e, C_OTHER, i);
      hashInsertTarget(s, j);
      return j;
    }
    case KW.UNION: case KW.INTERSECT: case KW.EXCEPT: {
      const k = kwAt(s, e);
      if (k === KW.ALL) {
        mixToken(s);
        s++;
      } else if (k === KW.DISTINCT) s++;
      return s;
    }
    case KW.ON: {
      // ON CONFLICT [ (target) [WHERE …] | ON CONSTRAINT name ] DO …
      const j = findBoundary(s + 1, e, C_OTHER, s);
      marker(M.Conflict);
      hashGeneric(s + 1, j);
      return j;
    }
    case KW.DO: {
      const k = kwAt(s, e);
      if (k === KW.NOTHING || k === KW.UPDATE) {
        mixToken(s);
        return s + 1;
      }
      return s;
    }
    case KW.DEFAULT: {
      mixToken(s); // VALUES
      return s + 1;
    }
    default: {
      const j = findBoundary(s, e, C_OTHER, i);
      hashGeneric(s, j);
      return j;
    }
  }
}

/** WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (query) [, …]; returns the main statement start. */
function hashWith(i: number, e: number): number {
  marker(M.Cte);
  if (kwAt(i, e) === KW.RECURSIVE) {
    mixToken(i);
    i++;
  }
  while (i < e) {
    const k = K[i]!;
    if (k === Tok.Comma) {
      i++;
      continue;
    }
    if (k === Tok.LParen) {
      // the CTE body
      const j = skip(i, e);
      hashGroupAsQueryOrExpr(i, j);
      i = j;
      continue;
    }
    const w = kwAt(i, e);
    if (w === KW.SELECT || w === KW.INSERT || w === KW.UPDATE || w === KW.DELETE || w === KW.VALUES || w === KW.MERGE || w === KW.TABLE) {
      return i;
    }
    if ((k === Tok.Ident || k === Tok.QIdent) && (w === 0 || keywordCategory(w) < 2) && kwAt(i + 1, e) !== KW.AS && K[i - 1] === Tok.Comma) {
      cteNames[cteCount++] = i;
    } else if ((k === Tok.Ident || k === Tok.QIdent) && (K[i + 1] === Tok.LParen || kwAt(i + 1, e) === KW.AS) && w !== KW.AS && w !== KW.NOT && w !== KW.MATERIALIZED) {
      cteNames[cteCount++] = i;
    }
    mixToken(i);
    i++;
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Lists

const LIST_SELECT = 1;
const LIST_FROM = 2;
const LIST_SET = 3;
const LIST_ARGS = 4;
const LIST_COLS = 5;

/** Comma-separated items hashed each into its own digest, mixed sorted and de-duplicated. */
function hashSortedList(s: number, e: number, kind: number): number {
  const base = sp;
  let i = s;
  let items = 0;
  let firstItem = -1;
  let firstItemEnd = -1;
  while (i < e) {
    let j = i;
    while (j < e && K[j] !== Tok.Comma) j = skip(j, e);
    if (j - i === 1 && kind === LIST_ARGS && isConstTok(i)) {
      // a constant item hashes to nothing: no frame needed
      items++;
    } else if (j > i) {
      items++;
      const pa = SA;
      const pb = SB;
      const pw = SW;
      SA = SEED_A;
      SB = SEED_B;
      SW = 0;
      switch (kind) {
        case LIST_SELECT:
          marker(M.SelectItem);
          hashSelectItem(i, j);
          break;
        case LIST_FROM:
          marker(M.FromItem);
          hashFromItem(i, j);
          break;
        case LIST_SET:
          marker(M.Assign);
          hashAssignment(i, j);
          break;
        case LIST_COLS:
          marker(M.Cols);
          hashGeneric(i, j);
          break;
        default:
          hashExpr(i, j);
      }
      const wrote = SW;
      const key = frameKey();
      SA = pa;
      SB = pb;
      SW = pw;
      if (wrote) {
        pushKey(key);
        if (firstItem < 0) {
          firstItem = i;
          firstItemEnd = j;
        }
      }
    }
    i = j + 1;
  }
  lastDistinct = 0;
  if (sp > base) {
    lastDistinct = mixSorted(base);
    marker(M.SortedEnd);
  }
  lastFirstItem = firstItem;
  lastFirstItemEnd = firstItemEnd;
  return items;
}
var lastDistinct = 0;
var lastFirstItem = -1;
var lastFirstItemEnd = -1;

/** Comma-separated expressions in order (GROUP BY, RETURNING, DISTINCT ON, ARRAY[…]). */
function hashOrderedList(s: number, e: number): number {
  let i = s;
  let items = 0;
  while (i < e) {
    let j = i;
    while (j < e && K[j] !== Tok.Comma) j = skip(j, e);
    if (j > i) {
      items++;
      hashExpr(i, j);
    }
    i = j + 1;
  }
  return items;
}

/** ORDER BY items: each is a SortBy node (never empty, so `ORDER BY 1` still counts). */
function hashSortClause(s: number, e: number): void {
  let i = s;
  while (i < e) {
    let j = i;
    while (j < e && K[j] !== Tok.Comma) j = skip(j, e);
    if (j > i) {
      marker(M.SortItem);
      // trailing ASC/DESC/NULLS FIRST|LAST/USING op
      let x = j;
      while (x > i) {
        const w = kwAt(x - 1, j);
        if (w === KW.ASC || w === KW.DESC || w === KW.FIRST || w === KW.LAST || w === KW.NULLS) x--;
        else break;
      }
      let u = i;
      while (u < x && kwAt(u, x) !== KW.USING) u = skip(u, x);
      hashExpr(i, u);
      for (let k = u; k < j; k++) mixToken(k);
    }
    i = j + 1;
  }
}

/** Function arguments: order-insensitive; DISTINCT, ORDER BY and `*` handled as libpg_query does. */
function hashArgs(s: number, e: number): void {
  let i = s;
  const w = kwAt(i, e);
  if (w === KW.DISTINCT) {
    marker(M.AggDistinct);
    i++;
  } else if (w === KW.ALL) i++;
  if (e - i === 1 && HA[i] === STAR_A && K[i] === Tok.Op) {
    marker(M.Star);
    return;
  }
  // an ORDER BY inside the arguments (aggregates) is its own ordered list
  let o = i;
  while (o < e && !(kwAt(o, e) === KW.ORDER && kwAt(o + 1, e) === KW.BY)) o = skip(o, e);
  // special syntax: EXTRACT(f FROM x), SUBSTRING(x FROM a FOR b), POSITION(a IN b), TRIM(BOTH x FROM y)
  hashArgItems(i, o);
  if (o < e) {
    marker(M.AggOrder);
    hashSortClause(o + 2, e);
  }
}

function hashArgItems(s: number, e: number): void {
  const base = sp;
  let i = s;
  while (i < e) {
    let j = i;
    while (j < e && K[j] !== Tok.Comma && !isArgSeparator(j, e)) j = skip(j, e);
    if (j > i && !(j - i === 1 && isArgWord(i, e))) {
      const pa = SA;
      const pb = SB;
      const pw = SW;
      SA = SEED_A;
      SB = SEED_B;
      SW = 0;
      let a = i;
      // VARIADIC, named args `name => v` / `name := v` keep their name
      if (kwAt(a, j) === KW.BOTH || kwAt(a, j) === KW.LEADING || kwAt(a, j) === KW.TRAILING) {
        mixToken(a);
        a++;
      }
      hashExpr(a, j);
      const wrote = SW;
      const key = frameKey();
      SA = pa;
      SB = pb;
      SW = pw;
      if (wrote) pushKey(key);
    }
    i = j < e && K[j] === Tok.Comma ? j + 1 : j < e ? j + 1 : j;
  }
  if (sp > base) {
    mixSorted(base);
    marker(M.SortedEnd);
  }
}

/** FROM / IN / FOR / PLACING split the arguments of EXTRACT, SUBSTRING, POSITION, TRIM, OVERLAY. */
function isArgSeparator(j: number, e: number): boolean {
  const w = kwAt(j, e);
  return w === KW.FROM || w === KW.FOR || w === KW.PLACING || (w === KW.IN && specialArgs);
}
/** A bare field word such as `year` in EXTRACT(year FROM …) becomes a string constant. */
function isArgWord(i: number, e: number): boolean {
  return specialArgs && K[i] === Tok.Ident && kwAt(i + 1, e + 1) === KW.FROM;
}
var specialArgs = false;

const STAR_A = hashOpA('*');
function hashOpA(op: string): number {
  let a = 0x811c9dc5 | 0;
  for (let i = 0; i < op.length; i++) a = Math.imul(a ^ op.charCodeAt(i), 0x01000193);
  return a;
}
function hashOpB(op: string): number {
  let b = 0x3c6ef372 | 0;
  for (let i = 0; i < op.length; i++) b = (Math.imul(b, 31) + op.charCodeAt(i)) | 0;
  return b;
}
const NE_A = hashOpA('<>');
const NE_B = hashOpB('<>');
const BANGEQ_A = hashOpA('!=');
const EQ_A = hashOpA('=');
const EQ_B = hashOpB('=');
const MINUS_A = hashOpA('-');
const PLUS_A = hashOpA('+');

// ---------------------------------------------------------------------------------------------
// Select items, FROM items, targets

function hashSelectItem(s: number, e: number): void {
  let end = e;
  // explicit alias: … AS name
  if (e - s >= 3 && kwAt(e - 2, e) === KW.AS && (K[e - 1] === Tok.Ident || K[e - 1] === Tok.QIdent)) end = e - 2;
  else if (e - s >= 2 && isBareAlias(s, e - 1)) end = e - 1;
  hashExpr(s, end);
}

/** Is token `a` (the last of an item starting at s) a bare alias? */
function isBareAlias(s: number, a: number): boolean {
  const k = K[a]!;
  if (k !== Tok.Ident && k !== Tok.QIdent) return false;
  const w = W[a]!;
  if (k === Tok.Ident && w !== 0 && keywordCategory(w) >= 2) return false;
  const p = a - 1;
  if (p < s) return false;
  if (!endsOperand(p)) return false;
  if (K[p] === Tok.Dot) return false;
  const pw = kwAt(p, a);
  // multi-word type names and interval qualifiers: double precision, character varying, time zone
  if (w === KW.PRECISION && pw === KW.DOUBLE) return false;
  if (w === KW.VARYING) return false;
  if (w === KW.ZONE) return false;
  if (K[p] === Tok.String && p - 1 >= s && kwAt(p - 1, a) === KW.INTERVAL) return false;
  if (w === KW.YEAR || w === KW.MONTH || w === KW.DAY || w === KW.HOUR || w === KW.MINUTE || w === KW.SECOND) {
    if (K[p] === Tok.String) return false;
  }
  // `x::type` followed by nothing: the type is not an alias
  if (p - 1 >= s && K[p - 1] === Tok.Cast) {
    return true;
  }
  if (K[p] === Tok.Ident && pw !== 0 && keywordCategory(pw) === 3 && pw !== KW.NULL && pw !== KW.TRUE && pw !== KW.FALSE && pw !== KW.END) return false;
  return true;
}

/** The last part of a dotted name starting at `i` (`i` itself for a bare name). */
function lastNamePart(i: number, e: number): number {
  let last = i;
  while (last + 2 < e && K[last + 1] === Tok.Dot && (K[last + 2] === Tok.Ident || K[last + 2] === Tok.QIdent)) last += 2;
  return last;
}

/** A relation name [schema.]name, digit runs stripped from the name. Returns the index after it. */
function hashRelationName(i: number, e: number, written: boolean): number {
  const start = i;
  const last = lastNamePart(i, e);
  // catalog/schema parts
  if (last > start && !ignoreSchema) {
    marker(M.Schema);
    for (let p = start; p < last; p += 2) mixToken(p);
  }
  marker(M.Relation);
  mixRelname(last);
  relOut[relCount++] = start;
  relOut[relCount++] = last + 1;
  relOut[relCount++] = written ? 1 : 0;
  return last + 1;
}

/** Mixes a relation name with runs of 2+ digits removed (libpg_query: events_2024_01 = events_2024_02). */
function mixRelname(i: number): void {
  const text = T.text;
  let s = T.start[i]!;
  let e = T.end[i]!;
  const quoted = K[i] === Tok.QIdent;
  if (quoted) {
    s = text.charCodeAt(s) === 34 ? s + 1 : s + 3;
    if (e > s && text.charCodeAt(e - 1) === 34) e--;
  }
  // Without any digit nothing is dropped, and the name hashes exactly as the lexer already hashed
  // the token (same lower-casing, same "" unescaping and length): reuse that instead of rehashing
  // (a digit test per char instead of two multiply chains). Only names with digits take the
  // stripping loop below.
  let d = s;
  while (d < e) {
    const c = text.charCodeAt(d);
    if (c >= 48 && c <= 57) break;
    d++;
  }
  if (d === e) {
    mix(HA[i]!, HB[i]!);
    return;
  }
  let a = 0x811c9dc5 | 0;
  let b = 0x3c6ef372 | 0;
  let len = 0;
  for (let j = s; j < e; j++) {
    let c = text.charCodeAt(j);
    if (c >= 48 && c <= 57) {
      const pc = j > s ? text.charCodeAt(j - 1) : 0;
      const nc = j + 1 < e ? text.charCodeAt(j + 1) : 0;
      if ((pc >= 48 && pc <= 57) || (nc >= 48 && nc <= 57)) continue;
    }
    if (quoted) {
      if (c === 34 && text.charCodeAt(j + 1) === 34) j++;
    } else if (c >= 65 && c <= 90) c += 32;
    a = Math.imul(a ^ c, 0x01000193);
    b = (Math.imul(b, 31) + c) | 0;
    len++;
  }
  mix(a ^ len, b);
}

function isAliasWord(i: number, e: number): boolean {
  if (i >= e) return false;
  const k = K[i]!;
  if (k === Tok.QIdent) return true;
  if (k !== Tok.Ident) return false;
  const w = W[i]!;
  if (w === 0) return true;
  if (w === KW.SET) return false;
  const c = keywordCategory(w);
  return c === CAT_UNRESERVED || c === CAT_COLNAME;
}

/**
 * Skips `[AS] alias [(cols)]` at i; returns the index after it. A column definition list
 * (`AS t(a int, b text)`, `AS (a int)`) is not an alias and is hashed.
 */
function skipAlias(i: number, e: number): number {
  if (kwAt(i, e) === KW.AS) {
    i++;
    if (i < e && (K[i] === Tok.Ident || K[i] === Tok.QIdent)) {
      i++;
      if (K[i - 1] === Tok.QIdent && i + 1 < e && K[i + 1] === Tok.String && T.text.slice(T.start[i]!, T.end[i]!).toLowerCase() === 'uescape') i += 2;
    }
  } else if (isAliasWord(i, e)) i++;
  else return i;
  if (i < e && K[i] === Tok.LParen) {
    const j = skip(i, e);
    if (isColumnDefList(i + 1, j - 1)) {
      marker(M.Cols);
      hashGeneric(i + 1, j - 1);
    }
    i = j;
  }
  return i;
}

/** A parenthesised list whose items have more than one token (name type) defines columns. */
function isColumnDefList(s: number, e: number): boolean {
  let i = s;
  let n = 0;
  while (i < e) {
    if (K[i] === Tok.Comma) {
      if (n > 1) return true;
      n = 0;
      i++;
      continue;
    }
    n++;
    i = skip(i, e);
  }
  return n > 1;
}

/** UPDATE / DELETE FROM / TABLE target: [ONLY] rel [*] [[AS] alias]. */
function hashTarget(s: number, e: number, written: boolean): void {
  let i = s;
  if (kwAt(i, e) === KW.ONLY) {
    marker(M.Only);
    i++;
  }
  if (i < e && (K[i] === Tok.Ident || K[i] === Tok.QIdent)) {
    i = hashRelationName(i, e, written);
  }
  if (i < e && K[i] === Tok.Op && HA[i] === STAR_A) i++;
  i = skipAlias(i, e);
  if (i < e) hashGeneric(i, e);
}

/** INSERT INTO rel [AS alias] [(cols)] [OVERRIDING …]  (also SELECT … INTO rel). */
function hashInsertTarget(s: number, e: number): void {
  let i = s;
  if (kwAt(i, e) === KW.INTO) i++;
  while (i < e && K[i] === Tok.Ident && (W[i] === KW.TEMP || W[i] === KW.TEMPORARY || W[i] === KW.UNLOGGED || W[i] === KW.TABLE)) {
    mixToken(i);
    i++;
  }
  if (i < e && (K[i] === Tok.Ident || K[i] === Tok.QIdent)) i = hashRelationName(i, e, true);
  if (kwAt(i, e) === KW.AS) i = skip(i + 1, e);
  if (i < e && K[i] === Tok.LParen) {
    const j = skip(i, e);
    hashSortedList(i + 1, j - 1, LIST_COLS);
    i = j;
  }
  if (i < e) hashGeneric(i, e);
}

/** One FROM item: table refs, subqueries, functions, joins; aliases dropped. */
function hashFromItem(s: number, e: number): void {
  let i = s;
  while (i < e) {
    const k = K[i]!;
    const w = kwAt(i, e);
    if (w === KW.LATERAL) {
      marker(M.Lateral);
      i++;
      continue;
    }
    if (w === KW.ONLY) {
      marker(M.Only);
      i++;
      continue;
    }
    if (w === KW.NATURAL) {
      marker(M.Natural);
      i++;
      continue;
    }
    if (w === KW.JOIN || w === KW.INNER || w === KW.CROSS || w === KW.LEFT || w === KW.RIGHT || w === KW.FULL || w === KW.OUTER) {
      // join type: LEFT [OUTER] JOIN = LEFT JOIN; INNER JOIN = JOIN; CROSS JOIN = JOIN
      if (w === KW.LEFT) marker(M.JoinLeft);
      else if (w === KW.RIGHT) marker(M.JoinRight);
      else if (w === KW.FULL) marker(M.JoinFull);
      else if (w === KW.JOIN) marker(M.Join);
      i++;
      continue;
    }
    if (w === KW.ON) {
      // join condition up to the next join keyword
      let j = i + 1;
      while (j < e) {
        const x = kwAt(j, e);
        if (x === KW.JOIN || x === KW.INNER || x === KW.CROSS || x === KW.LEFT || x === KW.RIGHT || x === KW.FULL || x === KW.NATURAL) break;
        j = skip(j, e);
      }
      marker(M.On);
      hashExpr(i + 1, j);
      i = j;
      continue;
    }
    if (w === KW.USING && K[i + 1] === Tok.LParen) {
      const j = skip(i + 1, e);
      marker(M.UsingCols);
      for (let x = i + 2; x < j - 1; x++) if (K[x] !== Tok.Comma) mixToken(x);
      i = skipAlias(j, e);
      continue;
    }
    if (k === Tok.LParen) {
      const j = skip(i, e);
      if (isQueryStart(i + 1, j - 1)) {
        marker(M.SubExpr);
        hashStatement(i + 1, j - 1);
      } else {
        // parenthesised join tree
        marker(M.Group);
        hashFromItem(i + 1, j - 1);
      }
      i = skipAlias(j, e);
      continue;
    }
    if (k === Tok.Ident || k === Tok.QIdent) {
      // function in FROM: name(…) [WITH ORDINALITY] [alias]
      let n = i + 1;
      while (n + 1 < e && K[n] === Tok.Dot) n += 2;
      if (n < e && K[n] === Tok.LParen) {
        const j = hashCall(i, n, e);
        i = j;
        if (kwAt(i, e) === KW.WITH && kwAt(i + 1, e) === KW.ORDINALITY) {
          mixToken(i + 1);
          i += 2;
        }
        i = skipAlias(i, e);
        continue;
      }
      if (w === KW.ROWS && kwAt(i + 1, e) === KW.FROM) {
        mixToken(i);
        i += 2;
        continue;
      }
      i = hashRelationName(i, e, false);
      if (i < e && K[i] === Tok.Op && HA[i] === STAR_A) i++;
      if (kwAt(i, e) === KW.TABLESAMPLE) {
        let j = i + 1;
        while (j < e && !isJoinWord(j, e)) j = skip(j, e);
        hashGeneric(i, j);
        i = j;
        continue;
      }
      i = skipAlias(i, e);
      continue;
    }
    mixToken(i);
    i = skip(i, e);
  }
}

function isJoinWord(j: number, e: number): boolean {
  const x = kwAt(j, e);
  return x === KW.JOIN || x === KW.INNER || x === KW.CROSS || x === KW.LEFT || x === KW.RIGHT || x === KW.FULL || x === KW.NATURAL || x === KW.ON || x === KW.USING;
}

/** DELETE … USING list (not order-insensitive in libpg_query). */
function hashFromList(s: number, e: number): void {
  let i = s;
  while (i < e) {
    let j = i;
    while (j < e && K[j] !== Tok.Comma) j = skip(j, e);
    if (j > i) {
      marker(M.FromItem);
      hashFromItem(i, j);
    }
    i = j + 1;
  }
}

/** UPDATE SET item: col[.f][[i]] = expr, or (a, b) = (…). */
function hashAssignment(s: number, e: number): void {
  let i = s;
  while (i < e && !(K[i] === Tok.Op && HA[i] === EQ_A)) i = skip(i, e);
  if (K[s] === Tok.LParen) {
    // (a, b) = (…): the column names
    const j = skip(s, e);
    for (let x = s + 1; x < j - 1; x++) if (K[x] !== Tok.Comma) mixToken(x);
  } else hashTerm(s, i);
  if (i < e) {
    mixToken(i);
    const v = i + 1;
    // SET col = DEFAULT
    if (!(e - v === 1 && kwAt(v, e) === KW.DEFAULT)) hashExpr(v, e);
  }
}

/** VALUES (…), (…): rows and their items are order-insensitive and de-duplicated. */
function hashValues(s: number, e: number): void {
  marker(M.Values);
  const base = sp;
  let rows = 0;
  let i = s;
  while (i < e) {
    if (K[i] === Tok.LParen) {
      const j = skip(i, e);
      rows++;
      const pa = SA;
      const pb = SB;
      const pw = SW;
      SA = SEED_A;
      SB = SEED_B;
      SW = 0;
      hashValuesRow(i + 1, j - 1);
      const wrote = SW;
      const key = frameKey();
      SA = pa;
      SB = pb;
      SW = pw;
      if (wrote) pushKey(key);
      i = j;
      continue;
    }
    if (K[i] !== Tok.Comma) {
      // trailing clauses that findBoundary did not cut (should not happen)
      hashGeneric(i, e);
      break;
    }
    i++;
  }
  if (rows > 1) listLens.push(rows);
  if (sp > base) {
    mixSorted(base);
    marker(M.SortedEnd);
  }
}

function hashValuesRow(s: number, e: number): void {
  const base = sp;
  let i = s;
  while (i < e) {
    let j = i;
    while (j < e && K[j] !== Tok.Comma) j = skip(j, e);
    if (j > i && !(j - i === 1 && kwAt(i, e) === KW.DEFAULT)) {
      const pa = SA;
      const pb = SB;
      const pw = SW;
      SA = SEED_A;
      SB = SEED_B;
      SW = 0;
      hashExpr(i, j);
      const wrote = SW;
      const key = frameKey();
      SA = pa;
      SB = pb;
      SW = pw;
      if (wrote) pushKey(key);
    }
    i = j + 1;
  }
  if (sp > base) {
    mixSorted(base);
    marker(M.SortedEnd);
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions

/** Boolean structure: OR of ANDs, each level order-insensitive and de-duplicated. */
function hashExpr(s: number, e: number): void {
  if (s >= e) return;
  if (e - s === 1) {
    // the most common expression by far: one column name or one constant
    const k = K[s]!;
    if (k === Tok.QIdent || (k === Tok.Ident && W[s] === 0)) {
      mixToken(s);
      return;
    }
    if (k === Tok.String || k === Tok.Number || k === Tok.Param || k === Tok.QMark) return;
  }
  if (++depthGuard > MAX_DEPTH) {
    depthGuard--;
    return;
  }
  // unwrap redundant parentheses around the whole expression
  while (isWrapped(s, e) && !isQueryStart(s + 1, e - 1) && !hasTopComma(s + 1, e - 1)) {
    s++;
    e--;
  }
  const bools = topBools(s, e);
  if (bools & 2) hashBool(s, e, KW.OR);
  else if (bools & 1) hashBool(s, e, KW.AND);
  else hashTerm(s, e);
  depthGuard--;
}

function hasTopComma(s: number, e: number): boolean {
  for (let i = s; i < e; i = skip(i, e)) if (K[i] === Tok.Comma) return true;
  return false;
}

/** One scan for top-level boolean operators: bit 0 = AND (not BETWEEN's), bit 1 = OR. */
function topBools(s: number, e: number): number {
  // the lexer counted AND/OR/BETWEEN words: with none in the text there is nothing to find
  if (noBools) return 0;
  let between = 0;
  let r = 0;
  for (let i = s; i < e; i = skip(i, e)) {
    const w = W[i]!;
    if (w === 0) continue;
    if (w === KW.BETWEEN) between++;
    else if (w === KW.AND) {
      if (between > 0) between--;
      else r |= 1;
    } else if (w === KW.OR) return r | 2;
  }
  return r;
}

function hashBool(s: number, e: number, op: number): void {
  const base = sp;
  collectBool(s, e, op);
  marker(op === KW.OR ? M.Or : M.And);
  mixSorted(base);
  marker(M.SortedEnd);
}

/** Pushes the digest of each `op` operand; a first operand that is itself an `op` chain is flattened (as PostgreSQL's makeAndExpr/makeOrExpr do). */
function collectBool(s: number, e: number, op: number): void {
  let between = 0;
  let i = s;
  let first = true;
  let start = s;
  while (i <= e) {
    let cut = i === e;
    if (!cut && K[i] === Tok.Ident) {
      const w = W[i]!;
      if (w === KW.BETWEEN) between++;
      else if (w === op) {
        if (op === KW.AND && between > 0) between--;
        else cut = true;
      }
    }
    if (cut) {
      let a = start;
      let b = i;
      while (isWrapped(a, b) && !isQueryStart(a + 1, b - 1) && !hasTopComma(a + 1, b - 1)) {
        a++;
        b--;
      }
      // (topBools stops at the first OR, so for AND the OR bit must be clear anyway)
      const inner = first && a !== start ? topBools(a, b) : 0;
      if (op === KW.OR ? (inner & 2) !== 0 : (inner & 3) === 1) {
        collectBool(a, b, op);
      } else if (b > a) {
        const pa = SA;
        const pb = SB;
        const pw = SW;
        SA = SEED_A;
        SB = SEED_B;
        SW = 0;
        hashExpr(a, b);
        const key = frameKey();
        SA = pa;
        SB = pb;
        SW = pw;
        pushKey(key);
      }
      first = false;
      if (i === e) break;
      start = i + 1;
      i++;
      continue;
    }
    i = skip(i, e);
  }
}

/** An expression with no top-level AND/OR. */
function hashTerm(s: number, e: number): void {
  let i = s;
  /** the last operand mixed nothing (a constant), so a following cast is folded */
  let lastConst = false;
  let prevOperand = false;
  while (i < e) {
    const k = K[i]!;
    switch (k) {
      case Tok.String:
      case Tok.Number:
      case Tok.Param:
      case Tok.QMark:
        i++;
        lastConst = true;
        prevOperand = true;
        // UESCAPE '…' after a U& string
        if (kwAt(i, e) === 0 && K[i] === Tok.Ident && i + 1 < e && K[i + 1] === Tok.String && T.text.slice(T.start[i]!, T.end[i]!).toLowerCase() === 'uescape') i += 2;
        continue;
      case Tok.Cast: {
        const j = typeNameEnd(i + 1, e);
        if (!lastConst) {
          marker(M.Cast);
          mixTypeName(i + 1, j);
        }
        lastConst = false;
        i = j;
        prevOperand = true;
        continue;
      }
      case Tok.Op: {
        const ha = HA[i]!;
        if (!prevOperand && ha === MINUS_A && T.end[i]! - T.start[i]! === 1 && i + 1 < e && K[i + 1] === Tok.Number && K[i + 2] !== Tok.Cast) {
          // unary minus on a number is folded into the constant (doNegate); `+1` and
          // `-1::int` stay operators, as in PostgreSQL's grammar
          i += 2;
          lastConst = true;
          prevOperand = true;
          continue;
        }
        if (ha === STAR_A && !prevOperand) {
          marker(M.Star);
          i++;
          prevOperand = true;
          lastConst = false;
          continue;
        }
        // `op ANY/SOME/ALL (…)`
        const w1 = kwAt(i + 1, e);
        if ((w1 === KW.ANY || w1 === KW.SOME || w1 === KW.ALL) && K[i + 2] === Tok.LParen) {
          const g = i + 2;
          const j = skip(g, e);
          if (isQueryStart(g + 1, j - 1)) {
            marker(M.SubOp);
            mixOp(i);
            if (w1 === KW.ALL) marker(M.OpAll);
            hashStatement(g + 1, j - 1);
          } else {
            mixOp(i);
            if (w1 === KW.ALL) marker(M.OpAll);
            hashExpr(g + 1, j - 1);
          }
          i = j;
          lastConst = false;
          prevOperand = true;
          continue;
        }
        mixOp(i);
        i++;
        lastConst = false;
        prevOperand = false;
        continue;
      }
      case Tok.LParen: {
        const j = skip(i, e);
        if (isQueryStart(i + 1, j - 1)) {
          marker(M.SubExpr);
          hashStatement(i + 1, j - 1);
          lastConst = false;
        } else if (hasTopComma(i + 1, j - 1)) {
          // implicit ROW(…): its args are order-insensitive in libpg_query
          marker(M.Row);
          hashSortedList(i + 1, j - 1, LIST_ARGS);
          lastConst = false;
        } else {
          // a nested expression: its own digest, unless it is a single operand
          const inner = j - 1 - (i + 1);
          if (inner === 1 && isConstTok(i + 1)) {
            lastConst = true;
          } else if (inner === 1) {
            mixToken(i + 1);
            lastConst = false;
          } else {
            const pa = SA;
            const pb = SB;
            const pw = SW;
            SA = SEED_A;
            SB = SEED_B;
            SW = 0;
            hashExpr(i + 1, j - 1);
            const wrote = SW;
            const key = frameKey();
            SA = pa;
            SB = pb;
            SW = pw;
            if (wrote) {
              marker(M.Group);
              mixKey(key);
            }
            lastConst = !wrote;
          }
        }
        i = j;
        prevOperand = true;
        continue;
      }
      case Tok.LBracket: {
        // subscript / slice
        const j = skip(i, e);
        marker(M.Subscript);
        for (let x = i + 1; x < j - 1; x = skip(x, j - 1)) if (K[x] === Tok.Colon) marker(M.Subscript);
        hashSubscript(i + 1, j - 1);
        i = j;
        prevOperand = true;
        lastConst = false;
        continue;
      }
      case Tok.Dot:
        marker(M.Dot);
        i++;
        continue;
      case Tok.Ident:
      case Tok.QIdent: {
        const w = k === Tok.Ident ? W[i]! : 0;
        if (w !== 0) {
          const r = hashKeywordInExpr(i, e, w);
          if (r >= 0) {
            i = r & 0x3fffffff;
            lastConst = (r & 0x40000000) !== 0;
            prevOperand = true;
            if (w === KW.NOT || w === KW.IS || w === KW.LIKE || w === KW.ILIKE || w === KW.IN || w === KW.SIMILAR || w === KW.AND || w === KW.OR || w === KW.COLLATE || w === KW.AT) prevOperand = afterOperator;
            continue;
          }
        }
        // typed literal: DATE '…', INTERVAL '…' DAY, int4 '1', char(20) '…', timestamp(2) with time zone '…'
        const tl = typedLiteralEnd(i, e);
        if (tl > 0) {
          i = tl;
          lastConst = true;
          prevOperand = true;
          continue;
        }
        // SQL value functions with a precision: current_time(3), localtimestamp(6)
        if ((w === KW.CURRENT_TIME || w === KW.CURRENT_TIMESTAMP || w === KW.LOCALTIME || w === KW.LOCALTIMESTAMP) && K[i + 1] === Tok.LParen) {
          const j = skip(i + 1, e);
          mixToken(i);
          for (let x = i + 2; x < j - 1; x++) mixLiteralText(x);
          i = j;
          lastConst = false;
          prevOperand = true;
          continue;
        }
        // function call?
        let n = i + 1;
        while (n + 1 < e && K[n] === Tok.Dot && (K[n + 1] === Tok.Ident || K[n + 1] === Tok.QIdent)) n += 2;
        if (n < e && K[n] === Tok.LParen && (w === 0 || isFuncKeyword(w))) {
          i = hashCall(i, n, e);
          lastConst = false;
          prevOperand = true;
          continue;
        }
        for (let x = i; x < n; x++) {
          if (K[x] === Tok.Dot) marker(M.Dot);
          else mixToken(x);
        }
        i = n;
        lastConst = false;
        prevOperand = true;
        continue;
      }
      default:
        mixToken(i);
        i++;
        lastConst = false;
        prevOperand = false;
    }
  }
}

var afterOperator = false;

function mixOp(i: number): void {
  const ha = HA[i]!;
  if (ha === BANGEQ_A && T.end[i]! - T.start[i]! === 2) mix(NE_A ^ (Tok.Op << 24), NE_B);
  else mixToken(i);
}

function hashSubscript(s: number, e: number): void {
  let i = s;
  while (i < e) {
    let j = i;
    while (j < e && K[j] !== Tok.Colon) j = skip(j, e);
    hashExpr(i, j);
    i = j + 1;
  }
}

/**
 * Keywords inside an expression. Returns the next index (bit 30 set when the construct was a
 * constant), or -1 when the keyword is an ordinary word (identifier use, function name).
 */
function hashKeywordInExpr(i: number, e: number, w: number): number {
  afterOperator = true;
  switch (w) {
    case KW.NULL:
    case KW.TRUE:
    case KW.FALSE:
      afterOperator = false;
      return (i + 1) | 0x40000000;
    case KW.DEFAULT:
      afterOperator = false;
      marker(M.Default);
      return i + 1;
    case KW.IS: {
      let j = i + 1;
      let not = false;
      if (kwAt(j, e) === KW.NOT) {
        not = true;
        j++;
      }
      const x = kwAt(j, e);
      afterOperator = false;
      switch (x) {
        case KW.NULL: marker(not ? M.IsNotNull : M.IsNull); return j + 1;
        case KW.TRUE: marker(not ? M.IsNotTrue : M.IsTrue); return j + 1;
        case KW.FALSE: marker(not ? M.IsNotFalse : M.IsFalse); return j + 1;
        case KW.UNKNOWN: marker(not ? M.IsNotUnknown : M.IsUnknown); return j + 1;
        case KW.DISTINCT:
          marker(not ? M.IsNotDistinct : M.IsDistinct);
          afterOperator = true;
          return kwAt(j + 1, e) === KW.FROM ? j + 2 : j + 1;
        default:
          mixToken(i);
          if (not) mixToken(i + 1);
          afterOperator = true;
          return j;
      }
    }
    case KW.ISNULL:
      afterOperator = false;
      marker(M.IsNull);
      return i + 1;
    case KW.NOTNULL:
      afterOperator = false;
      marker(M.IsNotNull);
      return i + 1;
    case KW.NOT: {
      const x = kwAt(i + 1, e);
      if (x === KW.IN) return hashIn(i + 1, e, true);
      if (x === KW.LIKE) { marker(M.NotLike); return i + 2; }
      if (x === KW.ILIKE) { marker(M.NotILike); return i + 2; }
      if (x === KW.BETWEEN) { marker(M.NotBetween); return hashBetween(i + 2, e); }
      if (x === KW.SIMILAR) { marker(M.NotSimilar); return kwAt(i + 2, e) === KW.TO ? i + 3 : i + 2; }
      marker(M.Not);
      return i + 1;
    }
    case KW.IN:
      return hashIn(i, e, false);
    case KW.LIKE:
      marker(M.Like);
      return i + 1;
    case KW.ILIKE:
      marker(M.ILike);
      return i + 1;
    case KW.SIMILAR:
      marker(M.Similar);
      return kwAt(i + 1, e) === KW.TO ? i + 2 : i + 1;
    case KW.BETWEEN:
      marker(M.Between);
      return hashBetween(i + 1, e);
    case KW.ESCAPE:
      mixToken(i);
      return i + 1;
    case KW.COLLATE: {
      marker(M.Collate);
      let j = i + 1;
      if (j < e) {
        mixToken(j);
        j++;
        while (j + 1 < e && K[j] === Tok.Dot) {
          mixToken(j + 1);
          j += 2;
        }
      }
      afterOperator = false;
      return j;
    }
    case KW.AT:
      // AT TIME ZONE x / AT LOCAL
      mixToken(i);
      if (kwAt(i + 1, e) === KW.TIME && kwAt(i + 2, e) === KW.ZONE) return i + 3;
      return i + 1;
    case KW.EXISTS:
      if (K[i + 1] === Tok.LParen) {
        const j = skip(i + 1, e);
        marker(M.Exists);
        hashStatement(i + 2, j - 1);
        afterOperator = false;
        return j;
      }
      return -1;
    case KW.ARRAY:
      if (K[i + 1] === Tok.LBracket) {
        marker(M.Array);
        const j = skip(i + 1, e);
        hashArrayElems(i + 2, j - 1, true);
        afterOperator = false;
        return j;
      }
      if (K[i + 1] === Tok.LParen) {
        const j = skip(i + 1, e);
        marker(M.ArraySub);
        hashStatement(i + 2, j - 1);
        afterOperator = false;
        return j;
      }
      return -1;
    case KW.ROW:
      if (K[i + 1] === Tok.LParen) {
        const j = skip(i + 1, e);
        marker(M.Row);
        hashSortedList(i + 2, j - 1, LIST_ARGS);
        afterOperator = false;
        return j;
      }
      return -1;
    case KW.CAST:
      if (K[i + 1] === Tok.LParen) {
        const j = skip(i + 1, e);
        afterOperator = false;
        // CAST(x AS type): folded when x is a constant, else the same as x::type
        let a = i + 2;
        while (a < j - 1 && kwAt(a, j) !== KW.AS) a = skip(a, j - 1);
        if (isConstExpr(i + 2, a)) return j | 0x40000000;
        hashExpr(i + 2, a);
        marker(M.Cast);
        mixTypeName(a + 1, j - 1);
        return j;
      }
      return -1;
    case KW.CASE: {
      const j = skip(i, e);
      hashCase(i + 1, j - 1);
      afterOperator = false;
      return j;
    }
    case KW.AND:
    case KW.OR:
      // AND of a BETWEEN (the boolean ones were split off before)
      mixToken(i);
      return i + 1;
    case KW.ANY: case KW.SOME: case KW.ALL:
      if (K[i + 1] === Tok.LParen) {
        const j = skip(i + 1, e);
        mixToken(i);
        if (isQueryStart(i + 2, j - 1)) hashStatement(i + 2, j - 1);
        else hashExpr(i + 2, j - 1);
        afterOperator = false;
        return j;
      }
      return -1;
    case KW.DISTINCT:
      marker(M.Distinct);
      return i + 1;
    case KW.OVER: {
      marker(M.Over);
      afterOperator = false;
      if (K[i + 1] === Tok.LParen) {
        const j = skip(i + 1, e);
        hashGeneric(i + 2, j - 1);
        return j;
      }
      if (i + 1 < e) mixToken(i + 1);
      return i + 2;
    }
    case KW.FILTER:
      if (K[i + 1] === Tok.LParen) {
        const j = skip(i + 1, e);
        marker(M.Filter);
        const a = kwAt(i + 2, j) === KW.WHERE ? i + 3 : i + 2;
        hashExpr(a, j - 1);
        afterOperator = false;
        return j;
      }
      return -1;
    case KW.WITHIN:
      if (kwAt(i + 1, e) === KW.GROUP && K[i + 2] === Tok.LParen) {
        const j = skip(i + 2, e);
        marker(M.Ordered);
        const a = kwAt(i + 3, j) === KW.ORDER ? i + 5 : i + 3;
        hashSortClause(a, j - 1);
        afterOperator = false;
        return j;
      }
      return -1;
    default:
      return -1;
  }
}

/** Mixes a literal token's text (for the rare places libpg_query keeps a number: typmods of SQL value functions). */
function mixLiteralText(i: number): void {
  const text = T.text;
  let a = 0x811c9dc5 | 0;
  for (let j = T.start[i]!; j < T.end[i]!; j++) a = Math.imul(a ^ text.charCodeAt(j), 0x01000193);
  mix(a, K[i]!);
}

function isConstExpr(s: number, e: number): boolean {
  if (e - s === 1) return isConstTok(s) || kwAt(s, e) === KW.NULL;
  if (e - s === 2 && K[s] === Tok.Op && HA[s] === MINUS_A && K[s + 1] === Tok.Number) return true;
  if (isWrapped(s, e)) return isConstExpr(s + 1, e - 1);
  return false;
}

/** `[NOT] IN (…)` at i (the IN keyword). */
function hashIn(i: number, e: number, not: boolean): number {
  afterOperator = false;
  const g = i + 1;
  if (K[g] !== Tok.LParen) {
    mixToken(i);
    return i + 1;
  }
  const j = skip(g, e);
  if (isQueryStart(g + 1, j - 1)) {
    marker(M.SubIn);
    if (not) marker(M.Not);
    hashStatement(g + 1, j - 1);
    return j;
  }
  // x IN (a, b) is A_Expr '=' with an order-insensitive list; NOT IN is '<>'
  if (not) mix(NE_A ^ (Tok.Op << 24), NE_B);
  else mix(EQ_A ^ (Tok.Op << 24), EQ_B);
  // one distinct non-constant item hashes exactly like `= item`
  const pa = SA;
  const pb = SB;
  const pw = SW;
  const base = sp;
  const n = hashSortedList(g + 1, j - 1, LIST_ARGS);
  if (n > 1) listLens.push(n);
  if (lastDistinct === 1 && lastFirstItem >= 0) {
    SA = pa;
    SB = pb;
    SW = pw;
    sp = base;
    hashExpr(lastFirstItem, lastFirstItemEnd);
  }
  return j;
}

function hashBetween(i: number, e: number): number {
  afterOperator = false;
  let a = i;
  const w = kwAt(a, e);
  if (w === KW.SYMMETRIC || w === KW.ASYMMETRIC) {
    if (w === KW.SYMMETRIC) mixToken(a);
    a++;
  }
  // operands: lower AND upper; order-insensitive rexpr list
  let m = a;
  while (m < e && kwAt(m, e) !== KW.AND) m = skip(m, e);
  let z = m + 1;
  // the upper bound ends at the next operator-level boundary: take one operand (+ casts)
  z = operandEnd(z, e);
  const base = sp;
  for (const [x, y] of [[a, m], [m + 1, z]] as const) {
    const pa = SA;
    const pb = SB;
    const pw = SW;
    SA = SEED_A;
    SB = SEED_B;
    SW = 0;
    hashTerm(x, y);
    const wrote = SW;
    const key = frameKey();
    SA = pa;
    SB = pb;
    SW = pw;
    if (wrote) pushKey(key);
  }
  mixSorted(base);
  return z;
}

/** End of a single operand starting at i: a primary with trailing casts/subscripts, or an arithmetic run. */
function operandEnd(i: number, e: number): number {
  let j = i;
  // allow a leading sign
  if (j < e && K[j] === Tok.Op && (HA[j] === MINUS_A || HA[j] === PLUS_A)) j++;
  while (j < e) {
    const k = K[j]!;
    if (k === Tok.Ident || k === Tok.QIdent) {
      const w = W[j]!;
      if (w !== 0 && keywordCategory(w) === 3 && w !== KW.NULL && w !== KW.TRUE && w !== KW.FALSE && w !== KW.CASE && w !== KW.ARRAY && w !== KW.CAST) break;
      if (w === KW.IS || w === KW.LIKE || w === KW.ILIKE || w === KW.SIMILAR || w === KW.NOTNULL || w === KW.ISNULL) break;
    }
    j = skip(j, e);
    // continue through casts, dots, subscripts, arithmetic operators
    if (j < e) {
      const n = K[j]!;
      if (n === Tok.Cast) {
        j = typeNameEnd(j + 1, e);
        if (j >= e) break;
      }
      const n2 = K[j];
      if (n2 === Tok.Dot || n2 === Tok.LBracket || n2 === Tok.LParen) continue;
      if (n2 === Tok.Op && HA[j] !== EQ_A) {
        j++;
        continue;
      }
      break;
    }
  }
  return j;
}

function hashArrayElems(s: number, e: number, top: boolean): void {
  let i = s;
  let items = 0;
  while (i < e) {
    let j = i;
    while (j < e && K[j] !== Tok.Comma) j = skip(j, e);
    if (j > i) {
      items++;
      if (K[i] === Tok.LBracket && MATCH[i] === j - 1) {
        marker(M.Array);
        hashArrayElems(i + 1, j - 1, false);
      } else hashExpr(i, j);
    }
    i = j + 1;
  }
  if (top && items > 1) listLens.push(items);
}

function hashCase(s: number, e: number): void {
  marker(M.Case);
  let i = s;
  // optional CASE arg
  let a = i;
  while (a < e && kwAt(a, e) !== KW.WHEN && kwAt(a, e) !== KW.ELSE) a = skip(a, e);
  if (a > i) hashExpr(i, a);
  i = a;
  const base = sp;
  while (i < e && kwAt(i, e) === KW.WHEN) {
    let t = i + 1;
    while (t < e && kwAt(t, e) !== KW.THEN) t = skip(t, e);
    let r = t + 1;
    while (r < e && kwAt(r, e) !== KW.WHEN && kwAt(r, e) !== KW.ELSE) r = skip(r, e);
    const pa = SA;
    const pb = SB;
    const pw = SW;
    SA = SEED_A;
    SB = SEED_B;
    SW = 0;
    marker(M.When);
    hashExpr(i + 1, t);
    marker(M.When);
    hashExpr(t + 1, r);
    const key = frameKey();
    SA = pa;
    SB = pb;
    SW = pw;
    pushKey(key);
    i = r;
  }
  mixSorted(base);
  if (kwAt(i, e) === KW.ELSE) {
    // a constant default result leaves no trace, like a missing ELSE
    const pa = SA;
    const pb = SB;
    const pw = SW;
    marker(M.Else);
    SW = 0;
    hashExpr(i + 1, e);
    if (SW === 0) {
      SA = pa;
      SB = pb;
      SW = pw;
    } else SW = 1;
  }
}

/** Keywords that are function names when followed by `(`. */
function isFuncKeyword(w: number): boolean {
  switch (w) {
    case KW.ANY: case KW.SOME: case KW.ALL: case KW.IN: case KW.EXISTS: case KW.ARRAY:
    case KW.ROW: case KW.CAST: case KW.VALUES: case KW.SELECT: case KW.USING: case KW.ON:
    case KW.AS: case KW.OVER: case KW.FILTER: case KW.WITHIN: case KW.AND: case KW.OR:
    case KW.NOT: case KW.WHERE: case KW.FROM: case KW.DISTINCT: case KW.INTO: case KW.THEN:
    case KW.ELSE: case KW.WHEN: case KW.CASE: case KW.BETWEEN: case KW.LIKE: case KW.ILIKE:
    case KW.IS: case KW.LATERAL: case KW.RETURNING: case KW.SET: case KW.BY:
      return false;
    default:
      return true;
  }
}

/** Function call name[.name](args) — i is the name start, g the `(`. Returns the index after `)`. */
function hashCall(i: number, g: number, e: number): number {
  for (let x = i; x < g; x++) {
    if (K[x] === Tok.Dot) marker(M.Dot);
    else mixToken(x);
  }
  marker(M.Func);
  const j = skip(g, e);
  const w = kwAt(g - 1, g);
  const special = w === KW.EXTRACT || w === KW.SUBSTRING || w === KW.POSITION || w === KW.TRIM || w === KW.OVERLAY;
  const saved = specialArgs;
  specialArgs = special;
  hashArgs(g + 1, j - 1);
  specialArgs = saved;
  return j;
}

/** Index after a type name at i: words (multi-word types), dotted parts, (typmods), [] bounds, %TYPE. */
function typeNameEnd(i: number, e: number): number {
  let j = i;
  if (j < e && (K[j] === Tok.Ident || K[j] === Tok.QIdent)) {
    const w = W[j]!;
    j++;
    while (j + 1 < e && K[j] === Tok.Dot) j += 2;
    // multi-word names
    if (w === KW.DOUBLE && kwAt(j, e) === KW.PRECISION) j++;
    else if ((w === KW.CHARACTER || w === KW.CHAR || w === KW.NATIONAL || w === KW.NCHAR) ) {
      if (kwAt(j, e) === KW.CHARACTER || kwAt(j, e) === KW.CHAR) j++;
      if (kwAt(j, e) === KW.VARYING) j++;
    } else if (w === KW.BIT && kwAt(j, e) === KW.VARYING) j++;
    if (j < e && K[j] === Tok.LParen) j = skip(j, e);
    if ((w === KW.TIME || w === KW.TIMESTAMP) && (kwAt(j, e) === KW.WITH || kwAt(j, e) === KW.WITHOUT) && kwAt(j + 1, e) === KW.TIME && kwAt(j + 2, e) === KW.ZONE) j += 3;
    if (w === KW.INTERVAL) {
      while (j < e) {
        const x = kwAt(j, e);
        if (x === KW.YEAR || x === KW.MONTH || x === KW.DAY || x === KW.HOUR || x === KW.MINUTE || x === KW.SECOND || x === KW.TO) j++;
        else if (K[j] === Tok.LParen && j > i) j = skip(j, e);
        else break;
      }
    }
  }
  while (j < e && K[j] === Tok.LBracket) j = skip(j, e);
  if (kwAt(j, e) === KW.ARRAY) {
    j++;
    if (K[j] === Tok.LBracket) j = skip(j, e);
  }
  return j > i ? j : Math.min(i + 1, e);
}

/** Mixes a type name normalised as PostgreSQL's grammar does for built-in type keywords. */
function mixTypeName(s: number, e: number): void {
  const w = kwAt(s, e);
  let canon = 0;
  switch (w) {
    case KW.INT: case KW.INTEGER: canon = 1; break;
    case KW.SMALLINT: canon = 2; break;
    case KW.BIGINT: canon = 3; break;
    case KW.REAL: canon = 4; break;
    case KW.DOUBLE: canon = 5; break;
    case KW.DECIMAL: case KW.DEC: case KW.NUMERIC: canon = 6; break;
    case KW.BOOLEAN: canon = 7; break;
    case KW.VARCHAR: canon = 8; break;
    case KW.CHARACTER: case KW.CHAR:
      canon = kwAt(s + 1, e) === KW.VARYING ? 8 : 9;
      break;
    case KW.FLOAT: canon = 5; break;
  }
  let i = s;
  if (canon !== 0) {
    mix(0x7c3a0000 | canon, canon * 0x45d9f3b);
    i = s + 1;
    while (i < e && (kwAt(i, e) === KW.PRECISION || kwAt(i, e) === KW.VARYING)) i++;
  }
  for (; i < e; i++) {
    const k = K[i]!;
    if (k === Tok.LParen) {
      // typmods are constants (ignored), but keep the fact that there are some
      i = skip(i, e) - 1;
      continue;
    }
    if (k === Tok.LBracket) {
      marker(M.Array);
      i = skip(i, e) - 1;
      continue;
    }
    if (k === Tok.Dot) marker(M.Dot);
    else mixToken(i);
  }
}

/** If tokens at i are a typed literal (type name followed by a string), returns the index after it; else 0. */
function typedLiteralEnd(i: number, e: number): number {
  const w = W[i]!;
  if (K[i] !== Tok.Ident) return 0;
  if (w !== 0 && w !== KW.DATE && w !== KW.TIME && w !== KW.TIMESTAMP && w !== KW.INTERVAL && keywordCategory(w) !== CAT_COLNAME && keywordCategory(w) !== CAT_UNRESERVED) return 0;
  let j = i + 1;
  if (w === 0 || keywordCategory(w) === CAT_UNRESERVED) {
    // generic `typename 'literal'`: only a plain word (or dotted) directly followed by a string
    while (j + 1 < e && K[j] === Tok.Dot) j += 2;
    if (K[j] !== Tok.String) return 0;
    return j + 1;
  }
  // built-in type keyword(s)
  if (w === KW.DOUBLE && kwAt(j, e) === KW.PRECISION) j++;
  if ((w === KW.CHARACTER || w === KW.CHAR) && kwAt(j, e) === KW.VARYING) j++;
  if (j < e && K[j] === Tok.LParen) {
    // varchar(10) 'x', interval(0) '…', timestamp(2) '…'; a call such as char(20) alone is not a literal
    j = skip(j, e);
  }
  if ((w === KW.TIME || w === KW.TIMESTAMP) && (kwAt(j, e) === KW.WITH || kwAt(j, e) === KW.WITHOUT) && kwAt(j + 1, e) === KW.TIME && kwAt(j + 2, e) === KW.ZONE) j += 3;
  const lk = K[j];
  if (lk !== Tok.String && !(w === KW.INTERVAL && (lk === Tok.Param || lk === Tok.QMark))) return 0;
  j++;
  if (w === KW.INTERVAL) {
    while (j < e) {
      const x = kwAt(j, e);
      if (x === KW.YEAR || x === KW.MONTH || x === KW.DAY || x === KW.HOUR || x === KW.MINUTE || x === KW.SECOND || x === KW.TO) j++;
      else if (K[j] === Tok.LParen && kwAt(j - 1, e) === KW.SECOND) j = skip(j, e);
      else break;
    }
  }
  return j;
}

// ---------------------------------------------------------------------------------------------
// Everything else (DDL, utility statements): tokens in order, constants dropped, groups nested

function hashGeneric(s: number, e: number): void {
  if (++depthGuard > MAX_DEPTH) {
    depthGuard--;
    return;
  }
  let i = s;
  let lastConst = false;
  while (i < e) {
    const k = K[i]!;
    if (k === Tok.String || k === Tok.Number || k === Tok.Param || k === Tok.QMark) {
      lastConst = true;
      i++;
      continue;
    }
    if (k === Tok.Op && !lastConst && HA[i] === MINUS_A && K[i + 1] === Tok.Number && K[i + 2] !== Tok.Cast && (i === s || !endsOperand(i - 1))) {
      i += 2;
      lastConst = true;
      continue;
    }
    if (k === Tok.Cast) {
      const j = typeNameEnd(i + 1, e);
      if (!lastConst) {
        marker(M.Cast);
        mixTypeName(i + 1, j);
      }
      i = j;
      continue;
    }
    const cw = W[i]!;
    if (cw === KW.NULL || cw === KW.TRUE || cw === KW.FALSE) {
      if (!(i > s && (W[i - 1] === KW.IS || (W[i - 1] === KW.NOT && W[i - 2] === KW.IS)))) {
        lastConst = true;
        i++;
        continue;
      }
    }
    lastConst = false;
    if (k === Tok.LParen) {
      const j = skip(i, e);
      if (isQueryStart(i + 1, j - 1)) {
        marker(M.SubExpr);
        hashStatement(i + 1, j - 1);
      } else {
        marker(M.Group);
        let a = i + 1;
        while (a < j - 1) {
          let b = a;
          while (b < j - 1 && K[b] !== Tok.Comma) b = skip(b, j - 1);
          hashExprOrGeneric(a, b);
          a = b + 1;
        }
        marker(M.SortedEnd);
      }
      i = j;
      continue;
    }
    const w = kwAt(i, e);
    if ((w === KW.SELECT || w === KW.WITH || w === KW.VALUES || w === KW.INSERT || w === KW.UPDATE || w === KW.DELETE) && i > s) {
      // CREATE TABLE … AS SELECT, EXPLAIN SELECT, CREATE VIEW … AS SELECT, COPY (…) TO …
      hashQuery(i, e);
      break;
    }
    if ((w === KW.TABLE || w === KW.INTO) && i + 1 < e && (K[i + 1] === Tok.Ident || K[i + 1] === Tok.QIdent)) {
      mixToken(i);
      let j = i + 1;
      const x = kwAt(j, e);
      if (x === 0 || keywordCategory(x) < 2) {
        // IF NOT EXISTS / ONLY are keywords and stay tokens
        if (x !== KW.ONLY) {
          j = hashRelationName(j, e, true);
          i = j;
          continue;
        }
      }
      i++;
      continue;
    }
    if (K[i] === Tok.Dot) marker(M.Dot);
    else mixToken(i);
    i++;
  }
  depthGuard--;
}

function hashExprOrGeneric(s: number, e: number): void {
  // Inside a DDL group: column definitions are word sequences; expressions need the boolean rules.
  if (topBools(s, e) !== 0) hashExpr(s, e);
  else hashGeneric(s, e);
}
