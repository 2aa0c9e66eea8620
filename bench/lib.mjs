// Shared by the bench suites: command-line arguments, the database to measure against, and CPU
// pinning. Suites keep their own workloads and tables; only this plumbing is common.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** `--name N` as a number, else `fallback`. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

/** `--name text`, else undefined. */
export function argText(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function answers(pg, url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
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

/**
 * DATABASE_URL, else the local test database (as role `postgres` when the environment names no
 * user, as the test harness does); undefined when none answers.
 */
export async function databaseUrl(pg) {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  for (const url of ['postgres://127.0.0.1:5432/test', 'postgres://postgres@127.0.0.1:5432/test']) {
    if (await answers(pg, url)) return url;
  }
  return undefined;
}

/**
 * On a local database, pins this process and its PostgreSQL backend to one CPU (when `taskset`
 * exists). Left to the scheduler, the two land on one core or on two at random between runs, and
 * that alone doubles or halves the CPU cost of a round trip; pinned, runs agree to a few percent,
 * and the other CPUs are left to whatever else the machine is doing. Only a local `postgres`
 * process is touched, and only this pool's own backend (gone when the pool ends).
 */
export async function pinTogether(pool, url, enabled = !process.argv.includes('--no-pin')) {
  if (!enabled || !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)) return false;
  const { rows } = await pool.query('SELECT pg_backend_pid() AS pid');
  const pid = Number(rows[0].pid);
  let comm = '';
  try {
    comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return false;
  }
  if (comm !== 'postgres') return false;
  const cpu = String(cpus().length - 1);
  const a = spawnSync('taskset', ['-pc', cpu, String(pid)], { stdio: 'ignore' });
  const b = spawnSync('taskset', ['-pc', cpu, String(process.pid)], { stdio: 'ignore' });
  return a.status === 0 && b.status === 0;
}
