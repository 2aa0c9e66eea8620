/**
 * The two records of one query. `QueryStart` is built at call time and doubles as the in-flight
 * record (so a query costs one object until it ends, and the start event is only emitted when a
 * sink wants it); `QueryEnd` copies its fields and adds the outcome. `finishQuery` is the single
 * exit: it runs at most once per query whichever way pg reports back, and never throws.
 */
import type {
  CallsiteCapture,
  ConnectionTarget,
  OperationFrame,
  QueryEndEvent,
  QueryStartEvent,
  ResultView,
  ScopeInfo,
} from '../core/query-event.js';
import type { SqlInfo } from '../sql/sql-info.js';
import type { Recorder } from './recorder.js';

// Read once: `performance.timeOrigin` is a getter, and wall time only needs the offset.
const TIME_ORIGIN = performance.timeOrigin;

/** The fields both records share, declared once (events are flat: sinks read `e.sql`, `e.durationMs`). */
abstract class QueryFields {
  readonly id: number;
  readonly sql: SqlInfo;
  readonly text: string;
  readonly values: readonly unknown[] | undefined;
  readonly name: string | undefined;
  readonly startTime: number;
  readonly callsite: CallsiteCapture | undefined;
  readonly scope: ScopeInfo | undefined;
  readonly operation: OperationFrame | undefined;
  readonly target: ConnectionTarget;
  readonly poolWaitMs: number | undefined;
  readonly ignored: boolean;
  readonly streamed: boolean;
  readonly connection: object | undefined;
  readonly callContext: unknown;

  constructor(
    id: number,
    sql: SqlInfo,
    text: string,
    values: readonly unknown[] | undefined,
    name: string | undefined,
    startTime: number,
    callsite: CallsiteCapture | undefined,
    scope: ScopeInfo | undefined,
    operation: OperationFrame | undefined,
    target: ConnectionTarget,
    poolWaitMs: number | undefined,
    ignored: boolean,
    streamed: boolean,
    connection?: object,
    callContext?: unknown,
  ) {
    this.id = id;
    this.sql = sql;
    this.text = text;
    this.values = values;
    this.name = name;
    this.startTime = startTime;
    this.callsite = callsite;
    this.scope = scope;
    this.operation = operation;
    this.target = target;
    this.poolWaitMs = poolWaitMs;
    this.ignored = ignored;
    this.streamed = streamed;
    this.connection = connection;
    this.callContext = callContext;
  }

  get startTimeUnixMs(): number {
    return TIME_ORIGIN + this.startTime;
  }
}

export class QueryStart extends QueryFields implements QueryStartEvent {
  readonly type = 'query-start' as const;
  #done = false;

  /** True the first time only: a query ends once, however pg reports back. */
  claimEnd(): boolean {
    if (this.#done) return false;
    this.#done = true;
    return true;
  }
}

export class QueryEnd extends QueryFields implements QueryEndEvent {
  readonly type = 'query-end' as const;
  readonly durationMs: number;
  readonly rowCount: number | undefined;
  readonly result: ResultView | readonly ResultView[] | undefined;
  readonly error: unknown;
  readonly sqlstate: string | undefined;

  constructor(start: QueryStart, durationMs: number, rowCount: number | undefined, result: ResultView | readonly ResultView[] | undefined, error: unknown, sqlstate: string | undefined) {
    super(
      start.id,
      start.sql,
      start.text,
      start.values,
      start.name,
      start.startTime,
      start.callsite,
      start.scope,
      start.operation,
      start.target,
      start.poolWaitMs,
      start.ignored,
      start.streamed,
      start.connection,
      start.callContext,
    );
    this.durationMs = durationMs;
    this.rowCount = rowCount;
    this.result = result;
    this.error = error;
    this.sqlstate = sqlstate;
  }
}

function isResult(x: unknown): x is ResultView {
  return x !== null && typeof x === 'object' && Array.isArray((x as { rows?: unknown }).rows);
}

function rowsOf(r: ResultView): number | undefined {
  return typeof r.rowCount === 'number' ? r.rowCount : undefined;
}

/** Rows returned or affected; summed over the results of a multi-statement text. */
function rowCountOf(result: unknown): number | undefined {
  if (Array.isArray(result)) {
    let sum: number | undefined;
    for (const r of result) {
      const n = isResult(r) ? rowsOf(r) : undefined;
      if (n !== undefined) sum = (sum ?? 0) + n;
    }
    return sum;
  }
  return isResult(result) ? rowsOf(result) : undefined;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** SQLSTATE of a server error (pg's DatabaseError `code`), else undefined. */
export function sqlstateOf(error: unknown): string | undefined {
  const code = error !== null && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && SQLSTATE.test(code) ? code : undefined;
}

/**
 * Ends a query, once: emits its end event. `outcome` is the error when `failed`, else pg's result
 * (undefined for a Submittable, whose observed row count comes as `streamedRows`).
 */
export function finishQuery(recorder: Recorder, start: QueryStart, failed: boolean, outcome: unknown, streamedRows?: number): void {
  if (!start.claimEnd()) return;
  try {
    const durationMs = performance.now() - start.startTime;
    const end = failed
      ? new QueryEnd(start, durationMs, undefined, undefined, outcome, sqlstateOf(outcome))
      : new QueryEnd(start, durationMs, streamedRows ?? rowCountOf(outcome), isResult(outcome) || Array.isArray(outcome) ? (outcome as ResultView | ResultView[]) : undefined, undefined, undefined);
    recorder.pipeline.emit(end);
  } catch (err) {
    recorder.internalError(err);
  }
}
