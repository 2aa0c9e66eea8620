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
