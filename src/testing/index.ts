/**
 * `querylens/testing`: assertions about the queries a piece of code issues, for any test runner.
 * They throw plain errors (`NPlusOneError`, node's `AssertionError`), use no runner globals, and
 * work the same under vitest, node:test, jest or mocha. Like every consumer of querylens, this
 * module uses only what the package entry exports.
 *
 * Each helper runs the code in its own `lens.scope` and attributes to it every statement and
 * finding of that scope and of the scopes nested in it (a request scope opened by middleware
 * inside the test, for instance).
 *
 * ```ts
 * import { expectNoNPlusOne, captureQueries, assertScaling } from 'querylens/testing';
 *
 * await expectNoNPlusOne(lens, () => listPostsWithComments(pool));
 * const { statements, counts } = await captureQueries(lens, () => getPost(pool, 1));
 * await assertScaling(lens, async (n) => { await seed(n); await listPosts(pool); }, { sizes: [2, 6] });
 * ```
 */
import { AssertionError } from 'node:assert';
import { NPlusOneError, sanitize } from '../index.js';
import type { Callsite, Finding, FindingKind, Lens, LensEvent, QueryEndEvent, ScopeInfo, StatementClass } from '../index.js';

/** One statement the code issued, as `captureQueries` reports it (parameter values are not kept). */
export interface CapturedStatement {
  /** The SQL as sent. */
  readonly text: string;
  /** The SQL with literals replaced by `?`. */
  readonly sql: string;
  readonly fingerprint: string;
  /** `db.query.summary` (`SELECT comments`). */
  readonly summary: string;
  readonly statementClass: StatementClass;
  readonly durationMs: number;
  /** Rows returned or affected; undefined on error or when pg gave none. */
  readonly rows: number | undefined;
  /** Whether pg reported an error. */
  readonly failed: boolean;
  /** Issued inside `lens.ignore()`. */
  readonly ignored: boolean;
  /** Where the application issued it (when the lens captures call sites). */
  readonly callsite: Callsite | undefined;
  /** The unit of work it ran in (this helper's scope or one nested in it). */
  readonly scope: { readonly id: string; readonly name: string };
}

/** Statements of one fingerprint. */
export interface FingerprintCount {
  readonly fingerprint: string;
  readonly summary: string;
  readonly sql: string;
  readonly count: number;
}

export interface CapturedQueries<R> {
  /** What `fn` returned. */
  readonly result: R;
  /** Every statement, in completion order. */
  readonly statements: readonly CapturedStatement[];
  /** Every finding reported for the scope (and nested scopes), whatever the mode. */
  readonly findings: readonly Finding[];
  /**
   * Statements per fingerprint, transaction control, session statements and ignored ones left
   * out, most frequent first.
   */
  readonly counts: readonly FingerprintCount[];
  /** The count of the fingerprint of `sql` (or of a fingerprint / summary given as is); 0 when it never ran. */
  countOf(sqlOrFingerprintOrSummary: string): number;
}

export interface CaptureOptions {
  /** Name of the helper's scope (it appears in findings). Default 'captureQueries'. */
  readonly name?: string;
}

function checkLens(lens: Lens, helper: string): void {
  if (lens === null || typeof lens !== 'object' || typeof lens.scope !== 'function' || typeof lens.addSink !== 'function') {
    throw new TypeError(`querylens/testing: ${helper}() expects a lens (createLens()) first`);
  }
}

function within(scope: ScopeInfo | undefined, ours: ScopeInfo | undefined): boolean {
  for (let s = scope; s !== undefined; s = s.parent) if (s === ours) return true;
  return false;
}

function toStatement(e: QueryEndEvent): CapturedStatement {
  return {
    text: e.text,
    sql: e.sql.hasLiterals ? sanitize(e.text) : e.text,
    fingerprint: e.sql.fingerprint,
    summary: e.sql.summary,
    statementClass: e.sql.statementClass,
    durationMs: e.durationMs,
    rows: e.rowCount,
    failed: e.error !== undefined,
    ignored: e.ignored,
    callsite: e.callsite?.resolve(),
    scope: { id: e.scope?.id ?? '', name: e.scope?.name ?? '' },
  };
}

function countStatements(statements: readonly CapturedStatement[]): FingerprintCount[] {
  const counts = new Map<string, { fingerprint: string; summary: string; sql: string; count: number }>();
  for (const s of statements) {
    if (s.ignored || s.statementClass === 'transaction' || s.statementClass === 'session') continue;
    const c = counts.get(s.fingerprint);
    if (c === undefined) counts.set(s.fingerprint, { fingerprint: s.fingerprint, summary: s.summary, sql: s.sql, count: 1 });
    else c.count++;
  }
  return [...counts.values()].sort((a, b) => b.count - a.count);
}

/**
 * Runs `fn` in a scope of its own and returns what it returned with every statement it issued,
 * the findings of that scope and the statement counts per fingerprint. Findings never make it
 * throw (in test mode the scope's `NPlusOneError` is caught and its findings returned); an error
 * of `fn` itself is rethrown.
 * @example
 * const { counts, countOf } = await captureQueries(lens, () => loadDashboard(pool));
 * expect(countOf('SELECT * FROM posts WHERE author_id = $1')).toBe(1);
 */
export async function captureQueries<R>(lens: Lens, fn: () => R | PromiseLike<R>, options: CaptureOptions = {}): Promise<CapturedQueries<Awaited<R>>> {
  checkLens(lens, 'captureQueries');
  if (typeof fn !== 'function') throw new TypeError('querylens/testing: captureQueries() expects a function second');
  const name = options.name ?? 'captureQueries';
  const events: QueryEndEvent[] = [];
  const findings: Finding[] = [];
  let ours: ScopeInfo | undefined;
  let armed = true;
  const removeSink = lens.addSink({
    name: 'querylens/testing',
    accepts: ['scope-start', 'query-end'],
    handle(event: LensEvent) {
      if (event.type === 'scope-start') {
        // lens.scope() emits its scope-start synchronously, before fn runs: the first one is ours.
        if (armed && ours === undefined) ours = event.scope;
      } else if (event.type === 'query-end' && within(event.scope, ours)) {
        events.push(event);
      }
    },
  });
  const unsubscribe = lens.on('finding', (finding, scope) => {
    if (within(scope, ours)) findings.push(finding);
  });
  // Kept aside: in test mode lens.scope() rejects with NPlusOneError after fn succeeded.
  let result: Awaited<R> | undefined;
  let completed = false;
  try {
    const running = lens.scope(name, async () => {
      result = await fn();
      completed = true;
    });
    armed = false;
    try {
      await running;
    } catch (err) {
      // Test mode: our own scope's findings come back as data, not as an error.
      const own = ours;
      if (!completed || !(err instanceof NPlusOneError) || own === undefined || !err.findings.every((f) => f.scope?.id === own.id)) throw err;
    }
  } finally {
    armed = false;
    removeSink();
    unsubscribe();
  }
  const statements = events.map(toStatement);
  const counts = countStatements(statements);
  return {
    result: result as Awaited<R>,
    statements,
    findings,
    counts,
    countOf(key: string): number {
      // Statements with one text share one fingerprint: look the text up once, not once per count.
      const issued = statements.find((s) => s.text === key)?.fingerprint;
      const hit = counts.find((c) => c.fingerprint === key || c.summary === key || c.sql === key || c.fingerprint === issued);
      return hit?.count ?? 0;
    },
  };
}

export interface ExpectNoNPlusOneOptions {
  /** Finding kinds that fail the assertion. Default `['n-plus-one']`. */
  readonly kinds?: readonly FindingKind[];
  /** Name of the helper's scope (it appears in the error). Default 'expectNoNPlusOne'. */
  readonly name?: string;
}

/**
 * Runs `fn` in a scope of its own and rejects with an `NPlusOneError` (its `findings` listed) when
 * the scope had an N+1 (or any of `options.kinds`); resolves with what `fn` returned otherwise.
 * @example
 * await expectNoNPlusOne(lens, () => request(app).get('/posts'));
 * await expectNoNPlusOne(lens, () => importAll(pool), { kinds: ['n-plus-one', 'batchable-writes'] });
 */
export async function expectNoNPlusOne<R>(lens: Lens, fn: () => R | PromiseLike<R>, options: ExpectNoNPlusOneOptions = {}): Promise<Awaited<R>> {
  checkLens(lens, 'expectNoNPlusOne');
  const kinds = new Set<FindingKind>(options.kinds ?? ['n-plus-one']);
  const name = options.name ?? 'expectNoNPlusOne';
  const captured = await captureQueries(lens, fn, { name });
  const failing = captured.findings.filter((f) => kinds.has(f.kind));
  if (failing.length > 0) throw new NPlusOneError(name, failing);
  return captured.result;
}

export interface AssertScalingOptions {
  /** The sizes to run at (at least two distinct positive integers), e.g. `[2, 6]`. */
  readonly sizes: readonly number[];
  /** Statements to leave out of the comparison (seeding that is not inside `lens.ignore`, say). */
  readonly ignore?: (statement: CapturedStatement) => boolean;
}

export interface ScalingReport {
  readonly sizes: readonly number[];
  /** Per fingerprint, its count at each size (same order as `sizes`). */
  readonly counts: ReadonlyArray<{ readonly fingerprint: string; readonly summary: string; readonly sql: string; readonly counts: readonly number[] }>;
}

/**
 * Runs `run(n)` for each size and fails (an `AssertionError`) when any fingerprint's statement
 * count grows with n: the code issues a query per row, even if the fixture is too small to reach
 * the N+1 threshold. Resolves with the counts otherwise.
 * @example
 * await assertScaling(lens, async (n) => {
 *   await lens.ignore(() => seedPosts(pool, n));
 *   await renderFeed(pool);
 * }, { sizes: [2, 6] });
 */
export async function assertScaling(lens: Lens, run: (n: number) => unknown, options: AssertScalingOptions): Promise<ScalingReport> {
  checkLens(lens, 'assertScaling');
  if (typeof run !== 'function') throw new TypeError('querylens/testing: assertScaling() expects a function run(n) second');
  const sizes = options?.sizes;
  if (!Array.isArray(sizes) || sizes.length < 2 || !sizes.every((n) => Number.isInteger(n) && n > 0) || new Set(sizes).size !== sizes.length) {
    throw new TypeError(`querylens/testing: assertScaling() option "sizes" must be at least two distinct positive integers; got ${JSON.stringify(sizes)}`);
  }
  const ordered = [...sizes].sort((a, b) => a - b);
  const table = new Map<string, { fingerprint: string; summary: string; sql: string; counts: number[] }>();
  for (let i = 0; i < ordered.length; i++) {
    const n = ordered[i]!;
    const captured = await captureQueries(lens, () => run(n), { name: `assertScaling(n=${n})` });
    // captureQueries already counted every statement; recount only when some are left out.
    const counts = options.ignore === undefined ? captured.counts : countStatements(captured.statements.filter((s) => !options.ignore!(s)));
    for (const c of counts) {
      let row = table.get(c.fingerprint);
      if (row === undefined) {
        row = { fingerprint: c.fingerprint, summary: c.summary, sql: c.sql, counts: ordered.map(() => 0) };
        table.set(c.fingerprint, row);
      }
      row.counts[i] = c.count;
    }
  }
  const rows = [...table.values()];
  const growing = rows.filter((r) => r.counts[r.counts.length - 1]! > r.counts[0]!);
  if (growing.length > 0) {
    const lines = growing.map((r) => `  ${r.summary || r.fingerprint}: ${r.counts.join(' → ')}  (${r.sql.replace(/\s+/g, ' ').slice(0, 200)})`);
    throw new AssertionError({
      message: `assertScaling: statement counts grow with n (sizes ${ordered.join(', ')}): a query runs once per row\n${lines.join('\n')}`,
      actual: Object.fromEntries(growing.map((r) => [r.summary || r.fingerprint, r.counts])),
      expected: Object.fromEntries(growing.map((r) => [r.summary || r.fingerprint, r.counts.map(() => r.counts[0])])),
      operator: 'assertScaling',
    });
  }
  return { sizes: ordered, counts: rows };
}
