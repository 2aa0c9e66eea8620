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

/**
 * Calls `step(i)` (i from 0) `perSlice` times in each of `slices` slices and returns the cheapest
 * slice's process CPU time (user + system) and wall time per unit, in µs, a slice counting `units`
 * units (queries). Load from elsewhere on the machine (the database shares it) only ever adds
 * time, so the minimum is the estimate of what the variant itself costs; a burst spoils one
 * slice, not the sample.
 */
export async function cheapestSlice(slices, perSlice, units, step) {
  let cpuUs = Infinity;
  let wallUs = Infinity;
  for (let s = 0; s < slices; s++) {
    const wall0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < perSlice; i++) await step(i);
    const cpu = process.cpuUsage(cpu0);
    wallUs = Math.min(wallUs, Number(process.hrtime.bigint() - wall0) / 1000 / units);
    cpuUs = Math.min(cpuUs, (cpu.user + cpu.system) / units);
  }
  return { cpuUs, wallUs };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs every variant as its own child process (`node --expose-gc script --child <id> …childArgs`),
 * `rounds` times, rotating the order each round so no variant always runs first (or right after
 * another). A child prints one JSON line with at least `cpuUs`, `wallUs` and `pinned`. Returns the
 * samples per variant id.
 */
export function runRounds({ script, variants, rounds, url, childArgs = [], describe = () => '' }) {
  const samples = new Map(variants.map((v) => [v.id, []]));
  for (let round = 0; round < rounds; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]);
    for (const v of order) {
      const r = spawnSync(process.execPath, ['--expose-gc', script, '--child', v.id, ...childArgs], {
        env: { ...process.env, DATABASE_URL: url, NODE_ENV: '' },
        encoding: 'utf8',
      });
      const line = r.stdout.trim().split('\n').pop();
      if (r.status !== 0 || !line) {
        console.log(`  ${v.id} failed (status ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        continue;
      }
      const result = JSON.parse(line);
      samples.get(v.id).push(result);
      process.stdout.write(`  round ${round + 1}: ${v.id.padEnd(18)} ${result.cpuUs.toFixed(2)} µs CPU/query${describe(result)}\n`);
    }
  }
  return samples;
}

/**
 * Prints the overhead table: median CPU per query, range over rounds, ratio and difference to the
 * `raw` variant, median wall time, and the variant's target (`target` in µs added, or
 * `relativeTarget: { of, factor }` — at most `factor` × what variant `of` adds).
 */
export function printOverheadTable(variants, samples) {
  const pinned = [...samples.values()].flat().every((s) => s.pinned);
  console.log(`\nclient process and its PostgreSQL backend pinned to one CPU: ${pinned ? 'yes' : 'no (remote database, no taskset, or --no-pin)'}`);
  const rawCpu = median(samples.get('raw').map((s) => s.cpuUs));
  console.log('\n| variant | CPU µs/query | range over rounds | ratio to raw | added CPU µs/query | wall µs/query | target |');
  console.log('|---|---:|---:|---:|---:|---:|---|');
  for (const v of variants) {
    const s = samples.get(v.id);
    if (s.length === 0) continue;
    const cpu = median(s.map((x) => x.cpuUs));
    const lo = Math.min(...s.map((x) => x.cpuUs));
    const hi = Math.max(...s.map((x) => x.cpuUs));
    const added = cpu - rawCpu;
    let target = v.target === undefined ? '' : `≤ ${v.target} µs ${added <= v.target ? 'met' : 'MISSED'}`;
    if (v.relativeTarget !== undefined) {
      const of = samples.get(v.relativeTarget.of);
      if (of.length > 0) {
        const limit = (median(of.map((x) => x.cpuUs)) - rawCpu) * v.relativeTarget.factor;
        target = `≤ ${limit.toFixed(2)} µs (${v.relativeTarget.factor} × ${v.relativeTarget.of}) ${added <= limit ? 'met' : 'MISSED'}`;
      }
    }
    console.log(
      `| ${v.label} | ${cpu.toFixed(2)} | ${lo.toFixed(1)}–${hi.toFixed(1)} | ${(cpu / rawCpu).toFixed(3)} | ${v.id === 'raw' ? '—' : (added >= 0 ? '+' : '') + added.toFixed(2)} | ${median(s.map((x) => x.wallUs)).toFixed(1)} | ${target} |`,
    );
  }
}
