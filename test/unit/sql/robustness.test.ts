/**
 * Property-based robustness of the SQL toolkit (fast-check): well over 100 000 generated inputs —
 * random strings and bytes, token soups of SQL fragments, truncated real statements, statements
 * carrying known literal payloads — plus deeply nested and megabyte-sized statements.
 *
 * On every string: fingerprint, normalize, summarize and sanitize never throw; the fingerprint is
 * 16 hex digits; the summary is at most 255 characters. `sanitize` never lets a literal through:
 * the payload planted inside a literal is never in its output. Time grows linearly with the input.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprint, normalize, sanitize, summarize } from '../../../src/sql/index.js';
import { sqlFixture } from './fixture-paths.js';

const HEX16 = /^[0-9a-f]{16}$/;

/** Runs all four functions and checks the shape of their results; returns false on any violation. */
function allHold(sql: string): boolean {
  const fp = fingerprint(sql);
  const summary = summarize(sql);
  normalize(sql);
  sanitize(sql);
  return HEX16.test(fp) && summary.length <= 255;
}

// ---------------------------------------------------------------------------------------------
// Generators

/** Pieces that stress the lexer: openers and closers of every quoted/commented form. */
const FRAGMENTS = [
  'SELECT', 'select', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'IN', 'ANY', 'ARRAY', 'INSERT', 'INTO',
  'VALUES', 'UPDATE', 'SET', 'DELETE', 'WITH', 'AS', 'JOIN', 'ON', 'USING', 'CASE', 'WHEN', 'THEN',
  'ELSE', 'END', 'UNION', 'ORDER', 'BY', 'GROUP', 'LIMIT', 'MERGE', 'CREATE', 'TABLE', 'EXPLAIN',
  'IS', 'TRUE', 'FALSE', 'NULL', 'DATE', 'INTERVAL', 'LATERAL', 'RETURNING', 'DO', 'FOR',
  'users', 'posts', '"Quoted"', '"a""b"', 'public.t', 't_2024_01', 'c3po', 'x', 'e', 'E', 'U', 'u&',
  "'", "''", "'abc'", "'it''s'", "E'", "E'\\", "E'\\''", "e'x\\'y'", "U&'", "U&'d\\0061'", "U&\"", "B'01'", "X'1F'", "N'n'",
  '$$', '$$body$$', '$tag$', '$tag$ x $tag$', '$1', '$2', '$10', '$', '?', '?|', '?&', '::', ':', ':=', '::int', '::text[]',
  '/*', '*/', '/* c */', '/* /* nested */ */', '--', '-- c\n', '\n', '\t', ' ',
  '(', ')', '[', ']', ',', ';', '.', '*', '+', '-', '=', '<>', '!=', '<=', '@>', '||', '->>', '#', '%', '^', '\\', '{', '}', '`',
  '0', '1', '12', '-12', '1.5', '.5', '1e-3', '1E+5', '0x1F', '0o17', '0b101', '1_000', '1abc', '1..2',
];

const fragment = fc.constantFrom(...FRAGMENTS);
const tokenSoup = fc
  .array(fc.tuple(fragment, fc.constantFrom('', ' ', ' ', '\n')), { maxLength: 40 })
  .map((parts) => parts.map(([f, sep]) => f + sep).join(''));
const sqlChars = fc.string({ unit: fc.constantFrom(..."sElECt FROMwhere'\"$-/*()[]\\eEuUbBxXnN&0123456789.,;:?_ \n\t#@<>=+|".split('')), maxLength: 120 });

/** A few thousand real statements from the corpus, to cut at random positions. */
const corpus: string[] = readFileSync(sqlFixture('pg-corpus.oracle.jsonl'), 'utf8')
  .split('\n', 4000)
  .filter((line) => line.length > 0)
  .map((line) => (JSON.parse(line) as { sql: string }).sql);
const truncated = fc
  .tuple(fc.integer({ min: 0, max: corpus.length - 1 }), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([i, at]) => {
    const sql = corpus[i]!;
    return sql.slice(0, Math.floor(sql.length * at));
  });

// ---------------------------------------------------------------------------------------------
// Literal payloads for the no-leak property

let markerSeq = 0;
/** A marker no generated code fragment can contain: letters Q, Z and a counter. */
const marker = fc.nat({ max: 1e6 }).map((n) => `QZ${(markerSeq++).toString(36)}Z${n.toString(36)}QZ`);
const bodyChars = fc.string({ unit: fc.constantFrom(...'ab c-/*#"$;:()\n\t\\é'.split('')), maxLength: 12 });

/** A string constant of some PostgreSQL form whose body holds `m`. Closed unless it is the last piece. */
const stringLiteral = (m: string): fc.Arbitrary<string> =>
  fc.tuple(bodyChars, bodyChars, fc.integer({ min: 0, max: 8 })).map(([a, b, form]) => {
    const plain = (a + m + b).replace(/'/g, "''");
    switch (form) {
      case 0: return `'${plain}'`;
      case 1: return `E'${(a + m + b).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
      case 2: return `U&'${plain.replace(/\\/g, '\\\\')}'`;
      case 3: return `N'${plain}'`;
      case 4: return `X'${plain}'`;
      case 5: {
        const body = (a + m + b).replace(/\$/g, '');
        return `$lit$${body}$lit$`;
      }
      case 6: return `$$${(a + m + b).replace(/\$/g, '')}$$`;
      case 7: return `DATE '${plain}'`;
      default: return `'${a.replace(/'/g, "''")}'\n  '${m}${b.replace(/'/g, "''")}'`;
    }
  });

/** A digits-only marker planted in a number constant (returned with the digits to look for). */
const numberLiteral = fc
  .tuple(fc.integer({ min: 100_000_000, max: 999_999_999 }), fc.integer({ min: 0, max: 5 }))
  .map(([n, form]) => {
    const d = String(n);
    switch (form) {
      case 0: return { literal: d, marker: d };
      case 1: return { literal: `-${d}`, marker: d };
      case 2: return { literal: `${d}.${d}e-12`, marker: d };
      case 3: return { literal: `0x${d}`, marker: d };
      case 4: return { literal: `${d.slice(0, 3)}_${d.slice(3, 6)}_${d.slice(6)}`, marker: `${d.slice(0, 3)}_${d.slice(3, 6)}_${d.slice(6)}` };
      default: return { literal: `.${d}`, marker: d };
    }
  });

/** Complete code fragments only (no lone quotes or comment openers), so the literal stays a literal. */
const CODE = FRAGMENTS.filter((f) => !/['"$]|\/\*|\*\/|--|^[eEuUnNbBxX&u]+$|\d/.test(f) || /^(\$\d+|\$tag\$ x \$tag\$|\$\$body\$\$|'abc'|'it''s'|"Quoted"|"a""b"|\/\* c \*\/|-- c\n)$/.test(f));
const code = fc.array(fc.constantFrom(...CODE), { maxLength: 12 }).map((parts) => parts.join(' '));

// ---------------------------------------------------------------------------------------------

describe('robustness on generated input', () => {
  it('never throws on random strings of any code units (25 000 inputs)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 160 }), allHold), { numRuns: 15_000 });
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), allHold), { numRuns: 5_000 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => allHold(Buffer.from(bytes).toString('latin1'))),
      { numRuns: 5_000 },
    );
  });

  it('never throws on random strings of SQL-significant characters (25 000 inputs)', () => {
    fc.assert(fc.property(sqlChars, allHold), { numRuns: 25_000 });
  });

  it('never throws on token soups of SQL fragments (25 000 inputs)', () => {
    fc.assert(fc.property(tokenSoup, allHold), { numRuns: 25_000 });
  });

  it('never throws on real statements cut at random positions (20 000 inputs)', () => {
    expect(corpus.length).toBeGreaterThan(3000);
    fc.assert(fc.property(truncated, allHold), { numRuns: 20_000 });
  });

  it('never lets a string literal through sanitize, whatever surrounds it (8 000 inputs)', () => {
    const statement = marker.chain((m) =>
      fc.tuple(code, stringLiteral(m), code, fc.boolean()).map(([before, literal, after, unterminated]) => ({
        m,
        // an unterminated literal swallows everything after it
        sql: unterminated ? `${before} ${literal.slice(0, -1)} ${after}` : `${before} ${literal} ${after}`,
      })),
    );
    fc.assert(
      fc.property(statement, ({ m, sql }) => !sanitize(sql).includes(m) && allHold(sql)),
      { numRuns: 8_000 },
    );
  });

  it('never lets a number literal through sanitize, whatever surrounds it (5 000 inputs)', () => {
    const statement = fc.tuple(code, numberLiteral, code).map(([before, n, after]) => ({ m: n.marker, sql: `${before} ${n.literal} ${after}` }));
    fc.assert(
      fc.property(statement, ({ m, sql }) => !sanitize(sql).includes(m) && allHold(sql)),
      { numRuns: 5_000 },
    );
  });

  it('never lets literals through sanitize in real statements with planted payloads (2 000 inputs)', () => {
    // Statements whose string constants a regular expression can find exactly: no backslashes,
    // dollar quotes, quoted identifiers or comments that could hide or fake a quote.
    const plain = corpus.filter((sql) => sql.includes("'") && !/[\\$"]|--|\/\*/.test(sql));
    expect(plain.length).toBeGreaterThan(500);
    const planted = fc.tuple(fc.integer({ min: 0, max: plain.length - 1 }), marker).map(([i, m]) => ({
      m,
      sql: plain[i]!.replace(/'(?:[^']|'')*'/g, (lit) => `'${m}${lit.slice(1)}`),
    }));
    fc.assert(
      fc.property(planted, ({ m, sql }) => sql.includes(m) && !sanitize(sql).includes(m)),
      { numRuns: 2_000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

const DEPTH = 10_000;
const deep: Readonly<Record<string, string>> = {
  'nested subqueries': `SELECT * FROM ${'(SELECT * FROM '.repeat(DEPTH)}t${') s'.repeat(DEPTH)}`,
  'nested function calls': `SELECT ${'f('.repeat(DEPTH)}1${')'.repeat(DEPTH)}`,
  'nested arrays': `SELECT ${'ARRAY['.repeat(DEPTH)}1${']'.repeat(DEPTH)}`,
  'nested CASE': `SELECT ${'CASE WHEN a THEN '.repeat(DEPTH)}1${' END'.repeat(DEPTH)}`,
  'nested OR groups': `SELECT * FROM t WHERE ${'a = 1 OR ('.repeat(DEPTH)}b = 2${')'.repeat(DEPTH)}`,
  'closing parentheses only': ')'.repeat(DEPTH),
};
const parens = (depth: number): Readonly<Record<string, string>> => ({
  'parentheses around a literal': `SELECT ${'('.repeat(depth)}1${')'.repeat(depth)}`,
  'parentheses around a condition': `SELECT * FROM t WHERE ${'('.repeat(depth)}a = 1${')'.repeat(depth)}`,
  'unclosed parentheses': `SELECT ${'('.repeat(depth)}`,
  'unclosed IN list': `SELECT * FROM t WHERE a IN ${'('.repeat(depth)}`,
});
const deepParens = parens(DEPTH);

describe(`robustness on ${DEPTH} levels of nesting`, () => {
  it.each(Object.entries({ ...deep, ...deepParens }))('normalize, summarize and sanitize handle %s', (_name, sql) => {
    expect(summarize(sql).length).toBeLessThanOrEqual(255);
    expect(typeof normalize(sql)).toBe('string');
    expect(typeof sanitize(sql)).toBe('string');
  });

  it.each(Object.entries({ ...deep, ...deepParens }))('fingerprint handles %s', (_name, sql) => {
    expect(fingerprint(sql)).toMatch(HEX16);
  });

  // Parentheses that are not subqueries once made the fingerprint recurse per level (a stack
  // overflow near 10 000 levels) and rescan per level (quadratic); five times deeper still passes.
  it.each(Object.entries(parens(5 * DEPTH)))('fingerprint handles %s at 50 000 levels in well under a second', (_name, sql) => {
    const t0 = performance.now();
    expect(fingerprint(sql)).toMatch(HEX16);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

// ---------------------------------------------------------------------------------------------

/** Builds a statement of about `bytes` characters by repeating `unit(i)`. */
function sized(bytes: number, head: string, unit: (i: number) => string, sep: string, tail: string): string {
  const parts: string[] = [];
  let n = head.length + tail.length;
  for (let i = 0; n < bytes; i++) {
    const u = unit(i);
    parts.push(u);
    n += u.length + sep.length;
  }
  return head + parts.join(sep) + tail;
}

const big: Readonly<Record<string, (bytes: number) => string>> = {
  'multi-row INSERT with strings, numbers and comments': (b) =>
    sized(b, 'INSERT INTO events (id, name, payload, at) VALUES ', (i) => `(${i}, 'name ${i} it''s', E'p\\'${i}', -${i}.5e3) /* row ${i} */`, ',\n', ' RETURNING id'),
  'long WHERE of AND/OR comparisons': (b) =>
    sized(b, 'SELECT * FROM t WHERE ', (i) => `(a${i % 97} = ${i} OR b IN (${i}, '${i}', $${(i % 9) + 1}))`, ' AND ', ''),
  'one huge string constant': (b) => `SELECT '${'x'.repeat(b - 10)}'`,
  'many small statements': (b) => sized(b, '', (i) => `SELECT * FROM p_${i % 50} WHERE id = ${i}`, '; ', ''),
  'huge IN list': (b) => sized(b, 'SELECT * FROM t WHERE id IN (', (i) => String(i), ', ', ')'),
};

/** Best of `runs` alternating timings of `a` and `b` (ms): alternation spreads any noise evenly. */
function bestTimes(a: () => unknown, b: () => unknown, runs: number): [number, number] {
  let ta = Infinity;
  let tb = Infinity;
  for (let r = 0; r < runs; r++) {
    let t0 = performance.now();
    a();
    ta = Math.min(ta, performance.now() - t0);
    t0 = performance.now();
    b();
    tb = Math.min(tb, performance.now() - t0);
  }
  return [ta, tb];
}

describe('robustness on megabyte statements', () => {
  const fns = { fingerprint, normalize, summarize, sanitize } as const;

  it.each(Object.entries(big))('%s: 1 MB in well under a second, 2 MB in under 3× the time of 1 MB', (_name, make) => {
    const one = make(1 << 20);
    const two = make(2 << 20);
    for (const [fnName, fn] of Object.entries(fns)) {
      const [t1, t2] = bestTimes(() => fn(one), () => fn(two), 5);
      expect(t1, `${fnName} on 1 MB`).toBeLessThan(1000);
      // Generous: linear time gives ~2×, quadratic 4×; the 50 ms absorb GC pauses and the other
      // test files running on the same cores.
      expect(t2, `${fnName}: 2 MB took ${t2.toFixed(1)} ms, 1 MB ${t1.toFixed(1)} ms`).toBeLessThan(3 * t1 + 50);
    }
    expect(fingerprint(one)).toMatch(HEX16);
    expect(summarize(two).length).toBeLessThanOrEqual(255);
  });
});
