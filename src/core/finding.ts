/**
 * A Finding is what querylens tells the user: a plain, serialisable object, one per problem group
 * and scope. Detectors (n-plus-one, duplicate, batchable writes, budget), the slow-query reporter
 * and the large-result check produce them; `lens.on('finding')`, the logger, span events and the
 * test-mode error consume them. `kind` discriminates.
 */
import type { Callsite } from './query-event.js';

export type FindingKind = Finding['kind'];

/** The query whose result rows fed a loop, when the detector could tell. */
export interface FindingParent {
  readonly fingerprint: string;
  readonly summary: string;
  readonly callsite: Callsite | undefined;
  /** 'result-rows': the loop's parameters were values of the parent's rows; 'adjacency': it ran just before. */
  readonly evidence: 'result-rows' | 'adjacency';
}

interface FindingBase {
  /** One line for humans. */
  readonly message: string;
  /** How to fix it, in the ORM that issued the query when known, else in SQL. */
  readonly suggestion: string;
  readonly fingerprint: string;
  /** OpenTelemetry `db.query.summary` (`SELECT comments`). */
  readonly summary: string;
  /** Sanitized SQL (literals as `?`); parameter values are never included. */
  readonly sql: string;
  /** Executions in the group. */
  readonly count: number;
  /** Distinct parameter sets among them. */
  readonly distinctParams: number;
  /** Summed duration of the group, ms. */
  readonly totalMs: number;
  readonly callsite: Callsite | undefined;
  /** The ORM, when an adapter knew it. */
  readonly orm: string | undefined;
  readonly scope: { readonly id: string; readonly name: string } | undefined;
}

export interface NPlusOneFinding extends FindingBase {
  readonly kind: 'n-plus-one';
  readonly parent: FindingParent | undefined;
  /** The repeats overlapped in time (`Promise.all` fan-out). */
  readonly concurrent: boolean;
}

export interface DuplicateFinding extends FindingBase {
  readonly kind: 'duplicate';
}

export interface BatchableWritesFinding extends FindingBase {
  readonly kind: 'batchable-writes';
  readonly concurrent: boolean;
}

export interface SlowQueryFinding extends FindingBase {
  readonly kind: 'slow-query';
  readonly durationMs: number;
  readonly thresholdMs: number;
}

export interface LargeResultFinding extends FindingBase {
  readonly kind: 'large-result';
  readonly rows: number;
  readonly thresholdRows: number;
}

export interface QueryBudgetFinding extends FindingBase {
  readonly kind: 'query-budget';
  /** Statements the scope issued. */
  readonly statements: number;
  readonly budget: number;
}

export type Finding =
  | NPlusOneFinding
  | DuplicateFinding
  | BatchableWritesFinding
  | SlowQueryFinding
  | LargeResultFinding
  | QueryBudgetFinding;
