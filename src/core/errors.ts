/**
 * Errors querylens throws on purpose. Each sets `name` and a stable `code`, and carries its payload
 * as data, so callers branch on `code`/`instanceof` rather than on message text. Configuration
 * mistakes are `TypeError`s (they are programming errors, thrown once at construction).
 */
import type { Finding } from './finding.js';

export class QuerylensError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'QuerylensError';
    this.code = code;
  }
}

/** A bad option given to `createLens` (or another constructor): names the key and the valid ones. */
export class InvalidOptionError extends TypeError {
  readonly code = 'QUERYLENS_INVALID_OPTION';
  /** Dotted path of the offending key (`stats.maxFingerprints`). */
  readonly option: string;

  constructor(option: string, message: string) {
    super(message);
    this.name = 'InvalidOptionError';
    this.option = option;
  }
}

/**
 * Test mode: a scope ended with findings. Thrown (rejected) from `lens.scope()` after the scope's
 * function has finished, so a test fails on a new N+1.
 */
export class NPlusOneError extends QuerylensError {
  readonly findings: readonly Finding[];

  constructor(scopeName: string, findings: readonly Finding[]) {
    const lines = findings.map((f) => `  - [${f.kind}] ${f.message}`);
    super('QUERYLENS_FINDINGS', `${findings.length} query finding(s) in scope "${scopeName}":\n${lines.join('\n')}`);
    this.name = 'NPlusOneError';
    this.findings = findings;
  }
}

/** Why `cache.query()` refused a table/primary-key combination. */
export type CacheKeyProblem = 'unknown-table' | 'no-primary-key' | 'primary-key-mismatch' | 'unknown-column' | 'not-in-result';

/**
 * The primary-key cache cannot serve this table the way it was asked to: the table does not exist,
 * has no primary key, its key is not the `primaryKey` given (composite keys included), or the text
 * does not return the key column(s). Thrown at the first call, naming the table and the column.
 */
export class CachePrimaryKeyError extends QuerylensError {
  readonly table: string;
  readonly column: string;
  readonly problem: CacheKeyProblem;

  constructor(problem: CacheKeyProblem, table: string, column: string, message: string, options?: ErrorOptions) {
    super('QUERYLENS_CACHE_PRIMARY_KEY', message, options);
    this.name = 'CachePrimaryKeyError';
    this.table = table;
    this.column = column;
    this.problem = problem;
  }
}
