/**
 * The primary-key cache's view of writes: a QuerySink on the lens's event stream that follows each
 * connection's transaction (BEGIN/START, SAVEPOINT, RELEASE, ROLLBACK TO, COMMIT/END,
 * ROLLBACK/ABORT, PREPARE TRANSACTION) and tells the caches which tables changed, and when:
 *
 * - `hold(tables)` when a statement that may make changes visible is sent (an autocommit write, a
 *   COMMIT with pending writes): until `release`, reads of those tables do not trust the cache, so a
 *   reader cannot pair an old key list with rows read after the server committed;
 * - `commit(tables)` after the server confirmed the commit — never before: writes inside a
 *   transaction are pending per savepoint level, ROLLBACK TO drops the level's writes, ROLLBACK
 *   drops them all, and a COMMIT that the server answers with ROLLBACK (failed transaction) too;
 * - `schemaChanged()` after DDL, `sessionChanged()` after SET/RESET/DISCARD.
 *
 * Connections are told apart by `event.connection` (the pg client), kept in a WeakMap. The client's
 * own transaction status (`getTransactionStatus()`, read when the statement ended) corrects what
 * the statement text suggests: a write that ran inside a transaction the tracker did not see begin
 * stays pending, and a transaction that ended by other means is treated as committed. Whenever the
 * outcome is unknown (a connection error during COMMIT, a multi-statement text, DO/CALL), the
 * tracker errs on the side of invalidating.
 */
import type { LensEvent, QueryEndEvent, QueryStartEvent, ResultView } from '../core/query-event.js';
import type { FindingReporter, QuerySink } from '../core/query-pipeline.js';
import type { SqlInfo } from '../core/sql-info.js';
import { createAnalyzer } from '../sql/index.js';
import { KW } from '../sql/keywords.js';
import { createLexed, identText, lex, Tok, type Lexed } from '../sql/lexer.js';

/** Tables one statement (or transaction) changed. Relation names are unqualified, as pg_class.relname. */
export interface TableWrites {
  readonly tables: readonly string[];
  /** Tables emptied by TRUNCATE (… CASCADE empties every referencing table). */
  readonly truncated: readonly string[];
  /** Unknown tables (DO, CALL, EXECUTE, EXPLAIN ANALYZE, an unparsable write): everything may have changed. */
  readonly all: boolean;
  /** Includes DDL. */
  readonly ddl: boolean;
}

/** What a cache implements to be told about writes. Every method must be cheap and must not throw. */
export interface WriteListener {
  /** A change to these tables may become visible any moment now; returns a handle for `release`. */
  hold(writes: TableWrites): unknown;
  release(handle: unknown): void;
  /** These tables changed and the change is committed. */
  commit(writes: TableWrites): void;
  schemaChanged(): void;
  sessionChanged(): void;
}

type StepKind =
  | 'write'
  | 'ddl'
  | 'begin'
  | 'savepoint'
  | 'release'
  | 'rollback-to'
  | 'commit'
  | 'rollback'
  | 'prepare'
  | 'commit-prepared'
  | 'session'
  | 'none';

interface Step {
  readonly kind: StepKind;
  readonly writes: TableWrites | undefined;
  /** Savepoint name, for savepoint/release/rollback-to. */
  readonly name: string | undefined;
}

interface Plan {
  readonly steps: readonly Step[];
  /** More than one statement: outcomes are applied conservatively. */
  readonly multi: boolean;
  /** Union of the steps' writes, held while the text runs. */
  readonly writes: TableWrites | undefined;
}

class Frame {
  readonly name: string | undefined;
  readonly tables = new Set<string>();
  readonly truncated = new Set<string>();
  all = false;
  ddl = false;

  constructor(name: string | undefined) {
    this.name = name;
  }

  /** Adds a statement's writes, or a whole (savepoint) frame's. */
  add(w: TableWrites | Frame): void {
    for (const t of w.tables) this.tables.add(t);
    for (const t of w.truncated) this.truncated.add(t);
    if (w.all) this.all = true;
    if (w.ddl) this.ddl = true;
  }

  get empty(): boolean {
    return this.tables.size === 0 && this.truncated.size === 0 && !this.all && !this.ddl;
  }
}

interface ConnState {
  open: boolean;
  frames: Frame[];
}

const ALL: TableWrites = Object.freeze({ tables: [], truncated: [], all: true, ddl: false });
const NONE_STEP: Step = Object.freeze({ kind: 'none', writes: undefined, name: undefined });

/** `public.posts` → `posts`; `"My.Table"` stays whole only when it was quoted (SqlInfo lost that; take the last part). */
function relname(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? name : name.slice(dot + 1);
}

function unionWrites(list: readonly TableWrites[]): TableWrites | undefined {
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0];
  const f = new Frame(undefined);
  for (const w of list) f.add(w);
  return frameWrites(f);
}

function frameWrites(f: Frame): TableWrites {
  return { tables: [...f.tables], truncated: [...f.truncated], all: f.all, ddl: f.ddl };
}

const lexed: Lexed = createLexed();

/** The word after the leading keyword(s), for savepoint names and `ROLLBACK TO`. */
function transactionStep(text: string, command: string): Step {
  const t = lex(text, lexed);
  const words: { kw: number; text: string; kind: number }[] = [];
  for (let i = 0; i < t.count && words.length < 6; i++) {
    const k = t.kind[i]!;
    if (k === Tok.Semi) break;
    words.push({ kw: k === Tok.Ident ? t.kw[i]! : 0, text: k === Tok.Ident || k === Tok.QIdent ? identText(t, i) : '', kind: k });
  }
  const nameAfter = (from: number): string | undefined => {
    let i = from;
    if (words[i]?.kw === KW.SAVEPOINT) i++;
    const w = words[i];
    return w !== undefined && (w.kind === Tok.Ident || w.kind === Tok.QIdent) ? w.text : undefined;
  };
  switch (command) {
    case 'BEGIN':
    case 'START TRANSACTION':
      return { kind: 'begin', writes: undefined, name: undefined };
    case 'SAVEPOINT':
      return { kind: 'savepoint', writes: undefined, name: nameAfter(1) };
    case 'RELEASE':
      return { kind: 'release', writes: undefined, name: nameAfter(1) };
    case 'COMMIT':
    case 'END':
      return words[1]?.kw === KW.PREPARE || words[1]?.text === 'prepared' ? { kind: 'commit-prepared', writes: ALL, name: undefined } : { kind: 'commit', writes: undefined, name: undefined };
    case 'ROLLBACK':
    case 'ABORT': {
      if (words[1]?.kw === KW.TO) return { kind: 'rollback-to', writes: undefined, name: nameAfter(2) };
      if (words[1]?.text === 'prepared') return NONE_STEP;
      return { kind: 'rollback', writes: undefined, name: undefined };
    }
    case 'PREPARE TRANSACTION':
      return { kind: 'prepare', writes: undefined, name: undefined };
    default:
      return NONE_STEP;
  }
}

function hasKeyword(text: string, ...kws: number[]): boolean {
  const t = lex(text, lexed);
  for (let i = 0; i < t.count; i++) if (t.kind[i] === Tok.Ident && kws.includes(t.kw[i]!)) return true;
  return false;
}

function stepOf(sql: SqlInfo, text: string): Step {
  switch (sql.statementClass) {
    case 'read':
      return NONE_STEP;
    case 'write': {
      const written = sql.writtenTables;
      if (written.length === 0) return { kind: 'write', writes: ALL, name: undefined };
      const tables = written.map(relname);
      const truncate = sql.command === 'TRUNCATE';
      return { kind: 'write', writes: { tables, truncated: truncate ? tables : [], all: false, ddl: false }, name: undefined };
    }
    case 'ddl': {
      return { kind: 'ddl', writes: { tables: sql.tables.map(relname), truncated: [], all: false, ddl: true }, name: undefined };
    }
    case 'transaction':
      return transactionStep(text, sql.command);
    case 'session':
      return sql.command === 'SET' || sql.command === 'RESET' || sql.command === 'DISCARD' ? { kind: 'session', writes: undefined, name: undefined } : NONE_STEP;
    default: {
      // DO blocks, procedures and prepared statements can change anything; so can EXPLAIN ANALYZE of a write.
      const c = sql.command;
      if (c === 'DO' || c === 'CALL' || c === 'EXECUTE' || c === 'COPY' || c === 'MERGE') return { kind: 'write', writes: ALL, name: undefined };
      if (c === 'EXPLAIN' && hasKeyword(text, KW.ANALYZE, KW.ANALYSE) && hasKeyword(text, KW.INSERT, KW.UPDATE, KW.DELETE, KW.MERGE, KW.TRUNCATE)) {
        return { kind: 'write', writes: ALL, name: undefined };
      }
      return NONE_STEP;
    }
  }
}

/** Splits a multi-statement text at its top-level semicolons. */
function splitStatements(text: string): string[] {
  const t = lex(text, lexed);
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < t.count; i++) {
    if (t.kind[i] === Tok.Semi) {
      out.push(text.slice(from, t.start[i]));
      from = t.end[i]!;
    }
  }
  if (from < text.length) out.push(text.slice(from));
  return out.filter((s) => s.trim() !== '');
}

function txStatus(connection: unknown): string | undefined {
  const fn = (connection as { getTransactionStatus?: unknown } | null)?.getTransactionStatus;
  if (typeof fn !== 'function') return undefined;
  try {
    const s: unknown = fn.call(connection);
    return typeof s === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

function commandOf(result: ResultView | readonly ResultView[] | undefined): string | undefined {
  if (result === undefined) return undefined;
  if (Array.isArray(result)) return (result as readonly ResultView[])[result.length - 1]?.command;
  return (result as ResultView).command;
}

/** Pending holds beyond this are dropped (an end event that never came must not grow the map). */
const MAX_HOLDS = 10_000;

export class CacheWriteTracker implements QuerySink {
  readonly name = 'querylens-cache';
  readonly accepts = ['query-start', 'query-end'] as const;
  #listeners: readonly WriteListener[] = [];
  readonly #connections = new WeakMap<object, ConnState>();
  readonly #holds = new Map<number, { readonly listeners: readonly WriteListener[]; readonly handles: unknown[] }>();
  readonly #plans = new WeakMap<SqlInfo, Plan>();
  readonly #analyze = createAnalyzer({ memoMax: 200 });
  #closers: (() => void | Promise<void>)[] = [];

  /** Registers a cache; returns its removal function. */
  add(listener: WriteListener, close?: () => void | Promise<void>): () => void {
    this.#listeners = [...this.#listeners, listener];
    if (close !== undefined) this.#closers.push(close);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
      if (close !== undefined) this.#closers = this.#closers.filter((c) => c !== close);
    };
  }

  /** An explicit transaction is open on this connection, as far as its statements told. */
  inTransaction(connection: object): boolean {
    return this.#connections.get(connection)?.open === true;
  }

  handle(event: LensEvent, _reporter: FindingReporter): void {
    if (event.type === 'query-start') this.#start(event);
    else if (event.type === 'query-end') this.#end(event);
  }

  async close(): Promise<void> {
    const closers = this.#closers;
    this.#closers = [];
    await Promise.all(closers.map(async (c) => c()));
  }

  #plan(event: QueryStartEvent | QueryEndEvent): Plan {
    const sql = event.sql;
    let plan = this.#plans.get(sql);
    if (plan !== undefined) return plan;
    if (!sql.multiStatement) {
      const step = stepOf(sql, event.text);
      plan = { steps: [step], multi: false, writes: step.writes };
    } else {
      const steps = splitStatements(event.text).map((s) => stepOf(this.#analyze(s), s));
      const writes = unionWrites(steps.map((s) => s.writes).filter((w): w is TableWrites => w !== undefined));
      plan = { steps, multi: true, writes };
    }
    this.#plans.set(sql, plan);
    return plan;
  }

  #state(connection: object): ConnState {
    let st = this.#connections.get(connection);
    if (st === undefined) {
      st = { open: false, frames: [] };
      this.#connections.set(connection, st);
    }
    return st;
  }

  #start(event: QueryStartEvent): void {
    const cls = event.sql.statementClass;
    if (cls === 'read' || this.#listeners.length === 0) return;
    const plan = this.#plan(event);
    const conn = event.connection ?? event.target;
    const st = this.#state(conn);
    let held: TableWrites | undefined;
    if (plan.multi) {
      held = plan.writes;
      if (st.open) held = unionWrites([...(held === undefined ? [] : [held]), ...pendingOf(st)]);
    } else {
      const step = plan.steps[0]!;
      if (step.kind === 'commit' || step.kind === 'prepare') {
        const pending = pendingOf(st);
        held = pending[0];
      } else if (step.writes !== undefined) {
        // Inside a transaction nothing is visible to others before COMMIT: hold only autocommit writes.
        const status = txStatus(conn);
        if (!st.open && status !== 'T' && status !== 'E') held = step.writes;
      }
    }
    if (held === undefined) return;
    if (this.#holds.size >= MAX_HOLDS) for (const id of this.#holds.keys()) this.#release(id);
    const listeners = this.#listeners;
    this.#holds.set(event.id, { listeners, handles: listeners.map((l) => l.hold(held)) });
  }

  #release(id: number): void {
    const h = this.#holds.get(id);
    if (h === undefined) return;
    this.#holds.delete(id);
    h.listeners.forEach((l, i) => l.release(h.handles[i]));
  }

  #end(event: QueryEndEvent): void {
    try {
      if (this.#listeners.length > 0) {
        if (event.sql.statementClass !== 'read') this.#apply(event);
        else this.#reconcile(event.connection ?? event.target);
      }
    } finally {
      this.#release(event.id);
    }
  }

  #apply(event: QueryEndEvent): void {
    const plan = this.#plan(event);
    const conn = event.connection ?? event.target;
    const st = this.#state(conn);
    const failed = event.error !== undefined && event.error !== null;
    // A failure without SQLSTATE (connection lost, timeout) leaves the outcome unknown.
    const unknownOutcome = failed && event.sqlstate === undefined;
    const status = txStatus(conn);

    if (plan.multi) {
      // Outcomes per statement are unknown: commit everything it wrote now, and again (if a
      // transaction is still open) when that transaction ends.
      for (const step of plan.steps) if (step.kind === 'session') this.#emitSession();
      if (plan.steps.some((s) => s.kind === 'ddl')) this.#emitSchema();
      const stillOpen = status !== undefined ? status === 'T' || status === 'E' : plan.steps.some((s) => s.kind === 'begin') || st.open;
      const pending = pendingOf(st);
      const writes = unionWrites([...(plan.writes === undefined ? [] : [plan.writes]), ...pending]);
      if (writes !== undefined) this.#emitCommit(writes);
      if (stillOpen) {
        if (!st.open || st.frames.length === 0) st.frames = [new Frame(undefined)];
        st.open = true;
        if (plan.writes !== undefined) st.frames[st.frames.length - 1]!.add(plan.writes);
      } else reset(st);
      return;
    }

    const step = plan.steps[0]!;
    switch (step.kind) {
      case 'write':
      case 'ddl': {
        const w = step.writes!;
        if (failed) {
          if (unknownOutcome && !st.open) this.#emitCommit(w);
          break;
        }
        const inTransaction = status !== undefined ? status === 'T' || status === 'E' : st.open;
        if (!inTransaction) {
          this.#emitCommit(w);
          if (step.kind === 'ddl') this.#emitSchema();
        } else {
          if (!st.open) {
            st.open = true;
            st.frames = [new Frame(undefined)];
          }
          st.frames[st.frames.length - 1]!.add(w);
          // The new shape is visible to this connection now and to others after COMMIT: refresh both times.
          if (step.kind === 'ddl') this.#emitSchema();
        }
        break;
      }
      case 'begin':
        if (!failed && !st.open) {
          st.open = true;
          st.frames = [new Frame(undefined)];
        }
        break;
      case 'savepoint':
        if (!failed && st.open) st.frames.push(new Frame(step.name));
        break;
      case 'release':
        if (!failed && st.open) {
          const at = findFrame(st, step.name);
          if (at > 0) {
            const below = st.frames[at - 1]!;
            for (const f of st.frames.splice(at)) below.add(f);
          }
        }
        break;
      case 'rollback-to':
        if (!failed && st.open) {
          const at = findFrame(st, step.name);
          if (at > 0) {
            st.frames.splice(at + 1);
            st.frames[at] = new Frame(step.name);
          }
        }
        break;
      case 'commit':
      case 'prepare': {
        const command = commandOf(event.result);
        // A failed transaction's COMMIT succeeds with the tag ROLLBACK.
        const committed = unknownOutcome || (!failed && (step.kind === 'prepare' || command === undefined || command.toUpperCase() !== 'ROLLBACK'));
        const pending = pendingOf(st);
        if (committed && pending[0] !== undefined) {
          this.#emitCommit(pending[0]);
          if (pending[0].ddl) this.#emitSchema();
        }
        if (!failed || unknownOutcome || status === 'I') reset(st);
        break;
      }
      case 'commit-prepared':
        if (!failed || unknownOutcome) {
          this.#emitCommit(ALL);
          this.#emitSchema();
        }
        break;
      case 'rollback':
        if (!failed || status === 'I') {
          const pending = pendingOf(st);
          // DDL rolled back still changed what this connection saw meanwhile; refresh once more.
          if (pending[0]?.ddl === true) this.#emitSchema();
          reset(st);
        }
        break;
      case 'session':
        if (!failed) this.#emitSession();
        break;
      case 'none':
        break;
    }

    // The client's own view wins over what the text suggested.
    if (status === 'I' && st.open) this.#endedUnseen(st);
    else if ((status === 'T' || status === 'E') && !st.open) {
      st.open = true;
      st.frames = [new Frame(undefined)];
    }
  }

  /** After a read on a connection we think is in a transaction: did it end meanwhile (a procedure, a driver)? */
  #reconcile(conn: object): void {
    const st = this.#connections.get(conn);
    if (st !== undefined && st.open && txStatus(conn) === 'I') this.#endedUnseen(st);
  }

  /** The client is idle, so the transaction we followed ended by means we did not see: count it committed. */
  #endedUnseen(st: ConnState): void {
    const pending = pendingOf(st);
    if (pending[0] !== undefined) this.#emitCommit(pending[0]);
    reset(st);
  }

  #emitCommit(w: TableWrites): void {
    for (const l of this.#listeners) l.commit(w);
  }

  #emitSchema(): void {
    for (const l of this.#listeners) l.schemaChanged();
  }

  #emitSession(): void {
    for (const l of this.#listeners) l.sessionChanged();
  }
}

function reset(st: ConnState): void {
  st.open = false;
  st.frames = [];
}

/** The transaction's pending writes, merged over its savepoint levels ([] when none). */
function pendingOf(st: ConnState): TableWrites[] {
  if (!st.open || st.frames.length === 0) return [];
  const f = new Frame(undefined);
  for (const frame of st.frames) f.add(frame);
  return f.empty ? [] : [frameWrites(f)];
}

/** Index of the innermost savepoint frame with this name (frames[0] is the transaction itself), or -1. */
function findFrame(st: ConnState, name: string | undefined): number {
  for (let i = st.frames.length - 1; i > 0; i--) if (st.frames[i]!.name === name) return i;
  return -1;
}
