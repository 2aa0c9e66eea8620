// SQL toolkit benchmark: per-query cost of querylens's fingerprint (uncached and memo hit) against
// libpg_query's own fingerprint (@libpg-query/parser, WebAssembly build of the real parser), over
// the DML statements of the shared corpus, in one process. Each variant runs as a full pass over
// the corpus; passes alternate between variants and the table reports the median pass.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { fingerprintUncached, createAnalyzer } = await import(`${root}dist/src/sql/analyze.js`);
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

let sink = 0;
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
  console.log(`| ${name} | ${m.toFixed(3)} | ${name.startsWith('libpg') ? '1×' : `${(ref / m).toFixed(1)}× faster`} |`);
}
if (sink === 42) console.log('');
