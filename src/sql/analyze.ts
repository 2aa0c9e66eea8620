/**
 * One scan of a SQL text → everything querylens needs to know about it (SqlInfo), memoised in a
 * bounded LRU because services send the same few hundred texts over and over: a memo hit is a
 * Map lookup, a miss is one lexer pass plus one structural hashing pass.
 */
import { LRUCache } from 'lru-cache';
import { scanFingerprint, tableCount } from './fingerprint.js';
import { KW, keywordName } from './keywords.js';
import { createLexed, identText, lex, Tok, type Lexed } from './lexer.js';
import type { ExactFingerprinter } from './exact-fingerprint.js';
import type { SqlInfo, StatementClass } from './sql-info.js';
import { summarizeLexed } from './summarize.js';

export interface AnalyzerOptions {
  /** Entries kept in the text → SqlInfo memo. Default 5 000; 0 disables the memo. */
  readonly memoMax?: number;
  /** Drop schema names from relation names, as libpg_query 18 does. Default false (libpg_query 17). */
  readonly ignoreSchema?: boolean;
  /** Texts longer than this are analysed but not memoised (they are rarely repeated). Default 16 384 chars. */
  readonly memoMaxTextLength?: number;
  /** Exact mode: libpg_query's own fingerprint when it is loaded and parses the text (see exact-fingerprint.ts). */
  readonly exact?: ExactFingerprinter;
}

export type Analyzer = (sql: string) => SqlInfo;

const shared = createLexed();
const tableScratch: number[] = [];
const listScratch: number[] = [];

const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** 16 hex digits in one allocation (string concatenation of parts showed up at 13% of a miss). */
function hex16(x: number, y: number): string {
  return String.fromCharCode(
    HEX[(x >>> 28) & 15]!, HEX[(x >>> 24) & 15]!, HEX[(x >>> 20) & 15]!, HEX[(x >>> 16) & 15]!,
    HEX[(x >>> 12) & 15]!, HEX[(x >>> 8) & 15]!, HEX[(x >>> 4) & 15]!, HEX[x & 15]!,
    HEX[(y >>> 28) & 15]!, HEX[(y >>> 24) & 15]!, HEX[(y >>> 20) & 15]!, HEX[(y >>> 16) & 15]!,
    HEX[(y >>> 12) & 15]!, HEX[(y >>> 8) & 15]!, HEX[(y >>> 4) & 15]!, HEX[y & 15]!,
  );
}

/** The two hash lanes, finalised and written as 16 hex digits (also used by the bench's floor rows). */
export function finalLanes(a: number, b: number): string {
  // fmix32 on both lanes, cross-fed, so every input bit reaches every output bit
  let x = a ^ Math.imul(b, 0x27d4eb2d);
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  let y = b ^ Math.imul(x, 0x165667b1);
  y ^= y >>> 15;
  y = Math.imul(y, 0x2c1b3c6d);
  y ^= y >>> 12;
  y = Math.imul(y, 0x297a2d39);
  y ^= y >>> 15;
  return hex16(x, y);
}

/** Fingerprint of already-lexed tokens (shared by analyze and fingerprint). */
export function fingerprintLexed(t: Lexed, ignoreSchema: boolean, tables: number[], lists: number[]): { fingerprint: string; statements: number } {
  const r = scanFingerprint(t, ignoreSchema, tables, lists);
  return { fingerprint: finalLanes(r.a, r.b), statements: r.statements };
}

export function assertSql(sql: unknown, fn: string): asserts sql is string {
  if (typeof sql !== 'string') {
    const what = sql === null ? 'null' : Array.isArray(sql) ? 'an array' : typeof sql === 'object' ? `an object (${Object.prototype.toString.call(sql)})` : `${typeof sql} ${String(sql).slice(0, 40)}`;
    throw new TypeError(`querylens.${fn}(sql): expected the SQL text as a string, got ${what}`);
  }
}

function classify(t: Lexed, first: number, second: number): { command: string; statementClass: StatementClass } {
  if (first < 0) return { command: '', statementClass: 'other' };
  const w = t.kind[first] === Tok.Ident ? t.kw[first]! : 0;
  const w2 = second >= 0 && t.kind[second] === Tok.Ident ? t.kw[second]! : 0;
  const word = w !== 0 ? keywordName(w) : t.kind[first] === Tok.Ident ? identText(t, first).toUpperCase() : '';
  switch (w) {
    case KW.SELECT: {
      // ORM/driver bootstrap: select version(), current_schema(), pg_backend_pid() …
      return { command: 'SELECT', statementClass: isBootstrapSelect(t, second) ? 'session' : 'read' };
    }
    case KW.VALUES: case KW.TABLE:
      return { command: word, statementClass: 'read' };
    case KW.WITH:
      return { command: 'WITH', statementClass: withWrites(t) ? 'write' : 'read' };
    case KW.INSERT: case KW.UPDATE: case KW.DELETE: case KW.MERGE: case KW.TRUNCATE:
      return { command: word, statementClass: 'write' };
    case KW.COPY:
      return { command: 'COPY', statementClass: copyFrom(t) ? 'write' : 'read' };
    case KW.BEGIN: case KW.START: case KW.COMMIT: case KW.END: case KW.ROLLBACK: case KW.SAVEPOINT:
    case KW.RELEASE: case KW.ABORT:
      return { command: w === KW.START ? 'START TRANSACTION' : word, statementClass: 'transaction' };
    case KW.PREPARE:
      return w2 === KW.TRANSACTION ? { command: 'PREPARE TRANSACTION', statementClass: 'transaction' } : { command: 'PREPARE', statementClass: 'other' };
    case KW.SET: case KW.RESET: case KW.SHOW: case KW.DISCARD: case KW.LISTEN: case KW.UNLISTEN: case KW.DEALLOCATE:
      return { command: word, statementClass: 'session' };
    case KW.CREATE: case KW.ALTER: case KW.DROP: case KW.COMMENT: case KW.GRANT: case KW.REVOKE:
    case KW.REINDEX: case KW.CLUSTER: case KW.VACUUM: case KW.ANALYZE: case KW.ANALYSE: case KW.REFRESH:
    case KW.SECURITY: case KW.IMPORT: case KW.REASSIGN: {
      const sub = w2 !== 0 && (w === KW.CREATE || w === KW.ALTER || w === KW.DROP) ? ` ${keywordName(w2)}` : '';
      return { command: word + sub, statementClass: 'ddl' };
    }
    default:
      return { command: word, statementClass: 'other' };
  }
}

function isBootstrapSelect(t: Lexed, second: number): boolean {
  // exactly `select <fn>()` (optionally with alias) for a known bootstrap function
  if (second < 0 || t.kind[second] !== Tok.Ident) return false;
  if (t.kind[second + 1] !== Tok.LParen || t.kind[second + 2] !== Tok.RParen) return false;
  for (let i = second + 3; i < t.count; i++) {
    const k = t.kind[i]!;
    if (k === Tok.Semi) break;
    if (k !== Tok.Ident && k !== Tok.QIdent) return false;
    if (t.kw[i] === KW.FROM || t.kw[i] === KW.WHERE) return false;
  }
  const name = identText(t, second);
  return BOOTSTRAP.has(name);
}
const BOOTSTRAP = new Set(['version', 'current_schema', 'current_database', 'pg_backend_pid', 'current_user', 'current_setting', 'txid_current', 'inet_server_addr']);

function withWrites(t: Lexed): boolean {
  for (let i = 0; i < t.count; i++) {
    const w = t.kw[i]!;
    if (t.kind[i] === Tok.Ident && (w === KW.INSERT || w === KW.UPDATE || w === KW.DELETE || w === KW.MERGE)) {
      // `FOR UPDATE` is a lock, not a write
      if (w === KW.UPDATE && i > 0 && (t.kw[i - 1] === KW.FOR || t.kw[i - 1] === KW.KEY || t.kw[i - 1] === KW.NO)) continue;
      if (w === KW.UPDATE && i > 0 && t.kw[i - 1] === KW.DO) continue;
      return true;
    }
  }
  return false;
}

function copyFrom(t: Lexed): boolean {
  for (let i = 1; i < t.count; i++) if (t.kind[i] === Tok.Ident && t.kw[i] === KW.FROM) return true;
  return false;
}

function analyzeUncached(sql: string, ignoreSchema: boolean, exact: string | undefined): SqlInfo {
  const t = lex(sql, shared);
  if (listScratch.length !== 0) listScratch.length = 0;
  const { fingerprint, statements } = fingerprintLexed(t, ignoreSchema, tableScratch, listScratch);
  let first = -1;
  let second = -1;
  let hasLiterals = false;
  for (let i = 0; i < t.count; i++) {
    const k = t.kind[i]!;
    if (k === Tok.String || k === Tok.Number) hasLiterals = true;
    if (first < 0) {
      if (k !== Tok.LParen) first = i;
    } else if (second < 0) second = i;
  }
  const { command, statementClass } = classify(t, first, second);
  const tables: string[] = [];
  const written: string[] = [];
  for (let r = 0; r < tableCount; r += 3) {
    let name = '';
    for (let i = tableScratch[r]!; i < tableScratch[r + 1]!; i++) name += t.kind[i] === Tok.Dot ? '.' : identText(t, i);
    if (!tables.includes(name)) tables.push(name);
    if (tableScratch[r + 2] === 1 && !written.includes(name)) written.push(name);
  }
  // CREATE/ALTER/DROP/TRUNCATE targets are collected by the generic pass as written; only DML writes count
  const writes = statementClass === 'write' ? written : [];
  return Object.freeze({
    fingerprint: exact ?? fingerprint,
    command,
    statementClass,
    summary: summarizeLexed(t),
    tables: Object.freeze(tables),
    writtenTables: Object.freeze(writes),
    hasLiterals,
    maxParam: t.maxParam,
    listLengths: Object.freeze(listScratch.slice()),
    multiStatement: statements > 1,
  });
}

/**
 * Creates a memoised analyser. Each lens owns one (so its memo size is its own); the module-level
 * functions share a default one.
 */
export function createAnalyzer(options: AnalyzerOptions = {}): Analyzer {
  const memoMax = options.memoMax ?? 5000;
  const ignoreSchema = options.ignoreSchema ?? false;
  const maxLen = options.memoMaxTextLength ?? 16_384;
  const exact = options.exact;
  if (memoMax <= 0) {
    return (sql: string): SqlInfo => {
      assertSql(sql, 'analyze');
      return analyzeUncached(sql, ignoreSchema, exact?.fingerprint(sql));
    };
  }
  const memo = new LRUCache<string, SqlInfo>({ max: memoMax });
  return (sql: string): SqlInfo => {
    const hit = memo.get(sql);
    if (hit !== undefined) return hit;
    assertSql(sql, 'analyze');
    const exactFp = exact?.fingerprint(sql);
    const info = analyzeUncached(sql, ignoreSchema, exactFp);
    // In exact mode a fallback result (parser still loading) must not stick in the memo.
    if (sql.length <= maxLen && (exact === undefined || exactFp !== undefined)) memo.set(sql, info);
    return info;
  };
}

/** Fingerprint only, no memo (used by benchmarks and the fingerprint() export on a miss). */
export function fingerprintUncached(sql: string, ignoreSchema = false): string {
  const t = lex(sql, shared);
  if (listScratch.length !== 0) listScratch.length = 0;
  // straight to the lanes: no intermediate { fingerprint, statements } object on this path
  const r = scanFingerprint(t, ignoreSchema, tableScratch, listScratch);
  return finalLanes(r.a, r.b);
}
