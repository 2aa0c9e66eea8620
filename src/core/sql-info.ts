/**
 * What one scan of a SQL text yields. Computed once per distinct text (memoised), carried on every
 * QueryEvent, and never re-derived by consumers: detectors, sinks and the cache read these fields.
 */

/** Coarse class of a statement, from its leading keyword(s). */
export type StatementClass =
  /** SELECT, VALUES, TABLE, WITH … SELECT, SHOW-free reads */
  | 'read'
  /** INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY … FROM, WITH … (data-modifying) */
  | 'write'
  /** CREATE, ALTER, DROP, COMMENT, GRANT, REVOKE, REINDEX, CLUSTER, VACUUM, ANALYZE … */
  | 'ddl'
  /** BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE, PREPARE TRANSACTION … */
  | 'transaction'
  /** SET, RESET, SHOW, DISCARD, LISTEN, UNLISTEN, DEALLOCATE, ORM bootstrap such as `select version()` */
  | 'session'
  /** anything else (EXPLAIN, DO, CALL, NOTIFY, empty text …) */
  | 'other';

export interface SqlInfo {
  /** 16 lowercase hex digits; same grouping as libpg_query's fingerprint v3. */
  readonly fingerprint: string;
  /** The first statement's command keyword(s), upper-case: 'SELECT', 'INSERT', 'BEGIN', 'CREATE TABLE'…; '' when empty. */
  readonly command: string;
  readonly statementClass: StatementClass;
  /** OpenTelemetry `db.query.summary`, ≤ 255 chars; '' for empty/comment-only text. */
  readonly summary: string;
  /** Relations the statement reads or writes, as written (schema-qualified when written so), lower-cased unless quoted, in order of first appearance, deduplicated. */
  readonly tables: readonly string[];
  /** Relations an INSERT/UPDATE/DELETE/MERGE/TRUNCATE/COPY FROM writes (subset of `tables`). */
  readonly writtenTables: readonly string[];
  /** The text has inline literals (strings, numbers, …) as opposed to only `$n` parameters. */
  readonly hasLiterals: boolean;
  /** Highest `$n` parameter number used (0 when none). */
  readonly maxParam: number;
  /** Lengths of IN lists / ARRAY[…] / multi-row VALUES that the fingerprint collapsed (metadata, not part of the key). */
  readonly listLengths: readonly number[];
  /** More than one statement separated by `;`. */
  readonly multiStatement: boolean;
}
