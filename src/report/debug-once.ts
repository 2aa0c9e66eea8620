/**
 * Telemetry must never disturb the application, and a broken exporter, a throwing hook or a failing
 * EXPLAIN must not flood its logs either: each kind of failure is logged once, at debug, through
 * the lens's logger, and counted. The query it happened on is never affected.
 */
import type { LoggerLike } from './logger.js';
import { sanitizedErrorDescription } from './semconv.js';

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * What a debug record says about an error: its class and message. A server error is described by
 * its SQLSTATE only: PostgreSQL messages quote values.
 */
function describeError(error: unknown): { type: string; message: string } {
  const code = error !== null && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && SQLSTATE.test(code)) return { type: 'DatabaseError', message: sanitizedErrorDescription(error, code) };
  if (error instanceof Error) return { type: error.name, message: error.message };
  return { type: typeof error, message: String(error) };
}

export class DebugOnce {
  readonly #logger: LoggerLike | undefined;
  readonly #counts = new Map<string, number>();

  constructor(logger: LoggerLike | undefined) {
    this.#logger = logger;
  }

  /** Counts a failure of `kind`; the first one is logged at debug. */
  fail(kind: string, error: unknown, msg: string): void {
    const count = (this.#counts.get(kind) ?? 0) + 1;
    this.#counts.set(kind, count);
    if (count !== 1 || this.#logger === undefined) return;
    try {
      this.#logger.debug({ querylens: 'telemetry', failure: kind, err: describeError(error) }, `${msg}; the query was unaffected (further failures of this kind are only counted)`);
    } catch {
      // The logger itself failed: nothing left to tell.
    }
  }

  /** Failures seen per kind (diagnostics and tests). */
  get counts(): ReadonlyMap<string, number> {
    return this.#counts;
  }
}
