/**
 * The test database: a real PostgreSQL wire endpoint, whatever the machine has.
 *
 * 1. `DATABASE_URL`, if set;
 * 2. else `postgres://127.0.0.1:5432/test`, if it answers within a second (as the `postgres` role
 *    when the environment names no user);
 * 3. else an embedded PGlite served over the wire protocol by pglite-socket (several connections
 *    multiplexed onto one in-process database), so `npm test` passes with no PostgreSQL installed.
 *
 * `QUERYLENS_TEST_BACKEND=pglite` forces the embedded database (to check the fallback).
 * The backend is printed once per test worker. Each test file uses its own table names (see
 * `tableName`) so files can run in parallel against one database.
 */
import pg from 'pg';

export type Backend = 'DATABASE_URL' | 'local PostgreSQL' | 'embedded PGlite';

export interface TestDatabase {
  readonly url: string;
  readonly backend: Backend;
  /**
   * PGlite multiplexes all connections onto one session: named prepared statements and session
   * settings are shared between connections. Tests that depend on per-connection state check this.
   */
  readonly sharedSession: boolean;
  /** A pool on the test database (the caller ends it). */
  pool(config?: pg.PoolConfig): pg.Pool;
  /** A client on the test database, not yet connected (the caller ends it). */
  client(config?: pg.ClientConfig): pg.Client;
  /** Stops the embedded server, if this worker started one. Safe to call more than once. */
  close(): Promise<void>;
}

const LOCAL_URL = 'postgres://127.0.0.1:5432/test';
// Without USER/PGUSER in the environment pg sends no user name; trust auth still needs a role.
const LOCAL_URL_AS_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

/** Whether a PostgreSQL answers `SELECT 1` at `url` within a second. */
export async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  // A refused connection also emits 'error' on some paths; it must not become an uncaught error.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function database(url: string, backend: Backend, close: () => Promise<void>): TestDatabase {
  return {
    url,
    backend,
    sharedSession: backend === 'embedded PGlite',
    pool: (config = {}) => new pg.Pool({ connectionString: url, ...config }),
    client: (config = {}) => new pg.Client({ connectionString: url, ...config }),
    close,
  };
}

/** A fresh embedded PGlite served over the wire (its own database; `close()` stops it). */
export async function startPglite(): Promise<TestDatabase> {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 64 });
  await server.start();
  const port = server.getServerConn().split(':').pop();
  let closing: Promise<void> | undefined;
  return database(`postgres://postgres@127.0.0.1:${port}/postgres`, 'embedded PGlite', () => {
    closing ??= server.stop().then(() => db.close());
    return closing;
  });
}

async function resolveDatabase(): Promise<TestDatabase> {
  const noop = async (): Promise<void> => {};
  let db: TestDatabase;
  if (process.env['QUERYLENS_TEST_BACKEND'] === 'pglite') db = await startPglite();
  else if (process.env['DATABASE_URL']) db = database(process.env['DATABASE_URL'], 'DATABASE_URL', noop);
  else if (await answers(LOCAL_URL)) db = database(LOCAL_URL, 'local PostgreSQL', noop);
  else if (await answers(LOCAL_URL_AS_POSTGRES)) db = database(LOCAL_URL_AS_POSTGRES, 'local PostgreSQL', noop);
  else db = await startPglite();
  const shown = db.url.replace(/\/\/[^@/]*@/, '//'); // never print credentials
  process.stderr.write(`[querylens tests] database: ${db.backend} (${shown})\n`);
  return db;
}

let resolved: Promise<TestDatabase> | undefined;

/** The test database for this worker (resolved once). */
export function testDatabase(): Promise<TestDatabase> {
  resolved ??= resolveDatabase();
  return resolved;
}

/**
 * True when the test database gives every connection its own session; otherwise prints why the
 * `what` tests skip (embedded PGlite shares one session between connections) and returns false.
 */
export async function ownSessions(what: string): Promise<boolean> {
  if (!(await testDatabase()).sharedSession) return true;
  process.stderr.write(`[querylens tests] ${what} tests skipped: the embedded PGlite shares one session between connections\n`);
  return false;
}

/** A table name unique to this test file and run: `ql_<label>_<pid>_<random>`. */
export function tableName(label: string): string {
  return `ql_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}
