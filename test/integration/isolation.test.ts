/**
 * Observers never break queries: a sink or listener that throws, or returns a promise that
 * rejects, is isolated and counted, and the application gets exactly what pg gave it.
 */
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { createLens, type Finding } from 'querylens';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

function fakeFinding(scopeName: string): Finding {
  return {
    kind: 'n-plus-one',
    message: 'fake',
    suggestion: 'none',
    fingerprint: '0000000000000000',
    summary: 'SELECT t',
    sql: 'SELECT ?',
    count: 5,
    distinctParams: 5,
    totalMs: 1,
    callsite: undefined,
    orm: undefined,
    scope: { id: '0', name: scopeName },
    parent: undefined,
    concurrent: false,
  };
}

describe('sink isolation', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let warnings: MockInstance<typeof process.emitWarning>;

  beforeAll(async () => {
    db = await testDatabase();
  });

  // The one warning per broken sink is part of the behaviour: capture it instead of printing it.
  beforeEach(() => {
    warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
  });

  afterEach(() => {
    warnings.mockRestore();
  });

  afterAll(async () => {
    await db.close();
  });

  it('keeps a throwing sink away from the application, and counts its failures', async () => {
    const lens = createLens({ mode: 'production' });
    lens.addSink({
      name: 'throws',
      accepts: ['query-start', 'query-end', 'scope-start', 'scope-end'],
      handle() {
        throw new Error('sink bug');
      },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    lens.addSink({ name: 'rejects', accepts: ['query-end'], handle: (async () => Promise.reject(new Error('async sink bug'))) as () => void });
    pool = lens.instrument(db.pool({ max: 1 }));
    try {
      const result = await lens.scope('unit', () => pool.query('SELECT 41 + 1 AS answer'));
      expect(result.rows).toEqual([{ answer: 42 }]);
      const viaCallback = await new Promise<pg.QueryResult>((resolve, reject) => pool.query('SELECT 1 AS one', (err, res) => (err ? reject(err) : resolve(res))));
      expect(viaCallback.rows).toEqual([{ one: 1 }]);
      await expect(pool.query('SELECT 1 FROM no_such_table_ql')).rejects.toMatchObject({ code: '42P01' });
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).toEqual([]);
      expect(lens.sinkFailures.get('throws')).toBeGreaterThanOrEqual(8);
      expect(lens.sinkFailures.get('rejects')).toBe(3);
      expect(warnings.mock.calls.map((c) => String(c[0]))).toEqual([
        expect.stringContaining('querylens sink "throws" failed and was isolated (Error: sink bug)'),
        expect.stringContaining('querylens sink "rejects" failed and was isolated (Error: async sink bug)'),
      ]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await pool.end();
      await lens.close();
    }
  });

  it('in test mode, rejects lens.scope with the findings reported for it, after the scope ran', async () => {
    const lens = createLens({ mode: 'test' });
    lens.addSink({
      name: 'fake-detector',
      accepts: ['scope-end'],
      handle(event, reporter) {
        if (event.type === 'scope-end') reporter.report(fakeFinding(event.scope.name), event.scope);
      },
    });
    const seen: Finding[] = [];
    lens.on('finding', () => {
      throw new Error('listener bug');
    });
    lens.on('finding', (f) => void seen.push(f));
    let ran = false;
    await expect(
      lens.scope('loads posts', async () => {
        ran = true;
      }),
    ).rejects.toMatchObject({ name: 'NPlusOneError', code: 'QUERYLENS_FINDINGS', findings: [{ kind: 'n-plus-one' }] });
    expect(ran).toBe(true);
    expect(seen).toHaveLength(1);
    expect(lens.sinkFailures.get('finding listener')).toBe(1);

    // The scope's own error wins over its findings.
    await expect(lens.scope('fails', () => Promise.reject(new Error('app error')))).rejects.toThrow('app error');

    // Production never throws findings into the app.
    const prod = createLens({ mode: 'production' });
    prod.addSink({ name: 'fake-detector', accepts: ['scope-end'], handle: (e, r) => e.type === 'scope-end' && r.report(fakeFinding(e.scope.name), e.scope) });
    await expect(prod.scope('quiet', () => 7)).resolves.toBe(7);
    await lens.close();
    await prod.close();
  });
});
