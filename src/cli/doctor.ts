/**
 * `querylens doctor`: the index and query audit every large PostgreSQL deployment ends up writing
 * by hand, run against a live database from the catalog and the statistics views.
 *
 * - unused indexes: pg_stat_user_indexes.idx_scan = 0, excluding primary keys, unique indexes and
 *   indexes that back a constraint (dropping those changes behaviour, not just speed);
 * - duplicate indexes (same table, method, columns, operator classes, expressions and predicate)
 *   and prefix-redundant ones (a plain btree whose columns lead another btree's);
 * - foreign keys whose columns lead no index (every delete/update of the referenced row scans);
 * - tables read by many sequential scans over many rows;
 * - with pg_stat_statements: the statements with the most total time, grouped by querylens
 *   fingerprint (several pg_stat_statements entries — differing only in IN-list length, literal
 *   inlining or aliases — are one fingerprint).
 *
 * Statistics are per server since the last reset, so "unused" means "unused since then": the report
 * says when the statistics were reset.
 */
import { fingerprint, summarize } from '../index.js';

/** The part of a pg Client the audit uses. */
export interface AuditClient {
  query<R extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
}

export interface DoctorOptions {
  /** Tables with fewer live rows are not reported for sequential scans. Default 1000. */
  readonly seqScanMinRows?: number;
  /** Minimum sequential scans for a table to be reported. Default 50. */
  readonly seqScanMinScans?: number;
  /** Statements groups listed from pg_stat_statements. Default 10. */
  readonly topStatements?: number;
}

export interface IndexRef {
  readonly schema: string;
  readonly table: string;
  readonly index: string;
  readonly definition: string;
  readonly sizeBytes: number;
}

export interface UnusedIndex extends IndexRef {
  readonly scans: number;
}

export interface RedundantIndex {
  /** `duplicate`: same definition; `prefix`: its columns lead `coveredBy`'s. */
  readonly kind: 'duplicate' | 'prefix';
  readonly index: IndexRef;
  readonly coveredBy: IndexRef;
}

export interface UnindexedForeignKey {
  readonly schema: string;
  readonly table: string;
  readonly constraint: string;
  readonly columns: readonly string[];
  readonly references: string;
  /** `CREATE INDEX ON …` that would cover it. */
  readonly suggestion: string;
}

export interface SeqScanTable {
  readonly schema: string;
  readonly table: string;
  readonly seqScans: number;
  readonly seqRowsRead: number;
  readonly avgRowsPerScan: number;
  readonly indexScans: number;
  readonly liveRows: number;
}

export interface StatementGroup {
  readonly fingerprint: string;
  readonly summary: string;
  /** pg_stat_statements entries merged into this group. */
  readonly entries: number;
  readonly calls: number;
  readonly totalMs: number;
  readonly meanMs: number;
  readonly rows: number;
  /** The query text of the entry with the most total time (as pg_stat_statements normalised it). */
  readonly example: string;
}

export type StatementsSection =
  | { readonly available: true; readonly groups: readonly StatementGroup[]; readonly entries: number }
  | { readonly available: false; readonly reason: string };

export interface DoctorReport {
  readonly database: string;
  readonly serverVersion: string;
  readonly statsReset: string | null;
  readonly unusedIndexes: readonly UnusedIndex[];
  readonly redundantIndexes: readonly RedundantIndex[];
  readonly unindexedForeignKeys: readonly UnindexedForeignKey[];
  readonly seqScanTables: readonly SeqScanTable[];
  readonly statements: StatementsSection;
  /** Sections that could not be read (privileges), with the reason. */
  readonly warnings: readonly string[];
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

interface IndexRow {
  oid: number;
  schema: string;
  table: string;
  index: string;
  table_oid: number;
  keys: number[];
  opclasses: number[];
  am: string;
  exprs: string | null;
  pred: string | null;
  is_unique: boolean;
  is_primary: boolean;
  backs_constraint: boolean;
  definition: string;
  size_bytes: string;
  scans: string | null;
}

export async function runDoctor(client: AuditClient, options: DoctorOptions = {}): Promise<DoctorReport> {
  const seqScanMinRows = options.seqScanMinRows ?? 1000;
  const seqScanMinScans = options.seqScanMinScans ?? 50;
  const top = options.topStatements ?? 10;
  const warnings: string[] = [];

  const info = (
    await client.query<{ db: string; version: string; stats_reset: Date | null }>(
      `SELECT current_database() AS db, current_setting('server_version') AS version,
              (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AS stats_reset`,
    )
  ).rows[0]!;

  const indexes = (
    await client.query<IndexRow>(
      `SELECT c.oid::int AS oid, n.nspname AS schema, t.relname AS table, c.relname AS index, t.oid::int AS table_oid,
              i.indkey::int2[] AS keys, i.indclass::oid[]::int[] AS opclasses, am.amname AS am,
              pg_get_expr(i.indexprs, i.indrelid) AS exprs, pg_get_expr(i.indpred, i.indrelid) AS pred,
              i.indisunique AS is_unique, i.indisprimary AS is_primary,
              EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid) AS backs_constraint,
              pg_get_indexdef(c.oid) AS definition, pg_relation_size(c.oid)::text AS size_bytes,
              s.idx_scan::text AS scans
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         JOIN pg_am am ON am.oid = c.relam
         LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = c.oid
        WHERE ${USER_SCHEMAS}
        ORDER BY n.nspname, t.relname, c.relname`,
    )
  ).rows;

  const ref = (r: IndexRow): IndexRef => ({ schema: r.schema, table: r.table, index: r.index, definition: r.definition, sizeBytes: Number(r.size_bytes) });

  const unusedIndexes: UnusedIndex[] = indexes
    .filter((r) => r.scans !== null && Number(r.scans) === 0 && !r.is_primary && !r.is_unique && !r.backs_constraint)
    .map((r) => ({ ...ref(r), scans: 0 }))
    .sort((a, b) => b.sizeBytes - a.sizeBytes);

  const redundantIndexes = findRedundant(indexes, ref);

  const fks = (
    await client.query<{ schema: string; table: string; table_oid: number; constraint: string; keys: number[]; columns: string[]; references: string }>(
      `SELECT n.nspname AS schema, t.relname AS table, t.oid::int AS table_oid, k.conname AS constraint, k.conkey::int2[] AS keys,
              ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord) AS columns,
              k.confrelid::regclass::text AS references
         FROM pg_constraint k
         JOIN pg_class t ON t.oid = k.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE k.contype = 'f' AND ${USER_SCHEMAS}
        ORDER BY n.nspname, t.relname, k.conname`,
    )
  ).rows;
  const unindexedForeignKeys: UnindexedForeignKey[] = [];
  for (const fk of fks) {
    const n = fk.keys.length;
    const covered = indexes.some((ix) => {
      if (ix.table_oid !== fk.table_oid || ix.pred !== null || ix.am !== 'btree') return false;
      const lead = ix.keys.slice(0, n);
      // the FK columns, in any order, must be the index's leading columns
      return lead.length === n && fk.keys.every((k) => lead.includes(k));
    });
    if (!covered) {
      unindexedForeignKeys.push({
        schema: fk.schema,
        table: fk.table,
        constraint: fk.constraint,
        columns: fk.columns,
        references: fk.references,
        suggestion: `CREATE INDEX CONCURRENTLY ON ${quoteIdent(fk.schema)}.${quoteIdent(fk.table)} (${fk.columns.map(quoteIdent).join(', ')});`,
      });
    }
  }

  const seqScanTables = (
    await client.query<{ schema: string; table: string; seq_scan: string; seq_tup_read: string; idx_scan: string | null; live: string }>(
      `SELECT schemaname AS schema, relname AS table, seq_scan::text, seq_tup_read::text, idx_scan::text, n_live_tup::text AS live
         FROM pg_stat_user_tables
        WHERE seq_scan >= $1 AND n_live_tup >= $2 AND seq_tup_read / GREATEST(seq_scan, 1) >= $2
        ORDER BY seq_tup_read DESC
        LIMIT 50`,
      [seqScanMinScans, seqScanMinRows],
    )
  ).rows.map((r) => ({
    schema: r.schema,
    table: r.table,
    seqScans: Number(r.seq_scan),
    seqRowsRead: Number(r.seq_tup_read),
    avgRowsPerScan: Math.round(Number(r.seq_tup_read) / Math.max(1, Number(r.seq_scan))),
    indexScans: Number(r.idx_scan ?? 0),
    liveRows: Number(r.live),
  }));

  const statements = await readStatements(client, top, warnings);

  return {
    database: info.db,
    serverVersion: info.version,
    statsReset: info.stats_reset === null ? null : new Date(info.stats_reset).toISOString(),
    unusedIndexes,
    redundantIndexes,
    unindexedForeignKeys,
    seqScanTables,
    statements,
    warnings,
  };
}

function findRedundant(indexes: readonly IndexRow[], ref: (r: IndexRow) => IndexRef): RedundantIndex[] {
  const out: RedundantIndex[] = [];
  const byTable = new Map<number, IndexRow[]>();
  for (const ix of indexes) {
    const list = byTable.get(ix.table_oid);
    if (list === undefined) byTable.set(ix.table_oid, [ix]);
    else list.push(ix);
  }
  const reported = new Set<number>();
  for (const list of byTable.values()) {
    for (const a of list) {
      if (a.is_primary || reported.has(a.oid)) continue;
      for (const b of list) {
        if (a === b || a.am !== b.am || a.exprs !== b.exprs || a.pred !== b.pred) continue;
        const same = sameArray(a.keys, b.keys) && sameArray(a.opclasses, b.opclasses);
        if (same) {
          // keep the constraint-backed / unique / older one: report the other of the pair once
          if (a.is_unique && !b.is_unique) continue;
          if (a.is_unique === b.is_unique && (a.backs_constraint || (!b.backs_constraint && a.oid < b.oid))) continue;
          out.push({ kind: 'duplicate', index: ref(a), coveredBy: ref(b) });
          reported.add(a.oid);
          break;
        }
        // prefix-redundant: a plain (non-unique) btree on a leading subset of another btree's columns
        if (
          a.am === 'btree' && !a.is_unique && !a.backs_constraint && a.exprs === null &&
          a.keys.length < b.keys.length && sameArray(a.keys, b.keys.slice(0, a.keys.length)) &&
          sameArray(a.opclasses, b.opclasses.slice(0, a.opclasses.length))
        ) {
          out.push({ kind: 'prefix', index: ref(a), coveredBy: ref(b) });
          reported.add(a.oid);
          break;
        }
      }
    }
  }
  return out;
}

function sameArray(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

async function readStatements(client: AuditClient, top: number, warnings: string[]): Promise<StatementsSection> {
  const ext = await client.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
  );
  const schema = ext.rows[0]?.schema;
  if (schema === undefined) {
    return {
      available: false,
      reason: 'the pg_stat_statements extension is not installed in this database (CREATE EXTENSION pg_stat_statements; it also needs shared_preload_libraries = \'pg_stat_statements\')',
    };
  }
  let rows: { query: string | null; calls: string; total: number; rows: string }[];
  try {
    rows = (
      await client.query<{ query: string | null; calls: string; total: number; rows: string }>(
        `SELECT query, calls::text, total_exec_time AS total, rows::text
           FROM ${quoteIdent(schema)}.pg_stat_statements
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      )
    ).rows;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { available: false, reason: `pg_stat_statements could not be read: ${message}` };
  }
  let hidden = 0;
  const groups = new Map<string, { fp: string; summary: string; entries: number; calls: number; total: number; rows: number; example: string; exampleTotal: number }>();
  for (const r of rows) {
    if (r.query === null || r.query === '<insufficient privilege>') {
      hidden++;
      continue;
    }
    const fp = fingerprint(r.query);
    const g = groups.get(fp);
    const calls = Number(r.calls);
    const total = Number(r.total);
    if (g === undefined) {
      groups.set(fp, { fp, summary: summarize(r.query), entries: 1, calls, total, rows: Number(r.rows), example: r.query, exampleTotal: total });
    } else {
      g.entries++;
      g.calls += calls;
      g.total += total;
      g.rows += Number(r.rows);
      if (total > g.exampleTotal) {
        g.example = r.query;
        g.exampleTotal = total;
      }
    }
  }
  if (hidden > 0) {
    warnings.push(`${hidden} pg_stat_statements entries belong to other roles and are hidden from this one (grant pg_read_all_stats to see them)`);
  }
  const sorted = [...groups.values()].sort((a, b) => b.total - a.total).slice(0, top);
  return {
    available: true,
    entries: rows.length,
    groups: sorted.map((g) => ({
      fingerprint: g.fp,
      summary: g.summary,
      entries: g.entries,
      calls: g.calls,
      totalMs: round(g.total),
      meanMs: round(g.total / Math.max(1, g.calls)),
      rows: g.rows,
      example: g.example,
    })),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
