/**
 * Everything the primary-key cache reads from the PostgreSQL catalog, as a handful of internal
 * queries (marked with INTERNAL_QUERY, so querylens never observes itself):
 *
 * - the session: `current_user`, `search_path`, and the database identity (cluster system
 *   identifier + database OID) that namespaces every key;
 * - a table: its OID, schema-qualified name, kind, primary-key columns and column types;
 * - a statement's dependencies: the relations it names, resolved under the session's
 *   `search_path`, plus (recursively) the tables behind views, each with a schema hash of its
 *   columns (name, type with typmod, NOT NULL, collation, position), primary key, row-level-security
 *   flags and policies, and view definition; and whether any function it calls is volatile;
 * - the same hashes again for known OIDs (the schema poll), and the foreign keys whose actions
 *   change other tables (ON DELETE/UPDATE CASCADE, SET NULL, SET DEFAULT) for write invalidation.
 */
import { internalQuery } from '../core/internal-query.js';

/** What a pg Pool or Client offers the cache: `query(config)` returning a promise, nothing else needed. */
export interface PkCacheQueryable {
  query(config: { text: string; values?: unknown[] }): PromiseLike<{ rows: unknown[]; fields?: readonly { name: string }[] }>;
  /** pg Client ≥ 8.?: 'I' idle, 'T' in a transaction, 'E' in a failed transaction. */
  getTransactionStatus?(): string | null;
}

export interface RowsResult {
  readonly rows: Record<string, unknown>[];
  readonly fields: readonly { readonly name: string }[];
}

/** Runs an internal (unobserved) query. */
export async function runInternal(q: PkCacheQueryable, text: string, values?: readonly unknown[]): Promise<RowsResult> {
  const config = internalQuery(text, values) as unknown as { text: string; values?: unknown[] };
  const result = await q.query(config);
  return { rows: result.rows as Record<string, unknown>[], fields: result.fields ?? [] };
}

export interface SessionInfo {
  /** Database identity: cluster system identifier (or server address) and database OID. */
  readonly database: string;
  readonly user: string;
  readonly searchPath: string;
}

const SESSION_SQL = `SELECT current_user::text AS "user", current_setting('search_path') AS search_path,
  (SELECT oid::int8::text FROM pg_database WHERE datname = current_database()) AS db_oid,
  (SELECT system_identifier::text FROM pg_control_system()) AS sysid`;
// pg_control_system() may be withheld from unprivileged roles: fall back to the server address.
const SESSION_SQL_FALLBACK = `SELECT current_user::text AS "user", current_setting('search_path') AS search_path,
  (SELECT oid::int8::text FROM pg_database WHERE datname = current_database()) AS db_oid,
  coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port()::text, '') || '/' || current_database() AS sysid`;

export async function readSession(q: PkCacheQueryable): Promise<SessionInfo> {
  let row: Record<string, unknown> | undefined;
  try {
    row = (await runInternal(q, SESSION_SQL)).rows[0];
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code !== '42501') throw err;
    row = (await runInternal(q, SESSION_SQL_FALLBACK)).rows[0];
  }
  if (row === undefined) throw new Error('querylens: the session query returned no row');
  return {
    database: `${String(row['sysid'])}/${String(row['db_oid'])}`,
    user: String(row['user']),
    searchPath: String(row['search_path']),
  };
}

export interface TableInfo {
  readonly oid: number;
  readonly relname: string;
  /** `"schema"."name"`, quoted as needed. */
  readonly qualified: string;
  /** pg_class.relkind: r table, p partitioned table, v view, m materialized view, f foreign table. */
  readonly relkind: string;
  readonly temporary: boolean;
  /** Primary-key columns in key order ([] when the relation has none). */
  readonly primaryKey: readonly string[];
  /** Column name → type name without typmod (`integer`, `uuid`, `character varying`). */
  readonly columns: Readonly<Record<string, string>>;
}

const TABLE_SQL = `SELECT c.oid::int8 AS oid, c.relname::text AS relname, c.relkind::text AS relkind,
  c.relpersistence::text AS persistence,
  quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qualified,
  (SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
     FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
    WHERE i.indrelid = c.oid AND i.indisprimary) AS pk,
  (SELECT json_object_agg(a.attname, format_type(a.atttypid, NULL))
     FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass($1)`;

/** The table's catalog entry, or undefined when no such relation is visible. */
export async function readTable(q: PkCacheQueryable, table: string): Promise<TableInfo | undefined> {
  const row = (await runInternal(q, TABLE_SQL, [table])).rows[0];
  if (row === undefined) return undefined;
  return {
    oid: Number(row['oid']),
    relname: String(row['relname']),
    qualified: String(row['qualified']),
    relkind: String(row['relkind']),
    temporary: row['persistence'] === 't',
    primaryKey: Array.isArray(row['pk']) ? (row['pk'] as string[]) : [],
    columns: (row['columns'] ?? {}) as Record<string, string>,
  };
}

/** The schema hash of one relation, computed by the server (one md5 over a canonical description). */
const HASH_EXPR = `md5(concat_ws('|', c.relname, c.relnamespace::text, c.relkind::text, c.relrowsecurity::text, c.relforcerowsecurity::text,
  (SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull::text || ':' || a.attnum::text || ':' || a.attcollation::text, ',' ORDER BY a.attnum)
     FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT string_agg(pg_get_indexdef(i.indexrelid), ',') FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
  (SELECT string_agg(p.polname || ':' || p.polcmd::text || ':' || p.polpermissive::text || ':' || p.polroles::text || ':'
            || coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ':' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), ''), ',' ORDER BY p.polname)
     FROM pg_policy p WHERE p.polrelid = c.oid),
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END))`;

const DEPS_SQL = `WITH RECURSIVE
  named AS (SELECT to_regclass(n)::oid AS oid FROM unnest($1::text[]) AS n),
  deps(oid) AS (
    SELECT oid FROM named WHERE oid IS NOT NULL
    UNION SELECT $2::int8::oid
    UNION
    SELECT d.refobjid FROM deps
      JOIN pg_rewrite r ON r.ev_class = deps.oid
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> deps.oid
  )
SELECT c.oid::int8 AS oid, c.relname::text AS relname, c.relpersistence::text AS persistence, ${HASH_EXPR} AS hash,
  EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = ANY($3::text[]) AND p.provolatile = 'v') AS volatile
FROM pg_class c WHERE c.oid IN (SELECT oid FROM deps) ORDER BY c.oid`;

export interface RelationHash {
  readonly oid: number;
  readonly relname: string;
  readonly hash: string;
}

export interface Dependencies {
  /** Every relation the statement depends on (named ones, views' base tables, the cached table), by OID. */
  readonly relations: readonly RelationHash[];
  readonly temporary: boolean;
  /** A function the statement calls is volatile (by name, in any schema). */
  readonly volatile: boolean;
}

/** `public.posts` → `"public"."posts"` (SqlInfo names are already case-folded). */
function quoteName(name: string): string | undefined {
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((p) => p === '')) return undefined;
  return parts.map((p) => `"${p.replace(/"/g, '""')}"`).join('.');
}

export async function readDependencies(
  q: PkCacheQueryable,
  names: readonly string[],
  tableOid: number,
  functions: readonly string[],
): Promise<Dependencies> {
  const quoted: string[] = [];
  for (const n of names) {
    const qn = quoteName(n);
    if (qn !== undefined) quoted.push(qn);
  }
  const { rows } = await runInternal(q, DEPS_SQL, [quoted, tableOid, functions]);
  let temporary = false;
  let volatile = false;
  const relations: RelationHash[] = [];
  for (const row of rows) {
    if (row['persistence'] === 't') temporary = true;
    if (row['volatile'] === true) volatile = true;
    relations.push({ oid: Number(row['oid']), relname: String(row['relname']), hash: String(row['hash']) });
  }
  return { relations, temporary, volatile };
}

const POLL_SQL = `SELECT c.oid::int8 AS oid, ${HASH_EXPR} AS hash FROM pg_class c WHERE c.oid = ANY($1::int8[]::oid[])`;

/** Current schema hashes of the given relations (a dropped relation is absent from the map). */
export async function readHashes(q: PkCacheQueryable, oids: readonly number[]): Promise<Map<number, string>> {
  const { rows } = await runInternal(q, POLL_SQL, [oids]);
  return new Map(rows.map((r) => [Number(r['oid']), String(r['hash'])]));
}

const FK_SQL = `SELECT pc.relname::text AS parent, cc.relname::text AS child,
  con.confdeltype::text AS del, con.confupdtype::text AS upd
FROM pg_constraint con JOIN pg_class pc ON pc.oid = con.confrelid JOIN pg_class cc ON cc.oid = con.conrelid
WHERE con.contype = 'f'`;

export interface ForeignKeys {
  /** Parent relname → children that a DELETE/UPDATE of the parent changes (cascade, set null, set default). */
  readonly cascades: ReadonlyMap<string, readonly string[]>;
  /** Parent relname → every referencing child (TRUNCATE … CASCADE empties them all). */
  readonly referencing: ReadonlyMap<string, readonly string[]>;
}

export async function readForeignKeys(q: PkCacheQueryable): Promise<ForeignKeys> {
  const { rows } = await runInternal(q, FK_SQL);
  const cascades = new Map<string, string[]>();
  const referencing = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, k: string, v: string): void => {
    const list = m.get(k);
    if (list === undefined) m.set(k, [v]);
    else if (!list.includes(v)) list.push(v);
  };
  for (const r of rows) {
    const parent = String(r['parent']);
    const child = String(r['child']);
    add(referencing, parent, child);
    // a: no action, r: restrict (nothing changes in the child); c, n, d change child rows
    if (r['del'] !== 'a' && r['del'] !== 'r') add(cascades, parent, child);
    else if (r['upd'] !== 'a' && r['upd'] !== 'r') add(cascades, parent, child);
  }
  return { cascades, referencing };
}
