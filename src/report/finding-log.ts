/**
 * Findings written to the lens's logger, by mode:
 *
 * - `development`: one readable multi-line warning per finding (what ran, how often, where, the
 *   parent query, the fix), through the logger (pino-pretty or the compact built-in format).
 * - `production`: one structured record at `warn` per finding — the Finding's fields (sanitized
 *   SQL, never parameter values) under `querylens: 'finding'` — rate limited to one record per
 *   (kind, fingerprint, unit-of-work name) per minute; the next record says how many were `suppressed`.
 * - `test`: nothing; the scope already rejects with an `NPlusOneError` carrying the findings.
 *
 * Slow-query findings are skipped: the slow-query log writes its own records. Runs as a finding
 * listener, isolated by the pipeline like any other (a logger that throws is counted, not fatal).
 */
import type { Finding } from '../core/finding.js';
import type { LensMode } from '../core/lens-options.js';
import type { ScopeInfo } from '../core/query-event.js';
import type { FindingListener } from '../core/query-pipeline.js';
import type { LoggerLike } from './logger.js';

/** Production: identical findings logged at most once per this interval, ms. */
export const FINDING_LOG_INTERVAL_MS = 60_000;
/** Production: distinct (kind, fingerprint, scope name) keys remembered for rate limiting. */
export const MAX_RATE_LIMITED_KEYS = 1000;

const TITLES: Readonly<Record<Finding['kind'], string>> = {
  'n-plus-one': 'N+1 query',
  duplicate: 'Duplicate query',
  'batchable-writes': 'Write loop',
  'slow-query': 'Slow query',
  'large-result': 'Large result',
  'query-budget': 'Query budget exceeded',
};

function ms(n: number): string {
  return n >= 100 ? `${Math.round(n)} ms` : `${n.toFixed(1)} ms`;
}

/**
 * The multi-line, human-readable form of a finding (development warnings; also handy in a
 * `lens.on('finding')` listener):
 *
 * ```
 * N+1 query: "SELECT comments" ran 10 times with 10 distinct parameter sets at src/posts.ts:42 …
 *   sql:    SELECT * FROM comments WHERE post_id = $1
 *   at:     src/posts.ts:42:24 (loadComments)
 *   parent: "SELECT posts" at src/posts.ts:40 — its rows' values were the loop's parameters
 *   fix:    Batch it: SELECT * FROM comments WHERE post_id = ANY($1) — …
 * ```
 */
export function formatFinding(finding: Finding): string {
  const lines = [finding.message];
  const add = (label: string, text: string): void => void lines.push(`  ${`${label}:`.padEnd(8)}${text}`);
  add('kind', `${TITLES[finding.kind]} in ${finding.scope === undefined ? 'no unit of work' : `"${finding.scope.name}" (#${finding.scope.id})`}`);
  add('sql', finding.sql.replace(/\s+/g, ' '));
  const cs = finding.callsite;
  if (cs !== undefined) add('at', `${cs.file}:${cs.line}:${cs.column}${cs.function ? ` (${cs.function})` : ''}`);
  add('count', `${finding.count} executions, ${finding.distinctParams} distinct parameter sets, ${ms(finding.totalMs)} in total`);
  switch (finding.kind) {
    case 'n-plus-one': {
      const p = finding.parent;
      if (p !== undefined) {
        const at = p.callsite === undefined ? '' : ` at ${p.callsite.file}:${p.callsite.line}`;
        add('parent', `"${p.summary}"${at} — ${p.evidence === 'result-rows' ? "its rows' values were the loop's parameters" : 'ran just before the loop'}`);
      }
      if (finding.concurrent) add('note', 'the repeats overlapped in time (Promise.all fan-out): still one query per row');
      break;
    }
    case 'batchable-writes':
      if (finding.concurrent) add('note', 'the writes overlapped in time');
      break;
    case 'large-result':
      add('rows', `${finding.rows} (limit ${finding.thresholdRows})`);
      break;
    case 'query-budget':
      add('budget', `${finding.statements} statements, budget ${finding.budget}`);
      break;
    case 'slow-query':
      add('time', `${ms(finding.durationMs)} (threshold ${ms(finding.thresholdMs)})`);
      break;
    case 'duplicate':
      break;
  }
  if (finding.orm !== undefined) add('orm', finding.orm);
  add('fix', finding.suggestion);
  return lines.join('\n');
}

export interface FindingLogOptions {
  /** Clock for rate limiting (tests). Default `performance.now`. */
  readonly now?: () => number;
  readonly intervalMs?: number;
}

/** The finding listener for `mode`, or undefined when nothing is to be written (test mode, no logger). */
export function createFindingLog(mode: LensMode, logger: LoggerLike | undefined, options: FindingLogOptions = {}): FindingListener | undefined {
  if (logger === undefined || mode === 'test') return undefined;
  if (mode === 'development') {
    return (finding) => {
      if (finding.kind === 'slow-query') return;
      logger.warn({ querylens: { finding: finding.kind } }, formatFinding(finding));
    };
  }
  const now = options.now ?? (() => performance.now());
  const interval = options.intervalMs ?? FINDING_LOG_INTERVAL_MS;
  const seen = new Map<string, { last: number; suppressed: number }>();
  return (finding: Finding, _scope: ScopeInfo | undefined) => {
    if (finding.kind === 'slow-query') return;
    if (logger.isLevelEnabled?.('warn') === false) return;
    // Keyed by the unit of work's name (the route), not the call site: production samples call sites.
    const key = `${finding.kind}\u0000${finding.fingerprint}\u0000${finding.scope?.name ?? ''}`;
    const t = now();
    const entry = seen.get(key);
    if (entry !== undefined && t - entry.last < interval) {
      entry.suppressed++;
      return;
    }
    if (entry === undefined && seen.size >= MAX_RATE_LIMITED_KEYS) seen.clear();
    const suppressed = entry?.suppressed ?? 0;
    seen.set(key, { last: t, suppressed: 0 });
    const { message, ...fields } = finding;
    logger.warn(suppressed > 0 ? { querylens: 'finding', ...fields, suppressed } : { querylens: 'finding', ...fields }, message);
  };
}
