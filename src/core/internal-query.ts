/**
 * querylens never observes itself: queries it issues (schema hashing, EXPLAIN, cache refetches)
 * are config objects marked with this symbol, and the pg layer passes them straight to pg without
 * an event. The symbol is private to the package (not exported from the entry point).
 */
export const INTERNAL_QUERY: unique symbol = Symbol('querylens.internal-query');

export interface InternalQueryConfig {
  readonly text: string;
  readonly values?: readonly unknown[];
  readonly [INTERNAL_QUERY]: true;
}

/** A pg query config that the instrumentation will not report. */
export function internalQuery(text: string, values?: readonly unknown[]): InternalQueryConfig {
  return values === undefined ? { text, [INTERNAL_QUERY]: true } : { text, values, [INTERNAL_QUERY]: true };
}
