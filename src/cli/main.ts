#!/usr/bin/env node
/**
 * The `querylens` command. Every failure a user can cause (unreachable database, bad URL, wrong
 * password, missing privileges) is one line on stderr that says what failed and how to fix it,
 * with exit code 2; the stack trace only with `--verbose`.
 */
import { fingerprint, normalize, sanitize, summarize } from '../index.js';
import { runDoctor, type DoctorReport } from './doctor.js';
import { explainConnectionError, UsageError } from './errors.js';
import { formatTable } from './format-table.js';

const USAGE = `usage:
  querylens demo [--embedded] [--verbose]                querylens on a seeded blog service: N+1, duplicates, write loop, slow query, cache
  querylens doctor [DATABASE_URL] [--json] [--verbose]   index and query audit of a live database
  querylens fingerprint [SQL]                            fingerprint, normalized text and summary (SQL from stdin when omitted)
  querylens --help

DATABASE_URL defaults to the DATABASE_URL environment variable. The demo uses it when set (in a schema
querylens_demo, dropped at the end), else an embedded PostgreSQL (PGlite); --embedded forces the latter.`;

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readStdin(): Promise<string>;
}

/** Runs the CLI; returns the exit code (0 ok, 1 findings-free failure, 2 user error). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  const args = argv.filter((a) => !a.startsWith('--'));
  const verbose = flags.has('--verbose');
  try {
    const command = args[0];
    if (command === undefined || flags.has('--help') || command === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return command === undefined && !flags.has('--help') ? 2 : 0;
    }
    for (const f of flags) {
      if (!['--json', '--verbose', '--help', '--embedded'].includes(f)) throw new UsageError(`unknown flag ${f}`);
    }
    switch (command) {
      case 'fingerprint':
        return await fingerprintCommand(args.slice(1), flags.has('--json'), io);
      case 'demo':
        return await demoCommand(flags.has('--embedded') ? undefined : io.env['DATABASE_URL'], verbose, io);
      case 'doctor':
        return await doctorCommand(args[1] ?? io.env['DATABASE_URL'], flags.has('--json'), io);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`querylens: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`querylens: ${explainConnectionError(err)}\n`);
    if (verbose && err instanceof Error && err.stack !== undefined) io.stderr.write(`${err.stack}\n`);
    return 2;
  }
}

async function fingerprintCommand(args: readonly string[], json: boolean, io: CliIo): Promise<number> {
  const sql = args.length > 0 ? args.join(' ') : await io.readStdin();
  if (sql.trim() === '') throw new UsageError('fingerprint needs SQL text (as an argument or on stdin)');
  const out = { fingerprint: fingerprint(sql), normalized: normalize(sql), summary: summarize(sql), sanitized: sanitize(sql) };
  if (json) io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else io.stdout.write(`fingerprint  ${out.fingerprint}\nsummary      ${out.summary}\nnormalized   ${out.normalized}\n`);
  return 0;
}

async function demoCommand(url: string | undefined, verbose: boolean, io: CliIo): Promise<number> {
  if (url === '') url = undefined;
  if (url !== undefined) checkUrl(url);
  // Loaded on demand: the demo's service and seed are not needed by the other commands.
  // A missing package (DemoSetupError) or an unreachable database ends in one line, exit code 2.
  const { runDemo } = await import('./demo.js');
  return await runDemo(io, { databaseUrl: url, schema: io.env['QUERYLENS_DEMO_SCHEMA'], verbose });
}

async function doctorCommand(url: string | undefined, json: boolean, io: CliIo): Promise<number> {
  if (url === undefined || url === '') throw new UsageError('doctor needs a database URL (argument or DATABASE_URL)');
  checkUrl(url);
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  // errors after connect (server gone) must not crash the process with an unhandled 'error'
  client.on('error', () => undefined);
  try {
    await client.connect();
    const report = await runDoctor(client);
    io.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report));
    return 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`"${redact(url)}" is not a database URL: expected postgres://user:password@host:5432/database`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new UsageError(`"${redact(url)}" is not a PostgreSQL URL (scheme ${parsed.protocol}): expected postgres://user:password@host:5432/database`);
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

interface PgModuleLike {
  Client: new (config: { connectionString: string; connectionTimeoutMillis: number }) => {
    connect(): Promise<unknown>;
    end(): Promise<unknown>;
    on(event: 'error', fn: (err: unknown) => void): unknown;
    query<R extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
  };
}

async function loadPg(): Promise<PgModuleLike> {
  try {
    const mod = (await import('pg')) as { default?: PgModuleLike } & PgModuleLike;
    return mod.default ?? mod;
  } catch {
    throw new UsageError('querylens doctor needs the "pg" package: npm install pg');
  }
}

function kb(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} kB`;
}

export function formatDoctor(r: DoctorReport): string {
  const out: string[] = [];
  out.push(`querylens doctor — database ${r.database} (PostgreSQL ${r.serverVersion}); statistics since ${r.statsReset ?? 'the server started'}`);
  const section = (title: string, rows: readonly (readonly string[])[], header: readonly string[], empty: string): void => {
    out.push('', `## ${title}`);
    out.push(rows.length === 0 ? empty : formatTable(header, rows));
  };
  section(
    `Unused indexes (${r.unusedIndexes.length})`,
    r.unusedIndexes.map((i) => [`${i.schema}.${i.table}`, i.index, kb(i.sizeBytes), `DROP INDEX CONCURRENTLY ${i.schema}.${i.index};`]),
    ['table', 'index', 'size', 'fix (after checking replicas and rare jobs)'],
    'none: every non-unique index has been scanned since the statistics were reset',
  );
  section(
    `Duplicate and prefix-redundant indexes (${r.redundantIndexes.length})`,
    r.redundantIndexes.map((d) => [`${d.index.schema}.${d.index.table}`, d.index.index, d.kind === 'duplicate' ? 'duplicate of' : 'prefix of', d.coveredBy.index, kb(d.index.sizeBytes)]),
    ['table', 'index', 'is', 'index', 'size'],
    'none',
  );
  section(
    `Foreign keys without an index (${r.unindexedForeignKeys.length})`,
    r.unindexedForeignKeys.map((f) => [`${f.schema}.${f.table}`, f.columns.join(', '), f.references, f.suggestion]),
    ['table', 'columns', 'references', 'fix'],
    'none',
  );
  section(
    `Tables with many sequential scans over many rows (${r.seqScanTables.length})`,
    r.seqScanTables.map((t) => [`${t.schema}.${t.table}`, String(t.seqScans), String(t.avgRowsPerScan), String(t.indexScans), String(t.liveRows)]),
    ['table', 'seq scans', 'rows per scan', 'index scans', 'live rows'],
    'none',
  );
  out.push('', '## Top statements by total time, grouped by fingerprint');
  if (r.statements.available) {
    out.push(
      r.statements.groups.length === 0
        ? 'no statements recorded yet'
        : formatTable(
            ['total ms', 'calls', 'mean ms', 'entries', 'summary', 'example'],
            r.statements.groups.map((g) => [g.totalMs.toFixed(1), String(g.calls), g.meanMs.toFixed(2), String(g.entries), g.summary, oneLine(g.example, 70)]),
          ),
    );
  } else out.push(`skipped: ${r.statements.reason}`);
  for (const w of r.warnings) out.push(`note: ${w}`);
  return `${out.join('\n')}\n`;
}

function oneLine(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

// Run when executed directly (the package's bin), not when imported by tests.
const invokedAs = process.argv[1] ?? '';
if (/[\\/]cli[\\/]main\.(js|ts)$/.test(invokedAs) || /[\\/]querylens$/.test(invokedAs)) {
  const io: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    readStdin: async () => {
      if (process.stdin.isTTY) return '';
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`querylens: ${String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
