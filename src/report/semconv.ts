/**
 * The OpenTelemetry semantic conventions querylens emits, written out once: attribute keys, metric
 * names, units and bucket boundaries of the stable database conventions (spans and
 * `db.client.operation.duration`), the incubating connection-pool metrics, and querylens's own
 * `querylens.*` keys. Only `@opentelemetry/api` is a (peer) dependency, so the names are declared
 * here rather than imported from `@opentelemetry/semantic-conventions`.
 *
 * Also here: how a failed query is described without leaking data. PostgreSQL error messages and
 * details quote the offending values (`Key (email)=(a@b.c) already exists`), so spans and metrics
 * get the SQLSTATE and its condition name, never the message.
 */

// --- attributes (stable) ---
export const ATTR_DB_SYSTEM_NAME = 'db.system.name';
export const DB_SYSTEM_NAME_POSTGRESQL = 'postgresql';
export const ATTR_DB_NAMESPACE = 'db.namespace';
export const ATTR_DB_QUERY_TEXT = 'db.query.text';
export const ATTR_DB_QUERY_SUMMARY = 'db.query.summary';
export const ATTR_DB_RESPONSE_STATUS_CODE = 'db.response.status_code';
export const ATTR_DB_RESPONSE_RETURNED_ROWS = 'db.response.returned_rows';
/** Opt-in only: `db.query.parameter.<0-based index>`. */
export const ATTR_DB_QUERY_PARAMETER_PREFIX = 'db.query.parameter.';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_CODE_FUNCTION_NAME = 'code.function.name';
export const ATTR_CODE_FILE_PATH = 'code.file.path';
export const ATTR_CODE_LINE_NUMBER = 'code.line.number';
export const ATTR_CODE_COLUMN_NUMBER = 'code.column.number';
export const ATTR_EXCEPTION_TYPE = 'exception.type';
export const ATTR_EXCEPTION_MESSAGE = 'exception.message';
/** `error.type` when nothing better is known (semantic conventions' fallback value). */
export const ERROR_TYPE_OTHER = '_OTHER';

// --- attributes (incubating: connection pools) ---
export const ATTR_DB_CLIENT_CONNECTION_POOL_NAME = 'db.client.connection.pool.name';
export const ATTR_DB_CLIENT_CONNECTION_STATE = 'db.client.connection.state';

// --- querylens attributes ---
export const ATTR_QUERYLENS_FINGERPRINT = 'querylens.fingerprint';
export const ATTR_QUERYLENS_FINDING_KIND = 'querylens.finding.kind';
export const ATTR_QUERYLENS_FINDING_MESSAGE = 'querylens.finding.message';
export const ATTR_QUERYLENS_FINDING_SUGGESTION = 'querylens.finding.suggestion';
export const ATTR_QUERYLENS_FINDING_COUNT = 'querylens.finding.count';
export const ATTR_QUERYLENS_FINDING_DISTINCT_PARAMS = 'querylens.finding.distinct_params';
export const ATTR_QUERYLENS_FINDING_TOTAL_MS = 'querylens.finding.total_ms';
/** Span event name of a Finding on its scope's span. */
export const EVENT_QUERYLENS_FINDING = 'querylens.finding';

// --- metrics ---
export const METRIC_DB_CLIENT_OPERATION_DURATION = 'db.client.operation.duration';
export const METRIC_DB_CLIENT_RESPONSE_RETURNED_ROWS = 'db.client.response.returned_rows';
export const METRIC_DB_CLIENT_CONNECTION_COUNT = 'db.client.connection.count';
export const METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS = 'db.client.connection.pending_requests';
export const METRIC_DB_CLIENT_CONNECTION_WAIT_TIME = 'db.client.connection.wait_time';
export const METRIC_DB_CLIENT_CONNECTION_USE_TIME = 'db.client.connection.use_time';
export const METRIC_DB_CLIENT_CONNECTION_TIMEOUTS = 'db.client.connection.timeouts';
export const METRIC_QUERYLENS_FINDINGS = 'querylens.findings';

/** `db.client.operation.duration` and the pool time histograms, in seconds. */
export const DURATION_BUCKETS_S: readonly number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
/** `db.client.response.returned_rows`. */
export const ROWS_BUCKETS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/** Instrumentation scope name of querylens's tracer and meter. */
export const INSTRUMENTATION_NAME = 'querylens';
export const INSTRUMENTATION_VERSION = '0.1.0';

/**
 * Condition names of the SQLSTATEs an application meets most (PostgreSQL Appendix A), and of every
 * class, for a description that says what went wrong without quoting any value.
 */
const CONDITIONS: Readonly<Record<string, string>> = {
  '23000': 'integrity_constraint_violation',
  '23001': 'restrict_violation',
  '23502': 'not_null_violation',
  '23503': 'foreign_key_violation',
  '23505': 'unique_violation',
  '23514': 'check_violation',
  '23P01': 'exclusion_violation',
  '22001': 'string_data_right_truncation',
  '22003': 'numeric_value_out_of_range',
  '22007': 'invalid_datetime_format',
  '22008': 'datetime_field_overflow',
  '22012': 'division_by_zero',
  '22P02': 'invalid_text_representation',
  '25P02': 'in_failed_sql_transaction',
  '28P01': 'invalid_password',
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  '42601': 'syntax_error',
  '42501': 'insufficient_privilege',
  '42703': 'undefined_column',
  '42883': 'undefined_function',
  '42P01': 'undefined_table',
  '42P07': 'duplicate_table',
  '53300': 'too_many_connections',
  '55P03': 'lock_not_available',
  '57014': 'query_canceled',
  '57P01': 'admin_shutdown',
};

const CLASSES: Readonly<Record<string, string>> = {
  '08': 'connection_exception',
  '0A': 'feature_not_supported',
  '21': 'cardinality_violation',
  '22': 'data_exception',
  '23': 'integrity_constraint_violation',
  '25': 'invalid_transaction_state',
  '28': 'invalid_authorization_specification',
  '40': 'transaction_rollback',
  '42': 'syntax_error_or_access_rule_violation',
  '53': 'insufficient_resources',
  '54': 'program_limit_exceeded',
  '55': 'object_not_in_prerequisite_state',
  '57': 'operator_intervention',
  '58': 'system_error',
  P0: 'plpgsql_error',
  XX: 'internal_error',
};

/** PostgreSQL's condition name for a SQLSTATE (`23505` → `unique_violation`), or its class's. */
export function sqlstateCondition(sqlstate: string): string | undefined {
  return CONDITIONS[sqlstate] ?? CLASSES[sqlstate.slice(0, 2)];
}

const IDENTIFIER_LIKE = /^[A-Za-z_$][\w$]{0,63}$/;

/**
 * `error.type`: the SQLSTATE for a server error, else the error's class name (`Error`,
 * `TypeError`), else `_OTHER`.
 */
export function errorType(error: unknown, sqlstate: string | undefined): string {
  if (sqlstate !== undefined) return sqlstate;
  if (error !== null && typeof error === 'object') {
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && IDENTIFIER_LIKE.test(name)) return name;
  }
  return ERROR_TYPE_OTHER;
}

/**
 * A description of a failure that carries no data: `unique_violation (SQLSTATE 23505)`, or the
 * error's class name for client-side errors. The message is never used: PostgreSQL quotes values in
 * it (`invalid input syntax for type integer: "abc"`).
 */
export function sanitizedErrorDescription(error: unknown, sqlstate: string | undefined): string {
  if (sqlstate !== undefined) {
    const condition = sqlstateCondition(sqlstate);
    return condition === undefined ? `SQLSTATE ${sqlstate}` : `${condition} (SQLSTATE ${sqlstate})`;
  }
  const type = errorType(error, undefined);
  return type === ERROR_TYPE_OTHER ? 'query failed' : `${type} (client-side error)`;
}
