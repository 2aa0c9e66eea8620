/**
 * Model-based: random concurrent workloads — two writer lanes (autocommit writes, transactions
 * that commit or roll back, savepoints rolled back to, DDL adding and dropping columns) and two
 * reader lanes going through the cache — and one property: every read returns exactly the rows
 * the database had at some instant during the read.
 *
 * Each writer lane owns its own rows (no lock waits between them), so the database's state is the
 * pair (version of lane A, version of lane B). A version may be visible from the moment its commit
 * was sent until the next one's commit was acknowledged; a read is correct when its result equals
 * the expected result of some pair of versions that may both have been visible while it ran.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLens, type Lens, type PkCache } from 'querylens';
import { ownSessions, tableName, testDatabase, type TestDatabase } from '../../helpers/database.js';

type Row = { id: number; grp: number; val: number };

interface Version {
  readonly rows: ReadonlyMap<number, Row>;
  /** Lane A only: the extra columns that exist (always null-valued). */
  readonly columns: readonly string[];
  readonly sent: number;
  readonly acked: number;
}

type Write = { kind: 'upsert'; id: number; grp: number; val: number } | { kind: 'delete'; id: number };

type WriterCommand =
  | { kind: 'write'; write: Write }
  | { kind: 'tx'; writes: Write[]; savepointAfter: number; rollbackToSavepoint: boolean; end: 'commit' | 'rollback' }
  | { kind: 'ddl' }
  | { kind: 'pause'; ms: number };

interface ReadCommand {
  readonly grp: number;
  readonly mode: 'rows' | 'ids';
  readonly pauseMs: number;
}

const writeArb = (ids: readonly number[]): fc.Arbitrary<Write> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('upsert' as const), id: fc.constantFrom(...ids), grp: fc.integer({ min: 0, max: 2 }), val: fc.integer({ min: 0, max: 5 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom(...ids) }) },
  );

const writerArb = (ids: readonly number[], ddl: boolean): fc.Arbitrary<WriterCommand[]> =>
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: writeArb(ids).map((write): WriterCommand => ({ kind: 'write', write })) },
      {
        weight: 3,
        arbitrary: fc
          .record({
            writes: fc.array(writeArb(ids), { minLength: 1, maxLength: 3 }),
            savepointAfter: fc.integer({ min: 0, max: 3 }),
            rollbackToSavepoint: fc.boolean(),
            end: fc.constantFrom('commit' as const, 'commit' as const, 'rollback' as const),
          })
          .map((tx): WriterCommand => ({ kind: 'tx', ...tx })),
      },
      { weight: ddl ? 1 : 0, arbitrary: fc.constant<WriterCommand>({ kind: 'ddl' }) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 3 }).map((ms): WriterCommand => ({ kind: 'pause', ms })) },
    ),
    { maxLength: 10 },
  );

const readerArb = fc.array(
  fc.record({ grp: fc.integer({ min: 0, max: 2 }), mode: fc.constantFrom('rows' as const, 'rows' as const, 'ids' as const), pauseMs: fc.integer({ min: 0, max: 2 }) }),
  { minLength: 1, maxLength: 12 },
);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sqlOf(t: string, w: Write): [string, unknown[]] {
  return w.kind === 'upsert'
    ? [`INSERT INTO ${t} (id, grp, val) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET grp = EXCLUDED.grp, val = EXCLUDED.val`, [w.id, w.grp, w.val]]
    : [`DELETE FROM ${t} WHERE id = $1`, [w.id]];
}

function apply(rows: Map<number, Row>, w: Write): void {
  if (w.kind === 'upsert') rows.set(w.id, { id: w.id, grp: w.grp, val: w.val });
  else rows.delete(w.id);
}

/** Versions of a lane that may have been visible at some instant of [start, end]. */
function candidates(versions: readonly Version[], start: number, end: number): Version[] {
  return versions.filter((v, i) => v.sent <= end && (i === versions.length - 1 || versions[i + 1]!.acked >= start));
}

function expected(a: Version, b: Version, grp: number): Record<string, unknown>[] {
  const rows = [...a.rows.values(), ...b.rows.values()].filter((r) => r.grp === grp).sort((x, y) => x.val - y.val || x.id - y.id);
  return rows.map((r) => {
    const out: Record<string, unknown> = { ...r };
    for (const c of a.columns) out[c] = null;
    return out;
  });
}

// The cache follows transactions per connection and runs concurrent sessions; PGlite multiplexes
// every connection onto one session, so these tests need a real PostgreSQL.
const sharedSession = !(await ownSessions('primary-key cache'));

describe.skipIf(sharedSession)('primary-key cache, model-based', () => {
  let db: TestDatabase;
  let lens: Lens;
  let pool: pg.Pool;
  let cache: PkCache;
  let run = 0;

  beforeAll(async () => {
    db = await testDatabase();
    lens = createLens({ mode: 'production' });
    pool = lens.instrument(db.pool({ max: 8 }));
    cache = lens.cache({ schemaPollMs: 0 });
  });

  afterAll(async () => {
    await lens.close();
    await pool.end();
    await db.close();
  });

  it('returns, for every read, exactly the rows the database had at some instant during it', async () => {
    const idsA = [1, 2, 3, 4, 5, 6];
    const idsB = [11, 12, 13, 14, 15, 16];
    await fc.assert(
      fc.asyncProperty(writerArb(idsA, true), writerArb(idsB, false), readerArb, readerArb, async (laneA, laneB, reader1, reader2) => {
        const t = tableName(`pk_model_${++run}`);
        await pool.query(`CREATE TABLE ${t} (id int PRIMARY KEY, grp int NOT NULL, val int NOT NULL)`);
        try {
          const initial = (ids: readonly number[]): Map<number, Row> => new Map(ids.slice(0, 4).map((id) => [id, { id, grp: id % 3, val: id % 4 }]));
          const a0 = initial(idsA);
          const b0 = initial(idsB);
          for (const r of [...a0.values(), ...b0.values()]) await pool.query(`INSERT INTO ${t} VALUES ($1, $2, $3)`, [r.id, r.grp, r.val]);
          const versionsA: Version[] = [{ rows: a0, columns: [], sent: -Infinity, acked: -Infinity }];
          const versionsB: Version[] = [{ rows: b0, columns: [], sent: -Infinity, acked: -Infinity }];
          const reads: { readonly c: ReadCommand; readonly start: number; readonly end: number; readonly got: unknown[] }[] = [];

          const writer = async (commands: readonly WriterCommand[], versions: Version[]): Promise<void> => {
            let extra = 0;
            for (const c of commands) {
              const last = versions[versions.length - 1]!;
              if (c.kind === 'pause') {
                await sleep(c.ms);
              } else if (c.kind === 'write') {
                const rows = new Map(last.rows);
                apply(rows, c.write);
                const sent = performance.now();
                await pool.query(...sqlOf(t, c.write));
                versions.push({ rows, columns: last.columns, sent, acked: performance.now() });
              } else if (c.kind === 'ddl') {
                const sent = performance.now();
                let columns: string[];
                if (last.columns.length > 0 && extra % 2 === 1) {
                  columns = last.columns.slice(0, -1);
                  await pool.query(`ALTER TABLE ${t} DROP COLUMN ${last.columns[last.columns.length - 1]!}`);
                } else {
                  columns = [...last.columns, `c${extra}`];
                  await pool.query(`ALTER TABLE ${t} ADD COLUMN c${extra} int`);
                }
                extra++;
                versions.push({ rows: last.rows, columns, sent, acked: performance.now() });
              } else {
                const client = await pool.connect();
                try {
                  const rows = new Map(last.rows);
                  await client.query('BEGIN');
                  let saved: Map<number, Row> | undefined;
                  for (let i = 0; i < c.writes.length; i++) {
                    if (i === c.savepointAfter) {
                      await client.query('SAVEPOINT s');
                      saved = new Map(rows);
                    }
                    apply(rows, c.writes[i]!);
                    await client.query(...sqlOf(t, c.writes[i]!));
                  }
                  let final = rows;
                  if (saved !== undefined && c.rollbackToSavepoint) {
                    await client.query('ROLLBACK TO SAVEPOINT s');
                    final = saved;
                  }
                  if (c.end === 'rollback') {
                    await client.query('ROLLBACK');
                  } else {
                    const sent = performance.now();
                    await client.query('COMMIT');
                    versions.push({ rows: final, columns: versions[versions.length - 1]!.columns, sent, acked: performance.now() });
                  }
                } finally {
                  client.release();
                }
              }
            }
          };

          const reader = async (commands: readonly ReadCommand[]): Promise<void> => {
            for (const c of commands) {
              await sleep(c.pauseMs);
              const query = { table: t, text: `SELECT id FROM ${t} WHERE grp = $1 ORDER BY val, id`, values: [c.grp] };
              const start = performance.now();
              const got = c.mode === 'rows' ? await cache.query(pool, query) : await cache.ids(pool, query);
              reads.push({ c, start, end: performance.now(), got });
            }
          };

          await Promise.all([writer(laneA, versionsA), writer(laneB, versionsB), reader(reader1), reader(reader2)]);
          // and once everything settled, a final read of each group
          await reader([0, 1, 2].map((grp) => ({ grp, mode: 'rows' as const, pauseMs: 0 })));
          // Judged once every version is known (a commit still in flight when a read ended counts too).
          const failures: string[] = [];
          for (const { c, start, end, got } of reads) {
            const ok = candidates(versionsA, start, end).some((a) =>
              candidates(versionsB, start, end).some((b) => {
                const want = expected(a, b, c.grp);
                return JSON.stringify(got) === JSON.stringify(c.mode === 'rows' ? want.map((r) => sortKeys(r, got[0])) : want.map((r) => r['id']));
              }),
            );
            if (!ok) failures.push(`${c.mode} grp=${c.grp} [${start.toFixed(2)}, ${end.toFixed(2)}]: got ${JSON.stringify(got)}`);
          }
          expect(failures).toEqual([]);
        } finally {
          await pool.query(`DROP TABLE ${t}`);
        }
      }),
      { numRuns: 30, interruptAfterTimeLimit: 60_000 },
    );
    const s = cache.stats();
    // the workload exercised the cache, not just the database
    expect(s.hits).toBeGreaterThan(0);
    expect(s.fillsStored).toBeGreaterThan(0);
  });
});

/** The expected row with its keys in the order the database returned them (for a JSON comparison). */
function sortKeys(row: Record<string, unknown>, like: unknown): Record<string, unknown> {
  if (like === null || typeof like !== 'object') return row;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(like)) if (k in row) out[k] = row[k];
  for (const k of Object.keys(row)) if (!(k in out)) out[k] = row[k];
  return out;
}
