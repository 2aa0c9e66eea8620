/**
 * The PostgreSQL keywords the SQL toolkit reasons about, with their grammar category from
 * PostgreSQL's kwlist.h. The category decides whether a word can be an alias: reserved and
 * type/function-name keywords never are, which is how `FROM posts p JOIN …` tells the alias `p`
 * from the keyword `JOIN`.
 *
 * Lookup is by the lexer's lane-A hash of the lower-cased word, verified against the text, so a
 * keyword costs one Map probe and no string allocation.
 */

/** Keyword ids. 0 means "not a keyword". */
export const KW = {
  // clause and statement starters
  SELECT: 1, FROM: 2, WHERE: 3, GROUP: 4, BY: 5, HAVING: 6, WINDOW: 7, ORDER: 8, LIMIT: 9,
  OFFSET: 10, FETCH: 11, FOR: 12, UNION: 13, INTERSECT: 14, EXCEPT: 15, INTO: 16, VALUES: 17,
  INSERT: 18, UPDATE: 19, DELETE: 20, SET: 21, RETURNING: 22, WITH: 23, ON: 24, USING: 25,
  MERGE: 26, TABLE: 27, RECURSIVE: 28, DEFAULT: 29, CONFLICT: 30, DO: 31, NOTHING: 32,
  // expression words
  AND: 40, OR: 41, NOT: 42, IN: 43, ANY: 44, SOME: 45, ALL: 46, BETWEEN: 47, SYMMETRIC: 48,
  ASYMMETRIC: 49, LIKE: 50, ILIKE: 51, SIMILAR: 52, IS: 53, NULL: 54, TRUE: 55, FALSE: 56,
  CASE: 57, WHEN: 58, THEN: 59, ELSE: 60, END: 61, CAST: 62, EXISTS: 63, ARRAY: 64, ROW: 65,
  AS: 66, DISTINCT: 67, ISNULL: 68, NOTNULL: 69, ESCAPE: 70, COLLATE: 71, OVERLAPS: 72,
  UNKNOWN: 73, AT: 74, ZONE: 75, OVER: 76, FILTER: 77, WITHIN: 78, PARTITION: 79,
  // joins
  JOIN: 80, INNER: 81, LEFT: 82, RIGHT: 83, FULL: 84, OUTER: 85, CROSS: 86, NATURAL: 87,
  LATERAL: 88, ONLY: 89, TABLESAMPLE: 90, ORDINALITY: 91,
  // ordering / limits
  ASC: 95, DESC: 96, NULLS: 97, FIRST: 98, LAST: 99, NEXT: 100, ROWS: 101,
  TIES: 103,
  // types usable as typed-literal prefixes or with multi-word names
  INTERVAL: 110, DATE: 111, TIME: 112, TIMESTAMP: 113, DOUBLE: 114, PRECISION: 115,
  CHARACTER: 116, VARYING: 117, CHAR: 118, VARCHAR: 119, INT: 120, INTEGER: 121, SMALLINT: 122,
  BIGINT: 123, REAL: 124, FLOAT: 125, DECIMAL: 126, NUMERIC: 127, BOOLEAN: 128, BIT: 129,
  WITHOUT: 130, NATIONAL: 131, NCHAR: 132, DEC: 133, JSON: 134,
  YEAR: 140, MONTH: 141, DAY: 142, HOUR: 143, MINUTE: 144, SECOND: 145, TO: 146,
  // functions with special argument syntax
  EXTRACT: 150, SUBSTRING: 151, POSITION: 152, TRIM: 153, OVERLAY: 154, COALESCE: 155,
  NULLIF: 156, GREATEST: 157, LEAST: 158, BOTH: 159, LEADING: 160, TRAILING: 161,
  PLACING: 162,
  // statement classification
  BEGIN: 170, START: 171, TRANSACTION: 172, COMMIT: 173, ROLLBACK: 174, SAVEPOINT: 175,
  RELEASE: 176, ABORT: 177, PREPARE: 178, RESET: 179, SHOW: 180, DISCARD: 181, LISTEN: 182,
  UNLISTEN: 183, DEALLOCATE: 184, EXPLAIN: 185, CREATE: 186, ALTER: 187, DROP: 188,
  TRUNCATE: 189, COPY: 190, GRANT: 191, REVOKE: 192, COMMENT: 193, VACUUM: 194, ANALYZE: 195,
  ANALYSE: 196, REINDEX: 197, CLUSTER: 198, CALL: 199, EXECUTE: 200, NOTIFY: 201, LOCK: 202,
  REFRESH: 203, DECLARE: 204, CLOSE: 205, MOVE: 206, CHECKPOINT: 207, LOAD: 208,
  SECURITY: 209, IMPORT: 210, REASSIGN: 211, WORK: 212, TEMP: 213, TEMPORARY: 214,
  UNLOGGED: 215, VIEW: 216, INDEX: 217, MATERIALIZED: 218, SEQUENCE: 219, FUNCTION: 220,
  // misc reserved / type-func words (alias guards)
  CHECK: 232, COLUMN: 233, CONSTRAINT: 234, CURRENT_CATALOG: 235,
  CURRENT_DATE: 236, CURRENT_ROLE: 237, CURRENT_TIME: 238, CURRENT_TIMESTAMP: 239,
  CURRENT_USER: 240, DEFERRABLE: 241, FOREIGN: 242, INITIALLY: 243, LOCALTIME: 244,
  LOCALTIMESTAMP: 245, PRIMARY: 246, REFERENCES: 247, SESSION_USER: 248, SYSTEM_USER: 249,
  UNIQUE: 250, USER: 251, VARIADIC: 252, AUTHORIZATION: 253, BINARY: 254, COLLATION: 255,
  CONCURRENTLY: 256, CURRENT_SCHEMA: 257, FREEZE: 258, VERBOSE: 259, OF: 260, NOWAIT: 261,
  SKIP: 262, LOCKED: 263, SHARE: 264, KEY: 265, NO: 266, OVERRIDING: 267, MATCHED: 268,
  CURRENT: 269, STORED: 270, RETURNS: 271,
} as const;

export type KeywordId = (typeof KW)[keyof typeof KW];

/** Grammar category per keyword id: R reserved, T type_func_name, C col_name, U unreserved. */
const enumCategory = new Uint8Array(512);
export const CAT_UNRESERVED = 0;
export const CAT_COLNAME = 1;
export const CAT_TYPEFUNC = 2;
export const CAT_RESERVED = 3;

// PostgreSQL 17 kwlist.h: RESERVED_KEYWORD and TYPE_FUNC_NAME_KEYWORD entries we know by id.
const RESERVED = [
  'ALL', 'ANALYSE', 'ANALYZE', 'AND', 'ANY', 'ARRAY', 'AS', 'ASC', 'ASYMMETRIC', 'BOTH', 'CASE', 'CAST',
  'CHECK', 'COLLATE', 'COLUMN', 'CONSTRAINT', 'CREATE', 'CURRENT_CATALOG', 'CURRENT_DATE',
  'CURRENT_ROLE', 'CURRENT_TIME', 'CURRENT_TIMESTAMP', 'CURRENT_USER', 'DEFAULT', 'DEFERRABLE',
  'DESC', 'DISTINCT', 'DO', 'ELSE', 'END', 'EXCEPT', 'FALSE', 'FETCH', 'FOR', 'FOREIGN', 'FROM',
  'GRANT', 'GROUP', 'HAVING', 'IN', 'INITIALLY', 'INTERSECT', 'INTO', 'LATERAL', 'LEADING', 'LIMIT',
  'LOCALTIME', 'LOCALTIMESTAMP', 'NOT', 'NULL', 'OFFSET', 'ON', 'ONLY', 'OR', 'ORDER', 'PLACING',
  'PRIMARY', 'REFERENCES', 'RETURNING', 'SELECT', 'SESSION_USER', 'SOME', 'SYMMETRIC', 'SYSTEM_USER',
  'TABLE', 'THEN', 'TO', 'TRAILING', 'TRUE', 'UNION', 'UNIQUE', 'USER', 'USING', 'VARIADIC', 'WHEN',
  'WHERE', 'WINDOW', 'WITH',
];
const TYPE_FUNC = [
  'AUTHORIZATION', 'BINARY', 'COLLATION', 'CONCURRENTLY', 'CROSS', 'CURRENT_SCHEMA', 'FREEZE', 'FULL',
  'ILIKE', 'INNER', 'IS', 'ISNULL', 'JOIN', 'LEFT', 'LIKE', 'NATURAL', 'NOTNULL', 'OUTER', 'OVERLAPS',
  'RIGHT', 'SIMILAR', 'TABLESAMPLE', 'VERBOSE',
];
const COL_NAME = [
  'BETWEEN', 'BIGINT', 'BIT', 'BOOLEAN', 'CHAR', 'CHARACTER', 'COALESCE', 'DEC', 'DECIMAL', 'EXISTS',
  'EXTRACT', 'FLOAT', 'GREATEST', 'INT', 'INTEGER', 'INTERVAL', 'LEAST', 'NATIONAL', 'NCHAR', 'NULLIF',
  'NUMERIC', 'OVERLAY', 'POSITION', 'PRECISION', 'REAL', 'ROW', 'SMALLINT', 'SUBSTRING', 'TIME',
  'TIMESTAMP', 'TRIM', 'VALUES', 'VARCHAR', 'JSON',
];

// Open-addressing table keyed by the lexer's lane-A hash: an Int32Array probe is much cheaper
// than a Map lookup with int32 keys (which are heap numbers beyond 31 bits).
const SLOTS = 2048;
const slotHash = new Int32Array(SLOTS);
const slotId = new Uint16Array(SLOTS);
const words: string[] = [];

function laneA(word: string): number {
  let a = 0x811c9dc5 | 0;
  for (let i = 0; i < word.length; i++) a = Math.imul(a ^ word.charCodeAt(i), 0x01000193);
  return a ^ word.length;
}

const names: string[] = [];
for (const [name, id] of Object.entries(KW)) {
  const word = name.toLowerCase();
  names[id] = name;
  const h = laneA(word);
  words[id] = word;
  let slot = h & (SLOTS - 1);
  while (slotId[slot] !== 0) slot = (slot + 1) & (SLOTS - 1);
  slotHash[slot] = h;
  slotId[slot] = id;
}
for (const w of RESERVED) enumCategory[(KW as Record<string, number>)[w] ?? 0] = CAT_RESERVED;
for (const w of TYPE_FUNC) enumCategory[(KW as Record<string, number>)[w] ?? 0] = CAT_TYPEFUNC;
for (const w of COL_NAME) enumCategory[(KW as Record<string, number>)[w] ?? 0] = CAT_COLNAME;
enumCategory[0] = CAT_UNRESERVED;

/**
 * The keywords' lower-case letters packed into one byte array (offset and length per id): the
 * lexer verifies a hash hit (every keyword it meets) against these bytes, with the length test
 * first, instead of indexing a JS array of strings and calling charCodeAt on a second string.
 */
const wordBytes = new Uint8Array(4096);
const wordOff = new Uint16Array(512);
const wordLen = new Uint8Array(512);
{
  let off = 0;
  for (let id = 0; id < words.length; id++) {
    const w = words[id];
    if (w === undefined) continue;
    wordOff[id] = off;
    wordLen[id] = w.length;
    for (let j = 0; j < w.length; j++) wordBytes[off++] = w.charCodeAt(j);
  }
}

/** Keyword id of text[s, e) whose lane-A hash is `ha`, or 0. */
export function keywordId(text: string, s: number, e: number, ha: number): number {
  const len = e - s;
  if (len < 2 || len > 17) return 0;
  let slot = ha & (SLOTS - 1);
  for (;;) {
    const id = slotId[slot]!;
    if (id === 0) return 0;
    if (slotHash[slot] === ha && wordLen[id] === len) {
      // exact check (the hash alone could collide): ASCII-lower-cased text against the keyword
      let o = wordOff[id]!;
      let j = s;
      for (; j < e; j++, o++) {
        let c = text.charCodeAt(j);
        if (c <= 90 && c >= 65) c += 32;
        if (c !== wordBytes[o]) break;
      }
      if (j === e) return id;
    }
    slot = (slot + 1) & (SLOTS - 1);
  }
}

export function keywordCategory(id: number): number {
  return enumCategory[id] ?? CAT_UNRESERVED;
}

/** Upper-case name of a keyword id (for summaries and commands). */
export function keywordName(id: number): string {
  return names[id] ?? '';
}
