/**
 * `summarize(sql)`: the OpenTelemetry `db.query.summary`, a low-cardinality name for a statement
 * made of its operations and their targets in the order they appear: `SELECT posts users`,
 * `INSERT shipping_details SELECT orders`, `SELECT SELECT orders customers`. It names spans and
 * groups metrics, so it must never carry values, and stays ≤ 255 characters, cut only between
 * whole operations/targets.
 *
 * Rules (the semantic conventions' examples and SQL test cases, and the reference Java
 * instrumentation's cases where the conventions are silent):
 * - operations and targets are written as the application wrote them (no case folding); the
 *   words of a multi-word operation are joined by one space (`CREATE  TABLE` → `CREATE TABLE`);
 * - SELECT is an operation wherever it appears (subqueries, set operations, CTE bodies, scalar
 *   subqueries in the select list) — it is a reserved word; INSERT/UPDATE/DELETE/MERGE only where
 *   a statement can start (start of text, after `(`, after a CTE body) and when followed by the
 *   shape of that statement, so `FOR UPDATE`, `ON CONFLICT DO UPDATE`, MERGE's `THEN UPDATE` and a
 *   column named `update` are not operations;
 * - targets: the relations of a SELECT's FROM list and JOINs (table functions included), the
 *   target of INSERT INTO / UPDATE / DELETE FROM / MERGE INTO; not UPDATE … FROM or DELETE …
 *   USING or MERGE … USING (only the modified table names the operation), not SELECT … INTO;
 *   names keep their schema and quotes (`dbo.Table`, `"song list"`); aliases are dropped;
 * - CTE names are not targets (the CTE body already shows its tables); WITH is not an operation;
 * - other commands: CREATE/ALTER/DROP + object type + object name (`CREATE TABLE MyTable`,
 *   `CREATE INDEX idx`, `DROP TABLE a b`); CREATE TABLE/VIEW … AS, EXPLAIN, PREPARE … AS,
 *   DECLARE … FOR and COPY (query) continue with the inner statement; TRUNCATE/LOCK [TABLE] names;
 *   COPY name; CALL name; REFRESH MATERIALIZED VIEW name; anything else: its first word
 *   (`BEGIN`, `SET`, `VACUUM`);
 * - several statements are joined with `; `; empty or comment-only text gives ''.
 *
 * One pass over the lexer's tokens with a small frame per parenthesis level (no recursion, so
 * 10 000 nested parentheses cost 10 000 frames, not 10 000 stack frames).
 */
import { CAT_RESERVED, KW, keywordCategory } from './keywords.js';
import { createLexed, identText, lex, Tok, type Lexed } from './lexer.js';

export const MAX_SUMMARY_LENGTH = 255;

const own = createLexed();

export function summarize(sql: string): string {
  return summarizeLexed(lex(sql, own));
}

// What kind of query a frame holds, which decides what FROM / USING mean there.
const Q_NONE = 0;
const Q_SELECT = 1;
const Q_INSERT = 2;
const Q_UPDATE = 3;
const Q_DELETE = 4;
const Q_MERGE = 5;
const Q_OTHER = 6;
// Table-reference list state: none, names are targets, names are read but not targets.
const F_NONE = 0;
const F_CAPTURE = 1;
const F_SKIP = 2;
// WITH list state.
const W_NONE = 0;
const W_NAME = 1;
const W_AFTER_NAME = 2;
const W_BODY = 3;
const W_AFTER_BODY = 4;

// Frames, one per open parenthesis, reused between calls.
const fQuery: number[] = [];
const fFrom: number[] = [];
const fExpect: number[] = [];
const fStmtPos: number[] = [];
const fWith: number[] = [];

function initFrame(d: number, from: number, expect: number): void {
  fQuery[d] = Q_NONE;
  fFrom[d] = from;
  fExpect[d] = expect;
  fStmtPos[d] = 1;
  fWith[d] = W_NONE;
}

/** Accumulates parts, never beyond MAX_SUMMARY_LENGTH and never cutting a part. */
class Parts {
  out = '';
  full = false;
  /** the current statement has written a part (decides the `; ` separator) */
  stmtWritten = false;

  reset(): void {
    this.out = '';
    this.full = false;
    this.stmtWritten = false;
  }

  add(part: string): void {
    if (this.full) return;
    const sep = this.out === '' ? '' : this.stmtWritten ? ' ' : '; ';
    if (this.out.length + sep.length + part.length > MAX_SUMMARY_LENGTH) {
      this.full = true;
      return;
    }
    this.out += sep + part;
    this.stmtWritten = true;
  }
}

// Reused between calls: the summary runs on every analyser miss, so it allocates only its output.
const parts = new Parts();
const ctes: string[] = [];
const NO_CTES: readonly string[] = [];

export function summarizeLexed(t: Lexed): string {
  const n = t.count;
  if (n === 0) return '';
  parts.reset();
  ctes.length = 0;
  let d = 0;
  initFrame(0, F_NONE, 0);
  let atStart = true;
  let skipRest = false;
  /** `AS` at depth 0 opens the inner statement (CREATE TABLE/VIEW … AS, PREPARE … AS) */
  let allowAs = false;

  for (let i = 0; i < n && !parts.full; i++) {
    const k = t.kind[i];
    if (k === Tok.Semi) {
      d = 0;
      initFrame(0, F_NONE, 0);
      atStart = true;
      skipRest = false;
      allowAs = false;
      parts.stmtWritten = false;
      ctes.length = 0;
      continue;
    }
    if (skipRest) continue;

    if (atStart) {
      atStart = false;
      if (k === Tok.Ident) {
        const h = head(t, i, parts);
        // a command head consumed its words: DML/WITH inside it start only where it says so
        if (h.next !== i && t.kw[i] !== KW.EXPLAIN) fStmtPos[0] = 0;
        if (h.skipRest) {
          skipRest = true;
          continue;
        }
        allowAs = h.allowAs;
        if (h.next !== i) {
          i = h.next - 1;
          continue;
        }
      }
    }

    switch (k) {
      case Tok.LParen: {
        const cteBody = fWith[d] === W_BODY;
        const tableParen = !cteBody && fExpect[d] === 1;
        const from = tableParen ? (fFrom[d] === F_SKIP ? F_SKIP : F_CAPTURE) : F_NONE;
        if (cteBody) fWith[d] = W_AFTER_BODY;
        fExpect[d] = 0;
        fStmtPos[d] = 0;
        d++;
        initFrame(d, from, tableParen ? 1 : 0);
        continue;
      }
      case Tok.RParen:
        if (d > 0) d--;
        fStmtPos[d] = fWith[d] === W_AFTER_BODY ? 1 : 0;
        continue;
      case Tok.Comma:
        if (fFrom[d] !== F_NONE) fExpect[d] = 1;
        else if (fWith[d] === W_AFTER_BODY) fWith[d] = W_NAME;
        fStmtPos[d] = 0;
        continue;
      case Tok.QIdent:
        if (fWith[d] === W_NAME) {
          ctes.push(identText(t, i));
          fWith[d] = W_AFTER_NAME;
        } else if (fExpect[d] === 1) {
          i = target(t, i, fFrom[d] !== F_SKIP, parts, ctes);
          fExpect[d] = 0;
        }
        fStmtPos[d] = 0;
        continue;
      case Tok.Ident:
        break;
      default:
        fExpect[d] = 0;
        fStmtPos[d] = 0;
        continue;
    }

    // An unquoted word.
    const w = t.kw[i]!;
    if (fWith[d] === W_NAME) {
      if (w !== KW.RECURSIVE) {
        ctes.push(identText(t, i));
        fWith[d] = W_AFTER_NAME;
      }
      continue;
    }
    if (fWith[d] === W_AFTER_NAME) {
      if (w === KW.AS) fWith[d] = W_BODY;
      continue;
    }
    if (fExpect[d] === 1) {
      if (w === KW.LATERAL || w === KW.ONLY) continue;
      if (canBeTable(w)) {
        i = target(t, i, fFrom[d] !== F_SKIP, parts, ctes);
        fExpect[d] = 0;
        fStmtPos[d] = 0;
        continue;
      }
    }
    const stmtPos = fStmtPos[d] === 1;
    fStmtPos[d] = 0;
    switch (w) {
      case KW.SELECT:
        parts.add(raw(t, i));
        fQuery[d] = Q_SELECT;
        fFrom[d] = F_NONE;
        fExpect[d] = 0;
        fWith[d] = W_NONE;
        break;
      case KW.INSERT: case KW.UPDATE: case KW.DELETE: case KW.MERGE:
        fExpect[d] = 0;
        if (stmtPos && dmlShape(t, i)) {
          parts.add(raw(t, i));
          fQuery[d] = w === KW.INSERT ? Q_INSERT : w === KW.UPDATE ? Q_UPDATE : w === KW.DELETE ? Q_DELETE : Q_MERGE;
          fFrom[d] = F_NONE;
          fWith[d] = W_NONE;
          // INSERT INTO / DELETE FROM / MERGE INTO: the next word is the target
          if (w !== KW.UPDATE) i++;
          fExpect[d] = 1;
        }
        break;
      case KW.WITH:
        fExpect[d] = 0;
        if (stmtPos) fWith[d] = W_NAME;
        break;
      case KW.FROM:
        if (fQuery[d] === Q_SELECT && !distinctFrom(t, i)) {
          fFrom[d] = F_CAPTURE;
          fExpect[d] = 1;
        } else if (fQuery[d] === Q_UPDATE) {
          fFrom[d] = F_SKIP;
          fExpect[d] = 1;
        }
        break;
      case KW.USING:
        if ((fQuery[d] === Q_DELETE || fQuery[d] === Q_MERGE) && fFrom[d] === F_NONE) {
          fFrom[d] = F_SKIP;
          fExpect[d] = 1;
        }
        break;
      case KW.JOIN:
        if (fFrom[d] !== F_NONE) fExpect[d] = 1;
        break;
      case KW.AS:
        if (allowAs && d === 0 && fQuery[d] !== Q_SELECT) fStmtPos[d] = 1;
        break;
      case KW.ON:
        fExpect[d] = 0;
        break;
      case KW.WHERE: case KW.GROUP: case KW.ORDER: case KW.HAVING: case KW.LIMIT: case KW.OFFSET:
      case KW.WINDOW: case KW.FETCH: case KW.FOR: case KW.RETURNING: case KW.SET: case KW.UNION:
      case KW.INTERSECT: case KW.EXCEPT: case KW.VALUES: case KW.INTO:
        fFrom[d] = F_NONE;
        fExpect[d] = 0;
        break;
      default:
        // join qualifiers keep a pending JOIN expectation alive; anything else ends it
        if (!(w === KW.INNER || w === KW.LEFT || w === KW.RIGHT || w === KW.FULL || w === KW.OUTER || w === KW.CROSS || w === KW.NATURAL)) fExpect[d] = 0;
        break;
    }
  }
  return parts.out;
}

/** The head of a DML/WITH statement: nothing consumed, the main scan takes over at `i`. */
const plainHead = { next: 0, skipRest: false, allowAs: false };
function headAt(i: number): Head {
  plainHead.next = i;
  return plainHead;
}

interface Head {
  /** token index where normal scanning resumes (the head's own index: nothing consumed) */
  next: number;
  skipRest: boolean;
  allowAs: boolean;
}

/**
 * The first word of a statement. DML and WITH are left to the main scan; other commands write their
 * operation (and object) here and say whether the rest can hold subqueries worth summarising.
 */
function head(t: Lexed, i: number, parts: Parts): Head {
  const w = t.kw[i]!;
  switch (w) {
    case KW.SELECT: case KW.WITH:
      return headAt(i);
    case KW.INSERT: case KW.UPDATE: case KW.DELETE: case KW.MERGE:
      if (dmlShape(t, i)) return headAt(i);
      parts.add(raw(t, i));
      return { next: i + 1, skipRest: true, allowAs: false };
    case KW.VALUES:
      parts.add(raw(t, i));
      fQuery[0] = Q_OTHER;
      return { next: i + 1, skipRest: false, allowAs: false };
    case KW.TABLE: {
      parts.add(raw(t, i));
      if (isName(t, i + 1)) target(t, i + 1, true, parts, NO_CTES);
      return { next: i + 1, skipRest: true, allowAs: false };
    }
    case KW.EXPLAIN: {
      parts.add(raw(t, i));
      let j = i + 1;
      for (;;) {
        const kw = t.kind[j] === Tok.Ident ? t.kw[j] : 0;
        if (kw === KW.ANALYZE || kw === KW.ANALYSE || kw === KW.VERBOSE) j++;
        else if (t.kind[j] === Tok.LParen && j === i + 1) j = t.match[j]! + 1;
        else break;
      }
      // the explained statement starts here
      fStmtPos[0] = 1;
      return { next: j, skipRest: false, allowAs: false };
    }
    case KW.CREATE: case KW.ALTER: case KW.DROP:
      return ddlHead(t, i, parts);
    case KW.TRUNCATE: case KW.LOCK: {
      let op = raw(t, i);
      let j = i + 1;
      if (t.kind[j] === Tok.Ident && t.kw[j] === KW.TABLE) op += ' ' + raw(t, j++);
      parts.add(op);
      nameList(t, j, parts, true);
      return { next: j, skipRest: true, allowAs: false };
    }
    case KW.COPY: {
      parts.add(raw(t, i));
      if (t.kind[i + 1] === Tok.LParen) {
        fQuery[0] = Q_OTHER;
        return { next: i + 1, skipRest: false, allowAs: false };
      }
      if (isName(t, i + 1)) target(t, i + 1, true, parts, NO_CTES);
      return { next: i + 1, skipRest: true, allowAs: false };
    }
    case KW.CALL: {
      parts.add(raw(t, i));
      if (isName(t, i + 1)) target(t, i + 1, true, parts, NO_CTES);
      return { next: i + 1, skipRest: true, allowAs: false };
    }
    case KW.REFRESH: {
      let op = raw(t, i);
      let j = i + 1;
      while (t.kind[j] === Tok.Ident && (t.kw[j] === KW.MATERIALIZED || t.kw[j] === KW.VIEW)) op += ' ' + raw(t, j++);
      parts.add(op);
      if (t.kind[j] === Tok.Ident && t.kw[j] === KW.CONCURRENTLY) j++;
      if (isName(t, j)) target(t, j, true, parts, NO_CTES);
      return { next: j, skipRest: true, allowAs: false };
    }
    case KW.START: {
      const two = t.kind[i + 1] === Tok.Ident && t.kw[i + 1] === KW.TRANSACTION;
      parts.add(two ? raw(t, i) + ' ' + raw(t, i + 1) : raw(t, i));
      return { next: i + 1, skipRest: true, allowAs: false };
    }
    case KW.PREPARE: {
      if (t.kind[i + 1] === Tok.Ident && t.kw[i + 1] === KW.TRANSACTION) {
        parts.add(raw(t, i) + ' ' + raw(t, i + 1));
        return { next: i + 1, skipRest: true, allowAs: false };
      }
      parts.add(raw(t, i));
      fQuery[0] = Q_OTHER;
      return { next: i + 1, skipRest: false, allowAs: true };
    }
    case KW.DECLARE:
      parts.add(raw(t, i));
      fQuery[0] = Q_OTHER;
      return { next: i + 1, skipRest: false, allowAs: false };
    default:
      parts.add(raw(t, i));
      return { next: i + 1, skipRest: true, allowAs: false };
  }
}

// CREATE modifiers that are not part of the object type.
const CREATE_MODIFIERS = new Set(['or', 'replace', 'temp', 'temporary', 'unlogged', 'global', 'local', 'unique', 'recursive', 'trusted', 'procedural']);
// Object types spelled with two words (or three: FOREIGN DATA WRAPPER, TEXT SEARCH …).
const TWO_WORD = new Set(['materialized', 'foreign', 'event', 'access', 'text', 'constraint', 'large', 'default']);

function ddlHead(t: Lexed, i: number, parts: Parts): Head {
  const verb = t.kw[i];
  let j = i + 1;
  if (verb === KW.CREATE) {
    while (t.kind[j] === Tok.Ident && CREATE_MODIFIERS.has(identText(t, j))) j++;
  }
  if (t.kind[j] !== Tok.Ident) {
    parts.add(raw(t, i));
    return { next: j, skipRest: true, allowAs: false };
  }
  const type = identText(t, j);
  let op = raw(t, i) + ' ' + raw(t, j);
  j++;
  const nextWord = t.kind[j] === Tok.Ident ? identText(t, j) : '';
  if (nextWord !== '') {
    if (type === 'foreign' && nextWord === 'data' && t.kind[j + 1] === Tok.Ident) {
      op += ' ' + raw(t, j) + ' ' + raw(t, j + 1);
      j += 2;
    } else if (type === 'text' && nextWord === 'search' && t.kind[j + 1] === Tok.Ident) {
      op += ' ' + raw(t, j) + ' ' + raw(t, j + 1);
      j += 2;
    } else if (
      TWO_WORD.has(type) ||
      (type === 'user' && nextWord === 'mapping') ||
      (type === 'operator' && (nextWord === 'class' || nextWord === 'family'))
    ) {
      op += ' ' + raw(t, j);
      j++;
    }
  }
  parts.add(op);
  while (t.kind[j] === Tok.Ident && (t.kw[j] === KW.CONCURRENTLY || t.kw[j] === KW.ONLY || t.kw[j] === KW.NOT || t.kw[j] === KW.EXISTS || identText(t, j) === 'if')) j++;
  j = nameList(t, j, parts, verb === KW.DROP);
  if (verb === KW.CREATE && (type === 'table' || type === 'view' || type === 'materialized')) {
    fQuery[0] = Q_OTHER;
    return { next: j, skipRest: false, allowAs: true };
  }
  return { next: j, skipRest: true, allowAs: false };
}

/** Writes the name at `j` (and, when `list`, the comma-separated names after it); returns the index after. */
function nameList(t: Lexed, j: number, parts: Parts, list: boolean): number {
  for (;;) {
    if (t.kind[j] === Tok.Ident && t.kw[j] === KW.ONLY) j++;
    if (!isName(t, j)) return j;
    j = target(t, j, true, parts, NO_CTES) + 1;
    if (t.kind[j] === Tok.Op && t.text.charCodeAt(t.start[j]!) === 42) j++; // inheritance `*`
    if (!list || t.kind[j] !== Tok.Comma) return j;
    j++;
  }
}

/** A token that can start an object name in a command (not a clause keyword). */
function isName(t: Lexed, j: number): boolean {
  if (j >= t.count) return false;
  if (t.kind[j] === Tok.QIdent) return true;
  if (t.kind[j] !== Tok.Ident) return false;
  const w = t.kw[j]!;
  if (w === 0) return true;
  if (w === KW.SET || w === KW.RESET || w === KW.TO || w === KW.AUTHORIZATION) return false;
  return keywordCategory(w) !== CAT_RESERVED;
}

/** A word that may name a relation after FROM/JOIN/INTO/UPDATE (any but clause words). */
function canBeTable(w: number): boolean {
  if (w === 0 || w === KW.TABLE || w === KW.USER) return true;
  if (keywordCategory(w) === CAT_RESERVED) return false;
  return !(
    w === KW.JOIN || w === KW.INNER || w === KW.LEFT || w === KW.RIGHT || w === KW.FULL ||
    w === KW.CROSS || w === KW.NATURAL || w === KW.SET || w === KW.TABLESAMPLE || w === KW.VALUES
  );
}

/** INSERT INTO, DELETE FROM, MERGE INTO, UPDATE <name>: the words that make these statements. */
function dmlShape(t: Lexed, i: number): boolean {
  const j = i + 1;
  if (j >= t.count) return false;
  const w = t.kw[i];
  const k = t.kind[j];
  if (w === KW.UPDATE) return k === Tok.QIdent || (k === Tok.Ident && (t.kw[j] === KW.ONLY || canBeTable(t.kw[j]!)));
  if (k !== Tok.Ident) return false;
  return w === KW.DELETE ? t.kw[j] === KW.FROM : t.kw[j] === KW.INTO;
}

/** `IS [NOT] DISTINCT FROM` is an operator, not a FROM clause. */
function distinctFrom(t: Lexed, i: number): boolean {
  if (i < 2 || t.kw[i - 1] !== KW.DISTINCT || t.kind[i - 1] !== Tok.Ident) return false;
  const w = t.kw[i - 2];
  return w === KW.IS || w === KW.NOT;
}

/**
 * Reads a (qualified) relation name at `i`, writes it unless `emit` is false or it names a CTE, and
 * returns the index of its last token.
 */
function target(t: Lexed, i: number, emit: boolean, parts: Parts, ctes: readonly string[]): number {
  let name = raw(t, i);
  let j = i;
  while (
    j + 2 < t.count &&
    t.kind[j + 1] === Tok.Dot &&
    (t.kind[j + 2] === Tok.Ident || t.kind[j + 2] === Tok.QIdent)
  ) {
    name += '.' + raw(t, j + 2);
    j += 2;
  }
  if (emit && !(j === i && ctes.length > 0 && ctes.includes(identText(t, i)))) parts.add(name);
  return j;
}

function raw(t: Lexed, i: number): string {
  return t.text.slice(t.start[i]!, t.end[i]!);
}
