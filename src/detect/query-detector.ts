/**
 * The detectors as one pipeline sink. Per query (`query-end`): skip what never counts (ignored
 * blocks, transaction control, session statements, queries outside any unit of work), then one
 * O(1), synchronous step into the scope's state (scope-state.ts). At `scope-end`: classify the
 * scope's groups (classify.ts) and report each finding once through the pipeline, which hands it
 * to the scope (test mode throws from there), the finding log and `lens.on('finding')` listeners.
 *
 * A unit of work older than `reportAfterMs` (a background job) reports a group as soon as its
 * count crosses the threshold, re-checking at each doubling, and releases the group's execution
 * records once it was reported: long jobs neither wait until the end nor grow.
 */
import type { Finding } from '../core/finding.js';
import type { ResolvedLensOptions } from '../core/lens-options.js';
import type { LensEvent, QueryEndEvent, ScopeInfo } from '../core/query-event.js';
import type { FindingReporter, QuerySink } from '../core/query-pipeline.js';
import { compileAllowList } from './allow-list.js';
import { evaluateBudget, evaluateGroup, evaluateLarge, evaluateScope, largeResult, ShapeCache, type DetectConfig } from './classify.js';
import { MAX_OPEN_SCOPES, MAX_UNSCOPED_LARGE_RESULTS } from './limits.js';
import { ScopeState, type Group } from './scope-state.js';

export type DetectorOptions = Pick<ResolvedLensOptions, 'nPlusOne' | 'duplicates' | 'batchableWrites' | 'budget' | 'largeResult' | 'allow' | 'reportAfterMs'>;

/** The detector configuration for these options, or undefined when every detector is off (no sink at all). */
export function detectConfig(options: DetectorOptions): DetectConfig | undefined {
  const config: DetectConfig = {
    nPlusOne: options.nPlusOne === false ? false : options.nPlusOne.threshold,
    duplicates: options.duplicates === false ? false : options.duplicates.threshold,
    batchableWrites: options.batchableWrites === false ? false : options.batchableWrites.threshold,
    budget: options.budget,
    largeResult: options.largeResult === false ? false : options.largeResult.rows,
    allow: compileAllowList(options.allow),
    reportAfterMs: options.reportAfterMs,
  };
  const anyOn = config.nPlusOne !== false || config.duplicates !== false || config.batchableWrites !== false || config.budget !== false || config.largeResult !== false;
  return anyOn ? config : undefined;
}

export class QueryDetector implements QuerySink {
  readonly name = 'detect';
  readonly accepts = ['query-end', 'scope-end'] as const;
  readonly #config: DetectConfig;
  readonly #reporter: FindingReporter;
  readonly #scopes = new Map<ScopeInfo, ScopeState>();
  /** Scopes that ended: late queries (fire-and-forget) must not reopen state for them. */
  readonly #ended = new WeakSet<ScopeInfo>();
  /** Counts at which an old scope checks a group: each detector's threshold, then every doubling. */
  readonly #checkpoints: readonly number[];
  readonly #unscopedLarge = new Set<string>();
  readonly #shapes = new ShapeCache();
  /** Scopes dropped because MAX_OPEN_SCOPES were open (units of work that never ended). */
  droppedScopes = 0;

  constructor(config: DetectConfig, reporter: FindingReporter) {
    this.#config = config;
    this.#reporter = reporter;
    // Duplicates are settled at scope end only: early, a repeated value may still become part of a loop.
    const thresholds = [config.nPlusOne, config.batchableWrites].filter((t): t is number => t !== false);
    this.#checkpoints = [...new Set(thresholds)].sort((a, b) => a - b);
  }

  #nextCheck(count: number): number {
    for (const t of this.#checkpoints) if (t > count) return t;
    // Only reached with a checkpoint passed: without any, groups start at nextCheck = Infinity.
    return count * 2;
  }

  /** Units of work with state right now (diagnostics and tests). */
  get openScopes(): number {
    return this.#scopes.size;
  }

  handle(event: LensEvent): void {
    if (event.type === 'query-end') this.#query(event);
    else if (event.type === 'scope-end') this.#end(event.scope);
  }

  #query(event: QueryEndEvent): void {
    if (event.ignored) return;
    const cls = event.sql.statementClass;
    if (cls === 'transaction' || cls === 'session') return;
    const scope = event.scope;
    if (scope === undefined) {
      this.#unscoped(event);
      return;
    }
    let state = this.#scopes.get(scope);
    if (state === undefined) {
      if (this.#ended.has(scope)) return;
      if (this.#scopes.size >= MAX_OPEN_SCOPES) {
        const oldest = this.#scopes.keys().next().value;
        if (oldest !== undefined) this.#scopes.delete(oldest);
        this.droppedScopes++;
      }
      state = new ScopeState(scope);
      this.#scopes.set(scope, state);
    }
    const group = state.record(event, this.#checkpoints[0] ?? Infinity);
    const config = this.#config;
    let large = false;
    if (group !== undefined && config.largeResult !== false && cls === 'read' && event.rowCount !== undefined && event.rowCount > config.largeResult) {
      large = true;
      group.largeCount++;
      group.largeMs += event.durationMs;
      if (event.rowCount > group.largestRows) group.largestRows = event.rowCount;
      group.largeCallsite ??= event.callsite;
    }
    const after = config.reportAfterMs;
    if (after !== false && event.startTime + event.durationMs - scope.startTime >= after) {
      if (group !== undefined && group.count >= group.nextCheck) {
        group.nextCheck = this.#nextCheck(group.count);
        this.#reportEarly(state, group);
      } else if (group !== undefined && large && group.largeCount === 1) {
        const out: Finding[] = [];
        evaluateLarge(state, group, config, out);
        this.#report(out, scope);
      }
      const finding = evaluateBudget(state, config);
      if (finding !== undefined) this.#report([finding], scope);
    }
  }

  #reportEarly(state: ScopeState, group: Group): void {
    const findings = evaluateGroup(state, group, this.#config, this.#shapes, true);
    this.#report(findings, state.scope);
    if (findings.some((f) => f.kind === 'n-plus-one' || f.kind === 'batchable-writes')) {
      // Reported: from now on this shape is only counted, and its records are freed for others.
      state.records -= group.records.length;
      group.records = [];
      group.released = true;
    }
  }

  #unscoped(event: QueryEndEvent): void {
    const limit = this.#config.largeResult;
    if (limit === false || event.sql.statementClass !== 'read' || event.rowCount === undefined || event.rowCount <= limit) return;
    const fp = event.sql.fingerprint;
    if (this.#unscopedLarge.has(fp)) return;
    if (this.#unscopedLarge.size >= MAX_UNSCOPED_LARGE_RESULTS) this.#unscopedLarge.clear();
    this.#unscopedLarge.add(fp);
    const callsite = event.callsite?.resolve();
    if (this.#config.allow({ text: event.text, fingerprint: fp, callsite })) return;
    const facts = { sql: event.sql, text: event.text, rows: event.rowCount, count: 1, totalMs: event.durationMs, orm: event.operation?.orm };
    this.#report([largeResult(facts, limit, callsite, undefined)], undefined);
  }

  #end(scope: ScopeInfo): void {
    this.#ended.add(scope);
    const state = this.#scopes.get(scope);
    if (state === undefined) return;
    this.#scopes.delete(scope);
    this.#report(evaluateScope(state, this.#config, this.#shapes), scope);
  }

  #report(findings: readonly Finding[], scope: ScopeInfo | undefined): void {
    for (const finding of findings) this.#reporter.report(Object.freeze(finding), scope);
  }

  close(): void {
    this.#scopes.clear();
  }
}
