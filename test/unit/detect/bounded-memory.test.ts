/**
 * The detector's memory per unit of work is bounded by the named caps in detect/limits.ts, however
 * many statements the unit issues: a one-million-statement job scope is fed through the detector
 * (synthetic events with real SQL analysis and real call-site captures, no database) and the heap
 * is measured after 100 000 and after 1 000 000 statements.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createCallsiteCapturer } from '../../../src/context/callsite-capture.js';
import { Scope } from '../../../src/context/scope.js';
import type { Finding } from '../../../src/core/finding.js';
import { resolveLensOptions, type LensOptions } from '../../../src/core/lens-options.js';
import type { CallsiteCapture, QueryEndEvent, ResultView, ScopeInfo } from '../../../src/core/query-event.js';
import { detectConfig, QueryDetector } from '../../../src/detect/query-detector.js';
import { createAnalyzer } from '../../../src/sql/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const analyze = createAnalyzer();
const capture = createCallsiteCapturer('always', { root: process.cwd(), depth: 32, sampleRate: 1 });
const target = { kind: 'pool' as const, name: 'test', database: 'test', host: undefined, port: undefined, poolCounts: () => undefined };
const FIELDS = [
  { name: 'id', dataTypeID: 23 },
  { name: 'post_id', dataTypeID: 23 },
  { name: 'body', dataTypeID: 25 },
];

let nextId = 0;
function event(scope: ScopeInfo | undefined, text: string, values: unknown[], rows: unknown[], callsite: CallsiteCapture | undefined, t: number): QueryEndEvent {
  const result: ResultView = { command: 'SELECT', rowCount: rows.length, rows, fields: FIELDS };
  return {
    type: 'query-end', id: ++nextId, sql: analyze(text), text, values, name: undefined, startTime: t, startTimeUnixMs: t,
    callsite, scope, operation: undefined, target, poolWaitMs: undefined, ignored: false, streamed: false,
    durationMs: 0.1, rowCount: rows.length, result, error: undefined, sqlstate: undefined,
  };
}

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1e6;
}

function detector(options: LensOptions): { detector: QueryDetector; findings: Finding[] } {
  const findings: Finding[] = [];
  const config = detectConfig(resolveLensOptions({ mode: 'development', ...options }))!;
  return { detector: new QueryDetector(config, { report: (f) => void findings.push(f) }), findings };
}

/** 50 loop shapes (letters: the fingerprint groups numbered tables) at 5 call sites; every statement returns 3 rows with fresh ids. */
const TEXTS = Array.from({ length: 50 }, (_, i) => `SELECT * FROM comments_${String.fromCharCode(97 + (i % 26), 97 + Math.floor(i / 26))} WHERE post_id = $1`);
function viaCapture(): CallsiteCapture | undefined {
  return capture(true, viaCapture);
}
// Five distinct call sites, each its own line in this file.
const sites = [
  () => viaCapture(),
  () => viaCapture(),
  () => viaCapture(),
  () => viaCapture(),
  () => viaCapture(),
];

function runJob(d: QueryDetector, scope: ScopeInfo, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const k = i % 50;
    const rows = [
      { id: 3 * i, post_id: i, body: 'x' },
      { id: 3 * i + 1, post_id: i, body: 'y' },
      { id: 3 * i + 2, post_id: i, body: 'z' },
    ];
    d.handle(event(scope, TEXTS[k]!, [i], rows, sites[k % 5]!(), i));
  }
}

describe('bounded memory', () => {
  it('keeps a 1 000 000-statement scope within its caps (heap growth after the first 100 000 stays small)', () => {
    const { detector: d, findings } = detector({ reportAfterMs: false });
    const scope = new Scope('scope', 'import job', undefined, 0);
    d.handle({ type: 'scope-start', scope });
    // Warm up (JIT, memos) in a scope of its own, so the baseline includes them.
    const warm = new Scope('scope', 'warm-up', undefined, 0);
    runJob(d, warm, 0, 20_000);
    d.handle({ type: 'scope-end', scope: warm, endTime: 1, failed: false });
    findings.length = 0;
    const before = heapMb();
    runJob(d, scope, 0, 100_000);
    const at100k = heapMb();
    runJob(d, scope, 100_000, 1_000_000);
    const at1m = heapMb();
    d.handle({ type: 'scope-end', scope, endTime: 1e6, failed: false });
    const after = heapMb();
    process.stderr.write(`[bounded-memory] heap MB: before ${before.toFixed(1)}, after 100k ${at100k.toFixed(1)}, after 1M ${at1m.toFixed(1)}, after scope end ${after.toFixed(1)}\n`);
    // The caps are reached well before 100 000 statements: the next 900 000 add (almost) nothing.
    expect(at1m - at100k).toBeLessThan(10);
    expect(at100k - before).toBeLessThan(60);
    // Scope end releases the state.
    expect(after - before).toBeLessThan(10);
    expect(d.openScopes).toBe(0);
    // Every loop shape is still reported, with its full count.
    const loops = findings.filter((f) => f.kind === 'n-plus-one');
    expect(loops).toHaveLength(50);
    expect(loops.every((f) => f.count === 20_000 && f.distinctParams === 20_000)).toBe(true);
    expect(new Set(loops.map((f) => f.callsite?.line)).size).toBe(5);
  });

  it('reports groups of a long job early, once, and keeps counting without records', () => {
    const { detector: d, findings } = detector({ reportAfterMs: 1 });
    const scope = new Scope('scope', 'nightly job', undefined, 0);
    runJob(d, scope, 10, 20_010);
    // Reported while the job runs, when each shape reached the threshold (5 executions).
    expect(findings.filter((f) => f.kind === 'n-plus-one')).toHaveLength(50);
    expect(findings.every((f) => f.count === 5)).toBe(true);
    d.handle({ type: 'scope-end', scope, endTime: 1e6, failed: false });
    expect(findings).toHaveLength(50);
  });

  it('drops the oldest open scope beyond MAX_OPEN_SCOPES and ignores queries of scopes that ended', () => {
    const { detector: d, findings } = detector({});
    const ended = new Scope('scope', 'done', undefined, 0);
    d.handle({ type: 'scope-end', scope: ended, endTime: 1, failed: false });
    d.handle(event(ended, TEXTS[0]!, [1], [], undefined, 2));
    expect(d.openScopes).toBe(0);
    for (let i = 0; i < 10_050; i++) d.handle(event(new Scope('request', `r${i}`, undefined, 0), TEXTS[0]!, [i], [], undefined, i));
    expect(d.openScopes).toBe(10_000);
    expect(d.droppedScopes).toBe(50);
    expect(findings).toEqual([]);
  });
});
