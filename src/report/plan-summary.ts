/**
 * What a slow-query record says about an `EXPLAIN (FORMAT JSON)` plan, in a few fields a human
 * reads at a glance: the top node, its total cost and row estimate, the sequential scans on large
 * tables with their filter, and one hint ("sequential scan on comments filtered by post_id —
 * consider an index on comments(post_id)"). Pure functions over the JSON PostgreSQL returns; the
 * table sizes come from the catalog (see explain.ts).
 *
 * Filters are shown sanitized: with bound parameters PostgreSQL plans a custom plan and prints the
 * values in it (`Filter: (email = 'a@b.c'::text)`).
 */
import { sanitize } from '../sql/index.js';

/** A sequential scan touching at least this many (estimated) rows is worth a hint. */
export const LARGE_TABLE_ROWS = 10_000;
/** Columns named in one index hint, at most. */
const MAX_HINT_COLUMNS = 3;
/** Plan nodes visited, at most (plans of generated SQL can be huge). */
const MAX_NODES = 2000;

/** One plan node as PostgreSQL's JSON format spells it (only the keys used here). */
export interface PlanNode {
  readonly 'Node Type'?: unknown;
  readonly 'Relation Name'?: unknown;
  readonly Schema?: unknown;
  readonly Alias?: unknown;
  readonly 'Total Cost'?: unknown;
  readonly 'Plan Rows'?: unknown;
  readonly Filter?: unknown;
  readonly 'Actual Total Time'?: unknown;
  readonly 'Actual Rows'?: unknown;
  readonly 'Actual Loops'?: unknown;
  readonly 'Rows Removed by Filter'?: unknown;
  readonly Plans?: unknown;
}

/** A sequential scan found in a plan. */
export interface SeqScan {
  /** Schema as printed by EXPLAIN VERBOSE, when known. */
  readonly schema: string | undefined;
  readonly relation: string;
  /** The raw filter (may contain values: sanitize before showing). */
  readonly filter: string | undefined;
  readonly rowsRemovedByFilter: number | undefined;
}

/** A large table's sequential scan, as the record shows it. */
export interface SeqScanSummary {
  /** `comments`, or `audit.events` outside the public schema. */
  readonly table: string;
  /** The filter, sanitized (`(post_id = $1)`, `(status = ?::text)`); absent for a full read. */
  readonly filter?: string;
  /** Columns the filter reads, in order. */
  readonly columns: readonly string[];
  /** The table's estimated rows (catalog statistics). */
  readonly tableRows: number;
}

export interface PlanSummary {
  /** The top node: `Seq Scan on comments`, `Hash Join`, `Limit` … */
  readonly node: string;
  /** The planner's total cost of the whole plan (arbitrary units). */
  readonly totalCost: number;
  /** Rows the planner expects the query to return. */
  readonly estimatedRows: number;
  /** Sequential scans on tables of at least LARGE_TABLE_ROWS rows. */
  readonly seqScans: readonly SeqScanSummary[];
  /** With `explain.analyze`: the measured time and rows of the top node. */
  readonly actualTimeMs?: number;
  readonly actualRows?: number;
  /** One line of advice, when the plan suggests one. */
  readonly hint?: string;
}

function num(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

function str(x: unknown): string | undefined {
  return typeof x === 'string' && x !== '' ? x : undefined;
}

/** The root node of EXPLAIN (FORMAT JSON) output: `[{ "Plan": {…} }]`, possibly still as JSON text. */
export function planRoot(output: unknown): PlanNode | undefined {
  let value = output;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  const plan = first !== null && typeof first === 'object' ? (first as { Plan?: unknown }).Plan : undefined;
  return plan !== null && typeof plan === 'object' ? (plan as PlanNode) : undefined;
}

/** Every node, depth first, bounded by MAX_NODES. */
function nodesOf(root: PlanNode): PlanNode[] {
  const out: PlanNode[] = [];
  const stack: PlanNode[] = [root];
  while (stack.length > 0 && out.length < MAX_NODES) {
    const node = stack.pop()!;
    out.push(node);
    if (Array.isArray(node.Plans)) {
      for (let i = node.Plans.length - 1; i >= 0; i--) {
        const child = node.Plans[i] as unknown;
        if (child !== null && typeof child === 'object') stack.push(child as PlanNode);
      }
    }
  }
  return out;
}

/** The sequential scans of a plan, in plan order. */
export function seqScansOf(root: PlanNode): SeqScan[] {
  const scans: SeqScan[] = [];
  for (const node of nodesOf(root)) {
    const type = str(node['Node Type']);
    const relation = str(node['Relation Name']);
    if ((type === 'Seq Scan' || type === 'Parallel Seq Scan') && relation !== undefined) {
      scans.push({ schema: str(node.Schema), relation, filter: str(node.Filter), rowsRemovedByFilter: num(node['Rows Removed by Filter']) });
    }
  }
  return scans;
}

const NOT_COLUMNS = new Set([
  'and', 'or', 'not', 'is', 'null', 'true', 'false', 'any', 'all', 'some', 'in', 'like', 'ilike', 'similar', 'to', 'between',
  'distinct', 'from', 'case', 'when', 'then', 'else', 'end', 'array', 'subplan', 'hashed', 'initplan', 'collate', 'escape',
  'unknown', 'current_date', 'current_timestamp', 'localtimestamp', 'current_user', 'session_user',
]);
/** Words of a type name after which the name goes on (`character varying`, `timestamp with time zone`). */
const TYPE_CONTINUED_BY = new Set(['character', 'double', 'bit', 'timestamp', 'time', 'with', 'without']);

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c > 127;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
}

/**
 * The columns an EXPLAIN filter expression reads, in order of appearance, without qualifiers
 * (`((comments.post_id = 42) AND ((c.status)::text = 'x'::text))` → `post_id`, `status`).
 * Skips strings, numbers, parameters, type names after `::`, function names and SQL words.
 */
export function filterColumns(filter: string): string[] {
  const out: string[] = [];
  const n = filter.length;
  let i = 0;
  let afterCast = false;
  while (i < n) {
    const c = filter.charCodeAt(i);
    if (c === 39 /* ' */) {
      i++;
      while (i < n) {
        if (filter.charCodeAt(i) === 39) {
          if (filter.charCodeAt(i + 1) === 39) i += 2;
          else break;
        } else i++;
      }
      i++;
      afterCast = false;
      continue;
    }
    if (c === 58 /* : */ && filter.charCodeAt(i + 1) === 58) {
      i += 2;
      afterCast = true;
      continue;
    }
    if (c === 36 /* $ */ || (c >= 48 && c <= 57)) {
      i++;
      while (i < n && isIdentPart(filter.charCodeAt(i))) i++;
      afterCast = false;
      continue;
    }
    let word: string | undefined;
    if (c === 34 /* " */) {
      let j = i + 1;
      let w = '';
      while (j < n) {
        if (filter.charCodeAt(j) === 34) {
          if (filter.charCodeAt(j + 1) === 34) {
            w += '"';
            j += 2;
            continue;
          }
          break;
        }
        w += filter[j];
        j++;
      }
      word = w;
      i = j + 1;
    } else if (isIdentStart(c)) {
      const start = i;
      while (i < n && isIdentPart(filter.charCodeAt(i))) i++;
      word = filter.slice(start, i);
    } else {
      if (c !== 32) afterCast = false;
      i++;
      continue;
    }
    // A qualifier: the column is the part after the dot.
    if (filter.charCodeAt(i) === 46 /* . */) continue;
    let j = i;
    while (j < n && filter.charCodeAt(j) === 32) j++;
    const lower = word.toLowerCase();
    if (afterCast) {
      // A type name: `::text`, `::character varying`, `::timestamp with time zone`, `::integer[]`.
      afterCast = TYPE_CONTINUED_BY.has(lower);
      continue;
    }
    if (filter.charCodeAt(j) === 40 /* ( */) continue; // a function name
    if (NOT_COLUMNS.has(lower)) continue;
    if (!out.includes(word)) out.push(word);
  }
  return out;
}

/** `comments`, or `schema.table` outside `public`. */
export function displayTable(scan: SeqScan): string {
  return scan.schema === undefined || scan.schema === 'public' ? scan.relation : `${scan.schema}.${scan.relation}`;
}

/** Estimated rows of the tables a plan scans, keyed by `displayTable`. */
export type TableRows = ReadonlyMap<string, number>;

/** The hint for the first large filtered sequential scan, if any. */
export function planHint(seqScans: readonly SeqScanSummary[]): string | undefined {
  const scan = seqScans.find((s) => s.columns.length > 0);
  if (scan === undefined) return undefined;
  const columns = scan.columns.slice(0, MAX_HINT_COLUMNS);
  // `lower(email) = …` cannot use an index on email: point at the expression the filter compares.
  const call = scan.filter === undefined ? undefined : wrappedColumn(scan.filter, columns[0]!);
  if (call !== undefined) {
    return `sequential scan on ${scan.table} filtered by ${call} — consider an expression index on ${scan.table} ((${call}))`;
  }
  return `sequential scan on ${scan.table} filtered by ${columns.join(', ')} — consider an index on ${scan.table}(${columns.join(', ')})`;
}

/** `lower(email)` when the filter applies a one-argument function to the column (`lower(t.email)`), else undefined. */
function wrappedColumn(filter: string, column: string): string | undefined {
  const escaped = column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`\\b([a-z_][a-z0-9_]*)\\(\\s*(?:[a-z_][a-z0-9_]*\\.)?"?${escaped}"?\\s*\\)`, 'i').exec(filter);
  if (m === null || NOT_COLUMNS.has(m[1]!.toLowerCase())) return undefined;
  return `${m[1]}(${column})`;
}

/**
 * The summary of a plan. `tableRows` gives the estimated size of scanned tables; scans of tables
 * below `largeRows` (or of unknown size) are left out.
 */
export function summarizePlan(root: PlanNode, tableRows: TableRows, largeRows = LARGE_TABLE_ROWS): PlanSummary {
  const type = str(root['Node Type']) ?? 'unknown';
  const relation = str(root['Relation Name']);
  const seqScans: SeqScanSummary[] = [];
  for (const scan of seqScansOf(root)) {
    const table = displayTable(scan);
    const rows = tableRows.get(table);
    if (rows === undefined || rows < largeRows) continue;
    const summary: SeqScanSummary =
      scan.filter === undefined
        ? { table, columns: [], tableRows: rows }
        : { table, filter: sanitize(scan.filter), columns: filterColumns(scan.filter), tableRows: rows };
    seqScans.push(summary);
  }
  const actualTime = num(root['Actual Total Time']);
  const actualRows = num(root['Actual Rows']);
  const hint = planHint(seqScans);
  return {
    node: relation === undefined ? type : `${type} on ${relation}`,
    totalCost: num(root['Total Cost']) ?? 0,
    estimatedRows: num(root['Plan Rows']) ?? 0,
    seqScans,
    ...(actualTime === undefined ? {} : { actualTimeMs: actualTime }),
    ...(actualRows === undefined ? {} : { actualRows }),
    ...(hint === undefined ? {} : { hint }),
  };
}
