// pg overhead: CPU per query that instrumentation adds to a plain `SELECT $1::int` loop.
//
// Each variant runs in its own child process (fresh JIT, fresh heap, nothing shared), and the
// variants alternate within each round, so drift on the machine (thermal, the database's own
// caches, other load) spreads over all of them. A child warms up, then runs the loop and reports
// its process CPU time (user + system, `process.cpuUsage`) per query; the table shows the median
// over the rounds (each child reports the cheapest of ten slices of its loop) and the difference
// to raw pg. With a local database, each child and its backend share one pinned CPU (see
// pinTogether). Not a gate: it prints, it does not fail.
//
// Usage: node bench/suites/pg-overhead.mjs [--rounds 5] [--queries 20000] [--no-pin]
// Needs a PostgreSQL: DATABASE_URL, else postgres://127.0.0.1:5432/test.
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { arg, cheapestSlice, databaseUrl, pinTogether, printOverheadTable, runRounds } from '../lib.mjs';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const DIST = new URL('../../dist/src/index.js', import.meta.url).href;

const SEGMENTS = 10;

const VARIANTS = [
  { id: 'raw', label: 'raw pg' },
  { id: 'production', label: 'querylens production defaults (no OTel SDK)', target: 3 },
  { id: 'development', label: 'querylens development (call sites always)', target: 15 },
  { id: 'otel', label: '@opentelemetry/instrumentation-pg + BasicTracerProvider, no-op exporter' },
  // Spans and metrics on, through the same SDK setup for both (global providers, a no-op span
  // exporter, a metric reader that never exports): querylens should add at most half the CPU.
  { id: 'otel-full', label: '@opentelemetry/instrumentation-pg with spans and metrics on (SDK, no-op exporter)' },
  { id: 'querylens-otel', label: 'querylens with spans and metrics on (SDK, no-op exporter)', relativeTarget: { of: 'otel-full', factor: 0.5 } },
  { id: 'querylens-otel-all', label: 'querylens, spans and every metric (+ returnedRows, poolTimes)' },
];

/** The lens of each querylens variant (production mode: spans and metrics on by default, through the global providers). */
const LENS_OPTIONS = {
  production: { mode: 'production' },
  development: { mode: 'development' },
  'querylens-otel': { mode: 'production' },
  // The development-status histograms (returned rows, pool wait/use times) are opt-in.
  'querylens-otel-all': { mode: 'production', metrics: { returnedRows: true, poolTimes: true } },
};

/** The child: set up one variant, warm up, measure, print one JSON line. */
async function child(variant, url, queries) {
  if (variant === 'otel' || variant === 'otel-full' || variant === 'querylens-otel' || variant === 'querylens-otel-all') {
    // The same SDK for every OTel variant, registered before either instrumentation starts (and
    // before pg is required: instrumentation-pg patches it on load): global context manager and
    // tracer provider (no-op exporter), and with metrics on a meter provider whose reader never exports.
    const api = require('@opentelemetry/api');
    const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
    const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
    const noopExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(noopExporter)] }));
    if (variant !== 'otel') {
      const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
      class NeverExportingReader extends MetricReader {
        async onShutdown() {}
        async onForceFlush() {}
      }
      api.metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new NeverExportingReader()] }));
    }
    if (variant === 'otel' || variant === 'otel-full') {
      const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg');
      new PgInstrumentation();
    }
  }
  const pg = require('pg');
  let pool = new pg.Pool({ connectionString: url, max: 1 });
  let lens;
  if (LENS_OPTIONS[variant] !== undefined) {
    const { createLens } = await import(DIST);
    lens = createLens(LENS_OPTIONS[variant]);
    pool = lens.instrument(pool);
  }
  const text = 'SELECT $1::int';
  const pinned = await pinTogether(pool, url);
  for (let i = 0; i < Math.min(5000, queries); i++) await pool.query(text, [i]);
  globalThis.gc?.();
  const per = Math.ceil(queries / SEGMENTS);
  const { cpuUs, wallUs } = await cheapestSlice(SEGMENTS, per, per, (i) => pool.query(text, [i]));
  await pool.end();
  await lens?.close();
  process.stdout.write(`${JSON.stringify({ variant, cpuUs, wallUs, pinned })}\n`);
}

async function parent() {
  const rounds = arg('rounds', 5);
  const queries = arg('queries', 20_000);
  const pg = require('pg');
  const url = await databaseUrl(pg);
  if (url === undefined) {
    console.log('pg-overhead: no PostgreSQL (set DATABASE_URL); skipped.');
    return;
  }
  console.log(`pg-overhead: ${rounds} rounds × ${VARIANTS.length} variants × ${queries} queries (after warm-up), one process each`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}\n`);
  const samples = runRounds({ script: SELF, variants: VARIANTS, rounds, url, childArgs: ['--queries', String(queries)] });
  printOverheadTable(VARIANTS, samples);
}

const childIndex = process.argv.indexOf('--child');
if (childIndex !== -1) {
  await child(process.argv[childIndex + 1], process.env.DATABASE_URL, arg('queries', 20_000));
} else {
  await parent();
}
