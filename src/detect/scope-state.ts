/**
 * What the detectors remember about one unit of work while it runs. Per query the work is O(1)
 * and synchronous: a Map lookup by fingerprint, counters, one small execution record (while the
 * caps allow), and for results a bounded sample of key-like values into the scope's value index.
 * Nothing is decoded, formatted or compared here; classification happens at report time
 * (classify.ts), for repeated shapes only.
 *
 * The value index answers "which earlier queries returned this value, in which column?": it maps
 * a value's key to up to MAX_ORIGINS_PER_VALUE (query, column, sequence) origins: the first half
 * kept (outer parents, seen first), the second half replaced in turn (the recent, inner ones). It keeps two
 * generations of MAX_INDEXED_VALUES values; when the current one fills up it becomes the previous
 * one and the oldest is dropped, so a long job keeps its recent parents and bounded memory.
 */
import type { CallsiteCapture, QueryEndEvent, ResultView, ScopeInfo } from '../core/query-event.js';
import type { SqlInfo } from '../core/sql-info.js';
import {
  MAX_GROUPS_PER_SCOPE,
  MAX_INDEXED_VALUES,
  MAX_KEY_COLUMNS,
  MAX_LAST_ROW_VALUES,
  MAX_ORIGINS_PER_VALUE,
  MAX_RECORDS_PER_GROUP,
  MAX_RECORDS_PER_SCOPE,
  MAX_SAMPLED_EXECUTIONS_PER_GROUP,
  MAX_SAMPLED_ROWS_PER_GROUP,
  MAX_SAMPLED_ROWS_PER_RESULT,
  MIN_RECORDS_PER_GROUP,
} from './limits.js';
import { isKeyLikeColumn, valueKey, type ValueKey } from './value-keys.js';

/** One execution of a statement, kept for report time. */
export class Execution {
  /** Order of arrival in the scope (query-end order). */
  readonly seq: number;
  readonly startTime: number;
  readonly endTime: number;
  readonly text: string;
  readonly values: readonly unknown[] | undefined;
  readonly sql: SqlInfo;
  readonly callsite: CallsiteCapture | undefined;
  /**
   * A parameter equals a value of the previous execution's last row (keyset pagination: the next
   * page starts after the last row). Decided per query for `$n` parameters.
   */
  afterPrevious = false;
  /** For statements with inline literals (compared at report time): comparable values of the last row. */
  lastRow: ValueKey[] | undefined;

  constructor(seq: number, event: QueryEndEvent) {
    this.seq = seq;
    this.startTime = event.startTime;
    this.endTime = event.startTime + event.durationMs;
    this.text = event.text;
    this.values = event.values;
    this.sql = event.sql;
    this.callsite = event.callsite;
    this.lastRow = undefined;
  }
}

/** What an adapter said about the operation (copied: frames hold call sites and parents). */
export interface OperationSummary {
  readonly orm: string | undefined;
  readonly model: string | undefined;
  readonly relation: string | undefined;
}

interface KeyColumns {
  readonly fields: ResultView['fields'];
  readonly names: readonly string[];
  readonly indexes: readonly number[];
}

/** All executions of one fingerprint in one scope. */
export class Group {
  readonly fingerprint: string;
  /** The first execution's analysis and text stand for the group in messages. */
  readonly sql: SqlInfo;
  readonly text: string;
  readonly firstSeq: number;
  /** The read that ran just before this group's first execution (adjacency evidence), and its count then. */
  readonly adjacent: Group | undefined;
  readonly adjacentCountThen: number;
  count = 0;
  totalMs = 0;
  records: Execution[] = [];
  /** Early reporting released the records: only counting from now on. */
  released = false;
  sampledRows = 0;
  /** Executions whose rows were sampled. */
  sampledExecutions = 0;
  /** Some rows of this group were left out of the index (caps): a missing value proves nothing. */
  sampledPartly = false;
  /** The result rows contained key-like values that went into the index. */
  sampled = false;
  operation: OperationSummary | undefined;
  /** Large results: the biggest, how many executions exceeded, and the first that did. */
  largestRows = 0;
  largeCount = 0;
  largeMs = 0;
  largeCallsite: CallsiteCapture | undefined;
  /** Next count at which an old scope re-checks this group (threshold, then doubling). */
  nextCheck: number;
  /** The previous execution's last row, its first MAX_LAST_ROW_VALUES values (a reused buffer). */
  readonly lastValues: unknown[] = [];
  #keyColumns: KeyColumns | undefined;

  constructor(event: QueryEndEvent, seq: number, adjacent: Group | undefined, firstCheck: number) {
    this.fingerprint = event.sql.fingerprint;
    this.sql = event.sql;
    this.text = event.text;
    this.firstSeq = seq;
    this.adjacent = adjacent;
    this.adjacentCountThen = adjacent?.count ?? 0;
    this.nextCheck = firstCheck;
  }

  keyColumns(fields: ResultView['fields']): KeyColumns {
    const known = this.#keyColumns;
    if (known !== undefined && (known.fields === fields || known.fields.length === fields.length)) return known;
    const names: string[] = [];
    const indexes: number[] = [];
    for (let i = 0; i < fields.length && names.length < MAX_KEY_COLUMNS; i++) {
      const name = fields[i]!.name;
      if (isKeyLikeColumn(name)) {
        names.push(name);
        indexes.push(i);
      }
    }
    this.#keyColumns = { fields, names, indexes };
    return this.#keyColumns;
  }
}

/** A (query execution, column) that returned values: one per sampled result and key column, shared by its rows. */
export class Origin {
  readonly group: Group;
  readonly column: string;
  readonly seq: number;

  constructor(group: Group, column: string, seq: number) {
    this.group = group;
    this.column = column;
    this.seq = seq;
  }
}

export type OriginEntry = Origin | Origin[];

export class ValueIndex {
  #current = new Map<ValueKey, OriginEntry>();
  /** Allocated on the first rotation only (most units of work never fill a generation). */
  #previous: Map<ValueKey, OriginEntry> | undefined;

  add(key: ValueKey, origin: Origin): void {
    const current = this.#current;
    const entry = current.get(key);
    if (entry === undefined) {
      if (current.size >= MAX_INDEXED_VALUES) {
        this.#previous = current;
        this.#current = new Map();
      }
      this.#current.set(key, origin);
      return;
    }
    const { group, column } = origin;
    if (Array.isArray(entry)) {
      for (let i = 0; i < entry.length; i++) if (entry[i]!.group === group && entry[i]!.column === column) return;
      if (entry.length < MAX_ORIGINS_PER_VALUE) entry.push(origin);
      else {
        // Full: the first half stays (outer parents), the second half rotates (recent, inner ones).
        const half = MAX_ORIGINS_PER_VALUE >> 1;
        entry[half + (origin.seq % (MAX_ORIGINS_PER_VALUE - half))] = origin;
      }
    } else if (entry.group !== group || entry.column !== column) {
      current.set(key, [entry, origin]);
    }
  }

  /** The origins of `key` in the current generation (one, several, or undefined). */
  current(key: ValueKey): OriginEntry | undefined {
    return this.#current.get(key);
  }

  /** The origins of `key` in the previous generation. */
  previous(key: ValueKey): OriginEntry | undefined {
    return this.#previous?.get(key);
  }
}

export class ScopeState {
  readonly scope: ScopeInfo;
  seq = 0;
  /** Statements that count (transaction control and session statements do not). */
  statements = 0;
  readonly groups = new Map<string, Group>();
  droppedGroups = 0;
  records = 0;
  readonly index = new ValueIndex();
  /** The last read's group (adjacency evidence for the next new shape). */
  lastRead: Group | undefined;
  /** `kind fingerprint site` of everything reported for this scope (early reports are not repeated). */
  readonly reported = new Set<string>();
  budgetReported = false;

  constructor(scope: ScopeInfo) {
    this.scope = scope;
  }

  /** Records one finished statement; returns its group (undefined past MAX_GROUPS_PER_SCOPE). */
  record(event: QueryEndEvent, firstCheck: number): Group | undefined {
    const seq = ++this.seq;
    this.statements++;
    const sql = event.sql;
    let group = this.groups.get(sql.fingerprint);
    if (group === undefined) {
      if (this.groups.size >= MAX_GROUPS_PER_SCOPE) {
        this.droppedGroups++;
        return undefined;
      }
      group = new Group(event, seq, this.lastRead, firstCheck);
      this.groups.set(sql.fingerprint, group);
    }
    group.count++;
    group.totalMs += event.durationMs;
    if (group.operation === undefined && event.operation !== undefined) {
      const op = event.operation;
      group.operation = { orm: op.orm, model: op.model, relation: op.relation };
    }
    const records = group.records;
    let execution: Execution | undefined;
    if (!group.released && records.length < MAX_RECORDS_PER_GROUP && (this.records < MAX_RECORDS_PER_SCOPE || records.length < MIN_RECORDS_PER_GROUP)) {
      execution = new Execution(seq, event);
      records.push(execution);
      this.records++;
    }
    const result = event.result;
    const single = result !== undefined && !Array.isArray(result) ? (result as ResultView) : undefined;
    if (execution !== undefined && group.lastValues.length > 0 && event.values !== undefined) {
      execution.afterPrevious = matchesAny(event.values, group.lastValues);
    }
    if (single !== undefined) this.#sampleResult(group, single, seq, execution);
    else group.lastValues.length = 0;
    if (sql.statementClass === 'read') this.lastRead = group;
    return group;
  }

  #sampleResult(group: Group, result: ResultView, seq: number, execution: Execution | undefined): void {
    const rows = result.rows;
    const n = rows.length;
    const last = group.lastValues;
    last.length = 0;
    if (n === 0) return;
    const arrayRows = Array.isArray(rows[0]);
    const fields = result.fields;
    const lastRow = rows[n - 1] as Record<string, unknown> | unknown[] | null;
    // A released group records no more executions, so nothing would read its last row.
    if (!group.released && lastRow !== null && typeof lastRow === 'object') {
      // The last row's values: the next page of a keyset pagination starts after them.
      for (let c = 0; c < fields.length && c < MAX_LAST_ROW_VALUES; c++) {
        last.push(arrayRows ? (lastRow as unknown[])[c] : (lastRow as Record<string, unknown>)[fields[c]!.name]);
      }
      if (execution !== undefined && execution.sql.hasLiterals) {
        const keys: ValueKey[] = [];
        for (const v of last) {
          const k = valueKey(v);
          if (k !== undefined) keys.push(k);
        }
        execution.lastRow = keys;
      }
    }
    const cols = group.keyColumns(fields);
    const names = cols.names;
    if (names.length === 0) return;
    // A shape that keeps repeating is a loop: its first executions' rows are enough to find loops
    // nested in it (later ones fall back to the threshold and adjacency).
    if (group.sampledRows >= MAX_SAMPLED_ROWS_PER_GROUP || group.sampledExecutions >= MAX_SAMPLED_EXECUTIONS_PER_GROUP) {
      group.sampledPartly = true;
      return;
    }
    const take = Math.min(n, MAX_SAMPLED_ROWS_PER_RESULT, MAX_SAMPLED_ROWS_PER_GROUP - group.sampledRows);
    if (take < n) group.sampledPartly = true;
    group.sampledRows += take;
    group.sampledExecutions++;
    group.sampled = true;
    const index = this.index;
    // A column that echoes the statement's own parameter (`post_id` of `WHERE post_id = $1`: its
    // first and last sampled values equal `$1`) tells nothing new about where values came from.
    const params = execution?.values;
    const echo = params !== undefined && params.length > 0 ? params[0] : undefined;
    const firstRow = rows[0] as Record<string, unknown> | unknown[] | null;
    const lastSampled = rows[take - 1] as Record<string, unknown> | unknown[] | null;
    const echoing =
      echo !== undefined && echo !== null && typeof echo !== 'object' && firstRow !== null && typeof firstRow === 'object' && lastSampled !== null && typeof lastSampled === 'object';
    for (let c = 0; c < names.length; c++) {
      const name = names[c]!;
      const at = cols.indexes[c]!;
      if (echoing) {
        const first = arrayRows ? (firstRow as unknown[])[at] : (firstRow as Record<string, unknown>)[name];
        const last = arrayRows ? (lastSampled as unknown[])[at] : (lastSampled as Record<string, unknown>)[name];
        // eslint-disable-next-line eqeqeq -- loose on purpose: 5 == '5'
        if (first == echo && last == echo) continue;
      }
      let origin: Origin | undefined;
      for (let r = 0; r < take; r++) {
        const row = rows[r] as Record<string, unknown> | unknown[] | null;
        if (row === null || typeof row !== 'object') continue;
        const k = valueKey(arrayRows ? (row as unknown[])[at] : (row as Record<string, unknown>)[name]);
        if (k === undefined) continue;
        origin ??= new Origin(group, name, seq);
        index.add(k, origin);
      }
    }
  }
}

/** One of `params` equals one of `values` (as keys compare: `5`, `'5'` and `5n` are equal). */
function matchesAny(params: readonly unknown[], values: readonly unknown[]): boolean {
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === null || p === undefined || typeof p === 'boolean' || typeof p === 'object') continue;
    for (let j = 0; j < values.length; j++) {
      const v = values[j];
      // eslint-disable-next-line eqeqeq -- loose on purpose: 5 == '5' == 5n
      if (v !== null && v !== undefined && typeof v !== 'object' && typeof v !== 'boolean' && v == p) return true;
    }
  }
  return false;
}
