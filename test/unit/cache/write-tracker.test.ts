/**
 * The write tracker follows each connection's transaction from the event stream and reports
 * committed writes only after COMMIT: savepoint rollbacks and ROLLBACK discard pending writes,
 * a failed transaction's COMMIT (answered ROLLBACK) commits nothing, and unknown outcomes
 * invalidate. Events are built from real SqlInfo (the analyser), connections are plain objects.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectionTarget, QueryEndEvent, QueryStartEvent, ResultView } from '../../../src/core/query-event.js';
import { createAnalyzer } from '../../../src/sql/index.js';
import { CacheWriteTracker, type TableWrites, type WriteListener } from '../../../src/cache/write-tracker.js';

const analyze = createAnalyzer();
const target: ConnectionTarget = { kind: 'pool', name: 'unit', database: 'db', host: undefined, port: undefined, poolCounts: () => undefined };
const reporter = { report: () => {} };

interface Log {
  commits: string[][];
  holds: number;
  releases: number;
  schema: number;
  session: number;
}

function setup(): { tracker: CacheWriteTracker; log: Log; run: (conn: object, text: string, outcome?: { error?: unknown; command?: string; status?: string }) => void } {
  const tracker = new CacheWriteTracker();
  const log: Log = { commits: [], holds: 0, releases: 0, schema: 0, session: 0 };
  const listener: WriteListener = {
    hold: () => {
      log.holds++;
      return 'h';
    },
    release: () => void log.releases++,
    commit: (w: TableWrites) => void log.commits.push(w.all ? ['*'] : [...w.tables, ...w.truncated.map((t) => `truncate:${t}`)].sort()),
    schemaChanged: () => void log.schema++,
    sessionChanged: () => void log.session++,
  };
  tracker.add(listener);
  let id = 0;
  const run = (conn: object, text: string, outcome: { error?: unknown; command?: string; status?: string } = {}): void => {
    const sql = analyze(text);
    const base = {
      id: ++id,
      sql,
      text,
      values: undefined,
      name: undefined,
      startTime: 0,
      startTimeUnixMs: 0,
      callsite: undefined,
      scope: undefined,
      operation: undefined,
      target,
      poolWaitMs: undefined,
      ignored: false,
      streamed: false,
      connection: conn,
    };
    tracker.handle({ ...base, type: 'query-start' } satisfies QueryStartEvent, reporter);
    if (outcome.status !== undefined) (conn as { status?: string }).status = outcome.status;
    const result: ResultView = { command: outcome.command ?? sql.command.split(' ')[0]!, rowCount: 0, rows: [], fields: [] };
    const failed = outcome.error !== undefined;
    tracker.handle(
      {
        ...base,
        type: 'query-end',
        durationMs: 1,
        rowCount: failed ? undefined : 0,
        result: failed ? undefined : result,
        error: outcome.error,
        sqlstate: (outcome.error as { code?: string } | undefined)?.code,
      } satisfies QueryEndEvent,
      reporter,
    );
  };
  return { tracker, log, run };
}

/** A connection whose getTransactionStatus() answers what the test last set. */
function pgClient(): { status: string; getTransactionStatus(): string } {
  return {
    status: 'I',
    getTransactionStatus() {
      return this.status;
    },
  };
}

describe('CacheWriteTracker', () => {
  it('commits an autocommit write when it ends, holding it while it runs', () => {
    const { log, run } = setup();
    run({}, 'UPDATE posts SET title = $1 WHERE id = $2');
    expect(log.commits).toEqual([['posts']]);
    expect(log.holds).toBe(1);
    expect(log.releases).toBe(1);
  });

  it('commits nothing for a failed autocommit write, and everything when the outcome is unknown', () => {
    const { log, run } = setup();
    run({}, 'INSERT INTO posts VALUES (1)', { error: Object.assign(new Error('dup'), { code: '23505' }) });
    expect(log.commits).toEqual([]);
    run({}, 'INSERT INTO posts VALUES (1)', { error: new Error('Connection terminated') });
    expect(log.commits).toEqual([['posts']]);
  });

  it('keeps writes pending until COMMIT, per connection', () => {
    const { log, run } = setup();
    const a = {};
    const b = {};
    run(a, 'BEGIN');
    run(a, 'INSERT INTO posts VALUES (1)');
    run(b, 'DELETE FROM users WHERE id = 1');
    expect(log.commits).toEqual([['users']]);
    run(a, 'UPDATE comments SET x = 1');
    run(a, 'COMMIT');
    expect(log.commits).toEqual([['users'], ['comments', 'posts']]);
  });

  it('discards pending writes on ROLLBACK, and on a COMMIT the server answers with ROLLBACK', () => {
    const { log, run } = setup();
    const c = {};
    run(c, 'BEGIN');
    run(c, 'INSERT INTO posts VALUES (1)');
    run(c, 'ROLLBACK');
    run(c, 'START TRANSACTION');
    run(c, 'INSERT INTO posts VALUES (1)');
    run(c, 'INSERT INTO posts VALUES (1)', { error: Object.assign(new Error('dup'), { code: '23505' }) });
    run(c, 'COMMIT', { command: 'ROLLBACK' });
    expect(log.commits).toEqual([]);
  });

  it('drops a savepoint level on ROLLBACK TO and keeps a released one', () => {
    const { log, run } = setup();
    const c = {};
    run(c, 'BEGIN');
    run(c, 'INSERT INTO a VALUES (1)');
    run(c, 'SAVEPOINT s1');
    run(c, 'INSERT INTO b VALUES (1)');
    run(c, 'ROLLBACK TO SAVEPOINT s1');
    run(c, 'SAVEPOINT s2');
    run(c, 'INSERT INTO c VALUES (1)');
    run(c, 'RELEASE s2');
    run(c, 'SAVEPOINT "S3"');
    run(c, 'INSERT INTO d VALUES (1)');
    run(c, 'ROLLBACK TO "S3"');
    run(c, 'COMMIT');
    expect(log.commits).toEqual([['a', 'c']]);
  });

  it('trusts the client transaction status over the text: a write in a transaction it never saw begin stays pending', () => {
    const { log, run } = setup();
    const c = pgClient();
    c.status = 'T'; // BEGIN ran before the cache was created
    run(c, 'UPDATE posts SET x = 1', { status: 'T' });
    expect(log.commits).toEqual([]);
    run(c, 'COMMIT', { status: 'I' });
    expect(log.commits).toEqual([['posts']]);
  });

  it('commits what is pending when the client reports the transaction over by other means', () => {
    const { log, run } = setup();
    const c = pgClient();
    run(c, 'BEGIN', { status: 'T' });
    run(c, 'INSERT INTO posts VALUES (1)', { status: 'T' });
    run(c, 'SELECT 1', { status: 'I' }); // e.g. a procedure ended it
    expect(log.commits).toEqual([['posts']]);
  });

  it('reports TRUNCATE targets as truncated, and DO/CALL as "everything"', () => {
    const { log, run } = setup();
    run({}, 'TRUNCATE posts, users CASCADE');
    run({}, "DO $$ BEGIN DELETE FROM x; END $$");
    run({}, 'CALL cleanup()');
    expect(log.commits).toEqual([['posts', 'truncate:posts', 'truncate:users', 'users'], ['*'], ['*']]);
  });

  it('reports DDL as a schema change at once, and its tables at commit', () => {
    const { log, run } = setup();
    run({}, 'ALTER TABLE posts ADD COLUMN x int');
    expect(log.schema).toBe(1);
    expect(log.commits).toEqual([['posts']]);
    const c = {};
    run(c, 'BEGIN');
    run(c, 'ALTER TABLE users DROP COLUMN y');
    expect(log.schema).toBe(2);
    run(c, 'COMMIT');
    expect(log.schema).toBe(3);
    expect(log.commits).toEqual([['posts'], ['users']]);
  });

  it('reports SET, RESET and DISCARD as session changes and ignores reads', () => {
    const { log, run } = setup();
    run({}, 'SET search_path TO app, public');
    run({}, 'RESET ROLE');
    run({}, 'SELECT * FROM posts');
    expect(log.session).toBe(2);
    expect(log.commits).toEqual([]);
    expect(log.holds).toBe(0);
  });

  it('treats a multi-statement text conservatively: everything it wrote is committed', () => {
    const { log, run } = setup();
    run({}, 'BEGIN; INSERT INTO a VALUES (1); ROLLBACK');
    expect(log.commits).toEqual([['a']]);
  });

  it('holds the pending writes while COMMIT is on its way, and releases every hold', () => {
    const { log, run } = setup();
    const c = {};
    run(c, 'BEGIN');
    run(c, 'INSERT INTO a VALUES (1)');
    expect(log.holds).toBe(0); // not visible to anyone before COMMIT
    run(c, 'COMMIT');
    expect(log.holds).toBe(1);
    expect(log.releases).toBe(1);
  });
});
