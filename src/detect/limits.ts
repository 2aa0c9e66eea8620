/**
 * Every per-scope collection the detectors keep has a named cap here, so a unit of work of any
 * length (a request, a migration, a job issuing a million statements) stays within a known
 * memory bound. Past a cap, counting continues and only the detail (per-execution records,
 * sampled row values) stops growing.
 */

/** Scopes with detector state at once (units of work that never end are dropped, oldest first). */
export const MAX_OPEN_SCOPES = 10_000;
/** Distinct fingerprints tracked per scope; later ones are only counted in the budget. */
export const MAX_GROUPS_PER_SCOPE = 500;
/** Executions kept (time, parameters, call site) per fingerprint and scope; later ones are only counted. */
export const MAX_RECORDS_PER_GROUP = 1000;
/** Executions kept per scope over all its fingerprints. */
export const MAX_RECORDS_PER_SCOPE = 5000;
/** Executions every fingerprint may keep even when the scope's record budget is spent. */
export const MIN_RECORDS_PER_GROUP = 8;
/** Rows of one result whose key-like values are sampled for result-row linking. */
export const MAX_SAMPLED_ROWS_PER_RESULT = 1000;
/** Rows sampled per fingerprint and scope, over all its executions. */
export const MAX_SAMPLED_ROWS_PER_GROUP = 1000;
/** Executions per fingerprint and scope whose rows are sampled (a loop's first ones). */
export const MAX_SAMPLED_EXECUTIONS_PER_GROUP = 8;
/** Key-like columns sampled per result. */
export const MAX_KEY_COLUMNS = 8;
/** Distinct values in one generation of a scope's value index (two generations are kept). */
export const MAX_INDEXED_VALUES = 10_000;
/** Distinct (query, column) origins remembered per value (half the first ones, half the latest). */
export const MAX_ORIGINS_PER_VALUE = 8;
/** Values of the last row kept per execution (keyset pagination check). */
export const MAX_LAST_ROW_VALUES = 8;
/**
 * Call sites decoded per fingerprint (the first and the last execution, then evenly spaced ones)
 * before deciding that all executions share one; when they differ, every execution is decoded.
 * Decoding costs ~3–15 µs each, so a loop is normally decoded twice, whatever its length.
 */
export const CALLSITE_PROBES = 2;
/** Statement shapes (slots, batched form, sanitized text) memoised per detector, by fingerprint. */
export const MAX_SHAPES = 1000;
/** Parameter slots examined per statement for result-row links. */
export const MAX_LINKED_SLOTS = 8;
/** String values longer than this are not used as keys. */
export const MAX_KEY_LENGTH = 64;
/** Fingerprints remembered for large-result findings outside any scope (reported once each). */
export const MAX_UNSCOPED_LARGE_RESULTS = 1000;
