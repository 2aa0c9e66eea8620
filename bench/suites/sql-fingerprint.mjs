// SQL toolkit benchmark: per-query cost of querylens's fingerprint (uncached and memo hit) against
// libpg_query's own fingerprint (@libpg-query/parser, WebAssembly build of the real parser), over
// the DML statements of the shared corpus, in one process. Each variant runs as a full pass over
// the corpus; passes alternate between variants and the table reports the median pass.
//
// Floor rows (not fingerprints) show what any token-based fingerprint written in JavaScript pays
// before its first equivalence rule: reading every character once, a deliberately incomplete
// tokenizer (words, numbers, quotes and one-character punctuation only), querylens's own lexer, and
// that lexer plus one mix per non-literal token. A second table sets them against the budget the
// ≥ 10× target leaves (libpg_query's median / 10).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { fingerprintUncached, createAnalyzer, finalLanes } = await import(`${root}dist/src/sql/analyze.js`);
const { lex, createLexed } = await import(`${root}dist/src/sql/lexer.js`);
const libpg = await import('@libpg-query/parser');
await libpg.loadModule();

const DML = /^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*(\(\s*)*(select|insert|update|delete|with)\b/i;
const corpus = readFileSync(`${root}../shared/fixtures/sql/pg-corpus.oracle.jsonl`, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l).sql)
  .filter((s) => DML.test(s));
// libpg_query's WebAssembly build overflows its stack now and then on the few deeply nested
// statements (depth ≥ 12, 3 of them): time it on the rest, and count anything it throws.
const depth = (s) => { let d = 0, m = 0; for (const c of s) { if (c === '(') m = Math.max(m, ++d); else if (c === ')') d--; } return m; };
const parses = corpus.filter((s) => depth(s) < 12);
let libpgErrors = 0;

const analyzeFull = createAnalyzer({ memoMax: 0 });
const memo = createAnalyzer({ memoMax: 100_000 });
for (const s of corpus) memo(s);
const hot = corpus.filter((_, i) => i % 100 === 0).slice(0, 300);

// --- floors -----------------------------------------------------------------------------------
const lexed = createLexed();
// Minimal tokenizer: 0 punctuation, 1 space, 2 word, 3 digit, 4 quote. No keywords, comments,
// operators, escapes, dollar quotes or brackets: strictly less than a PostgreSQL lexer must do.
const CL = new Uint8Array(128);
const LOW = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (c === 32 || c === 10 || c === 9 || c === 13) CL[c] = 1;
  else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) CL[c] = 2;
  else if (c >= 48 && c <= 57) CL[c] = 3;
  else if (c === 39) CL[c] = 4;
  if (c >= 65 && c <= 90) LOW[c] = c + 32;
  else if ((c >= 97 && c <= 122) || c === 95 || (c >= 48 && c <= 57) || c === 36) LOW[c] = c;
}
const mKind = new Uint8Array(1 << 17);
const mStart = new Int32Array(1 << 17);
const mEnd = new Int32Array(1 << 17);
const mHash = new Int32Array(1 << 17);
function minimalTokens(text) {
  const n = text.length;
  let i = 0;
  let count = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const d = c < 128 ? CL[c] : 2;
    if (d === 1) { i++; continue; }
    const s = i;
    let h = 0;
    if (d === 2) {
      let a = 0x811c9dc5 | 0;
      while (i < n) {
        let x = text.charCodeAt(i);
        if (x < 128) { x = LOW[x]; if (x === 0) break; }
        a = Math.imul(a ^ x, 0x01000193);
        i++;
      }
      h = a;
    } else if (d === 3) {
      i++;
      while (i < n) { const x = text.charCodeAt(i); if (x < 48 || x > 57) break; i++; }
    } else if (d === 4) {
      i = text.indexOf("'", i + 1);
      i = i < 0 ? n : i + 1;
    } else { i++; h = c; }
    mKind[count] = d; mStart[count] = s; mEnd[count] = i; mHash[count] = h;
    count++;
  }
  return count;
}
/** querylens's lexer, then every non-literal token mixed in order and finalised as the real path does: no equivalence rule at all. */
function flatHash(text) {
  const t = lex(text, lexed);
  const n = t.count;
  const K = t.kind;
  const HA = t.ha;
  const HB = t.hb;
  let a = 0x2545f491 | 0;
  let b = 0x7f4a7c15 | 0;
  for (let i = 0; i < n; i++) {
    const k = K[i];
    if (k === 3 || k === 4 || k === 5) continue; // String, Number, Param
    // fingerprint.ts's mix(), written out: that one keeps its lanes in module state it does not export
    a = Math.imul(a ^ HA[i] ^ (k << 24), 0x85ebca6b);
    a ^= a >>> 15;
    b = Math.imul(b ^ HB[i], 0xc2b2ae35);
    b = (b << 13) | (b >>> 19);
    a = (a + (b >>> 7)) | 0;
    b ^= a;
  }
  return finalLanes(a, b);
}

let sink = 0;
const FLOORS = [
  'floor: read every character once (charCodeAt loop)',
  'floor: minimal tokenizer (words, numbers, quotes, 1-char punctuation)',
  'floor: querylens lexer alone',
  'floor: lexer + one mix per non-literal token, no equivalence rules',
];
const variants = {
  'querylens fingerprint, uncached': () => { for (const s of corpus) sink ^= fingerprintUncached(s).charCodeAt(0); return corpus.length; },
  'querylens full analysis (SqlInfo), uncached': () => { for (const s of corpus) sink ^= analyzeFull(s).fingerprint.charCodeAt(0); return corpus.length; },
  // a service sends a few hundred distinct texts over and over: the memo's real working set
  'querylens memo hit (300-text working set)': () => { for (let k = 0; k < 100; k++) for (const s of hot) sink ^= memo(s).fingerprint.charCodeAt(0); return hot.length * 100; },
  'querylens memo hit (all 32k texts, cold CPU caches)': () => { for (const s of corpus) sink ^= memo(s).fingerprint.charCodeAt(0); return corpus.length; },
  'libpg_query fingerprintSync (reference)': () => {
    for (const s of parses) {
      try { sink ^= libpg.fingerprintSync(s).charCodeAt(0); } catch { libpgErrors++; }
    }
    return parses.length;
  },
  [FLOORS[0]]: () => { for (const s of corpus) { for (let i = 0; i < s.length; i++) sink ^= s.charCodeAt(i); } return corpus.length; },
  [FLOORS[1]]: () => { for (const s of corpus) sink ^= minimalTokens(s); return corpus.length; },
  [FLOORS[2]]: () => { for (const s of corpus) sink ^= lex(s, lexed).count; return corpus.length; },
  [FLOORS[3]]: () => { for (const s of corpus) sink ^= flatHash(s).charCodeAt(0); return corpus.length; },
};

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const fn of Object.values(variants)) fn(); // warm-up: JIT and the memo
for (let r = 0; r < ROUNDS; r++) {
  const names = Object.keys(variants);
  if (r % 2 === 1) names.reverse();
  for (const name of names) {
    const t0 = process.hrtime.bigint();
    const n = variants[name]();
    results[name].push(Number(process.hrtime.bigint() - t0) / n / 1000);
  }
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ref = median(results['libpg_query fingerprintSync (reference)']);
console.log(`${corpus.length} DML statements (libpg_query timed on the ${parses.length} with nesting depth < 12; ${libpgErrors} calls threw), ${ROUNDS} alternating passes; ${cpus()[0]?.model ?? '?'} × ${cpus().length}, node ${process.version}`);
console.log('| variant | median µs/query | vs libpg_query |');
console.log('|---|---:|---:|');
for (const [name, xs] of Object.entries(results)) {
  const m = median(xs);
  console.log(`| ${name} | ${m.toFixed(3)} | ${name.startsWith('libpg') ? '1×' : name.startsWith('floor') ? '(not a fingerprint)' : `${(ref / m).toFixed(1)}× faster`} |`);
}
// What the ≥ 10× target leaves once the floors are paid.
const budget = ref / 10;
const full = median(results['querylens fingerprint, uncached']);
console.log(`\n≥ 10× needs ≤ ${budget.toFixed(3)} µs/query in this run; querylens takes ${full.toFixed(3)} (${(100 * full / budget).toFixed(0)} % of it).`);
console.log('| floor | µs/query | share of the 10× budget | left for the equivalence rules |');
console.log('|---|---:|---:|---:|');
for (const name of FLOORS) {
  const m = median(results[name]);
  console.log(`| ${name.slice(7)} | ${m.toFixed(3)} | ${(100 * m / budget).toFixed(0)} % | ${(budget - m).toFixed(3)} |`);
}
const rules = full - median(results[FLOORS[3]]);
console.log(`querylens's equivalence rules (uncached − last floor): ${rules.toFixed(3)} µs/query.`);
if (sink === 42) console.log('');
