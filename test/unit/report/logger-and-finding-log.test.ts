import { describe, expect, it } from 'vitest';
import type { Finding, NPlusOneFinding } from '../../../src/core/finding.js';
import { createFindingLog, formatFinding } from '../../../src/report/finding-log.js';
import { createLensLogger, formatCompactLine, isLoggerLike, loadPinoPretty, type LoggerLike } from '../../../src/report/logger.js';

function sink(): { write(s: string): void; text(): string } {
  const chunks: string[] = [];
  return { write: (s: string) => void chunks.push(s), text: () => chunks.join('') };
}

const finding: NPlusOneFinding = {
  kind: 'n-plus-one',
  message: 'N+1: "SELECT comments" ran 10 times with 10 distinct parameter sets at src/posts.ts:42 (loadComments)',
  suggestion: 'Batch it: SELECT * FROM comments WHERE post_id = ANY($1)',
  fingerprint: '0123456789abcdef',
  summary: 'SELECT comments',
  sql: 'SELECT * FROM comments\n  WHERE post_id = $1',
  count: 10,
  distinctParams: 10,
  totalMs: 12.345,
  callsite: { file: 'src/posts.ts', line: 42, column: 7, function: 'loadComments' },
  orm: undefined,
  scope: { id: '7', name: 'GET /posts' },
  parent: { fingerprint: 'fedcba9876543210', summary: 'SELECT posts', callsite: { file: 'src/posts.ts', line: 40, column: 3 }, evidence: 'result-rows' },
  concurrent: true,
};

function recorder(): { logger: LoggerLike; calls: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] } {
  const calls: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void calls.push({ level, obj: obj as Record<string, unknown>, msg });
  return { logger: { warn: at('warn'), info: at('info'), debug: at('debug'), error: at('error') }, calls };
}

describe('createLensLogger', () => {
  it('returns undefined for false and the user\'s logger as is', () => {
    expect(createLensLogger('production', false)).toBeUndefined();
    const mine = recorder().logger;
    expect(createLensLogger('development', mine)).toBe(mine);
    expect(isLoggerLike(mine)).toBe(true);
    expect(isLoggerLike({ warn() {} })).toBe(false);
  });

  it('writes JSON records at level info in production', () => {
    const out = sink();
    const logger = createLensLogger('production', undefined, { destination: out })!;
    expect(logger.isLevelEnabled?.('info')).toBe(true);
    expect(logger.isLevelEnabled?.('debug')).toBe(false);
    logger.debug({ a: 0 }, 'hidden');
    logger.warn({ duration_ms: 12 }, 'slow');
    const lines = out.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, name: 'querylens', msg: 'slow', duration_ms: 12 });
  });

  it('writes readable lines in development without pino-pretty (compact format), keeping the message\'s lines', () => {
    const out = sink();
    const logger = createLensLogger('development', undefined, { destination: out, pretty: false })!;
    logger.warn({ querylens: { finding: 'n-plus-one' }, rows: 3 }, 'first line\n  second line\nthird line');
    const text = out.text();
    expect(text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN querylens: first line\n {2}second line\n {4}third line\n {4}rows: 3\n$/);
    expect(text).not.toContain('n-plus-one');
  });

  it('logs only warnings and errors in test mode', () => {
    const out = sink();
    const logger = createLensLogger('test', undefined, { destination: out, pretty: false })!;
    logger.info({}, 'not shown');
    logger.error({}, 'shown');
    expect(out.text()).toContain('ERROR querylens: shown');
    expect(out.text()).not.toContain('not shown');
  });

  it('uses pino-pretty when it is installed', () => {
    expect(loadPinoPretty()).toBeTypeOf('function');
    const out = sink();
    const logger = createLensLogger('development', undefined, { destination: out })!;
    logger.warn({ querylens: { finding: 'n-plus-one' } }, 'pretty message');
    expect(out.text()).toContain('WARN');
    expect(out.text()).toContain('querylens: pretty message');
    expect(out.text()).not.toContain('"level"');
  });

  it('formats any pino line compactly, and passes non-JSON through', () => {
    expect(formatCompactLine('{"level":50,"time":0,"msg":"boom","code":"E1"}')).toBe('00:00:00.000 ERROR querylens: boom\n    code: E1\n');
    expect(formatCompactLine('plain text')).toBe('plain text\n');
  });
});

describe('finding log', () => {
  it('formats a finding on several readable lines', () => {
    const text = formatFinding(finding);
    expect(text.split('\n')).toEqual([
      finding.message,
      '  kind:   N+1 query in "GET /posts" (#7)',
      '  sql:    SELECT * FROM comments WHERE post_id = $1',
      '  at:     src/posts.ts:42:7 (loadComments)',
      '  count:  10 executions, 10 distinct parameter sets, 12.3 ms in total',
      `  parent: "SELECT posts" at src/posts.ts:40 — its rows' values were the loop's parameters`,
      '  note:   the repeats overlapped in time (Promise.all fan-out): still one query per row',
      '  fix:    Batch it: SELECT * FROM comments WHERE post_id = ANY($1)',
    ]);
  });

  it('writes nothing in test mode or without a logger', () => {
    expect(createFindingLog('test', recorder().logger)).toBeUndefined();
    expect(createFindingLog('production', undefined)).toBeUndefined();
  });

  it('warns readably in development, skipping slow queries (the slow-query log writes those)', () => {
    const { logger, calls } = recorder();
    const log = createFindingLog('development', logger)!;
    log(finding, undefined);
    log({ ...finding, kind: 'slow-query', durationMs: 900, thresholdMs: 500 } as Finding, undefined);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ level: 'warn', obj: { querylens: { finding: 'n-plus-one' } }, msg: formatFinding(finding) });
  });

  it('writes structured warn records in production, one per route and shape per interval', () => {
    const { logger, calls } = recorder();
    let now = 0;
    const log = createFindingLog('production', logger, { now: () => now, intervalMs: 1000 })!;
    log(finding, undefined);
    now = 500;
    log(finding, undefined);
    log(finding, undefined);
    log({ ...finding, scope: { id: '8', name: 'GET /feed' } }, undefined);
    now = 1600;
    log(finding, undefined);
    expect(calls.map((c) => [c.obj['scope'], c.obj['suppressed']])).toEqual([
      [{ id: '7', name: 'GET /posts' }, undefined],
      [{ id: '8', name: 'GET /feed' }, undefined],
      [{ id: '7', name: 'GET /posts' }, 2],
    ]);
    expect(calls[0]).toMatchObject({ level: 'warn', msg: finding.message, obj: { querylens: 'finding', kind: 'n-plus-one', count: 10, sql: finding.sql, parent: finding.parent } });
    expect(calls[0]!.obj).not.toHaveProperty('message');
  });
});
