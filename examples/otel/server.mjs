/**
 * querylens with OpenTelemetry: a small Express service set up with `@opentelemetry/sdk-node`,
 * exporting spans and metrics to the console.
 *
 *   node examples/otel/server.mjs            # serves on http://localhost:3001, metrics every 10 s
 *   node examples/otel/server.mjs --smoke    # calls the endpoints, flushes spans and metrics, exits
 *
 * What comes out, besides the service's own request spans:
 * - one CLIENT span per SQL statement, named by its `db.query.summary` ("SELECT comments"), with
 *   the stable database semantic-convention attributes (db.system.name, db.namespace,
 *   db.query.text, server.address, …), querylens.fingerprint and the code.* call site;
 * - the `db.client.operation.duration` histogram (seconds), per summary and namespace;
 * - findings (the N+1 of GET /posts/n-plus-one) as `querylens.finding` events on the request span,
 *   and the `querylens.findings` counter.
 *
 * querylens uses only `@opentelemetry/api`: the SDK below is the application's, configured as usual;
 * querylens finds its providers through the API's globals. To send to a collector instead, swap the
 * console exporters for OTLP ones.
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); EXAMPLE_SCHEMA (default
 * querylens_example_otel) is recreated at start and dropped when the smoke run ends.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ConsoleMetricExporter, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ConsoleSpanExporter } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import pg from 'pg';
import { createLens } from 'querylens';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = process.env.EXAMPLE_SCHEMA ?? 'querylens_example_otel';
const SMOKE = process.argv.includes('--smoke') || process.env.SMOKE === '1';
const PORT = SMOKE ? 0 : Number(process.env.PORT ?? 3001);

// The SDK first, so its context manager is in place before any request runs.
const sdk = new NodeSDK({
  serviceName: 'querylens-otel-example',
  // Host and process resource attributes would be repeated on every exported item; kept out of the console.
  autoDetectResources: false,
  traceExporter: new ConsoleSpanExporter(),
  metricReaders: [
    // In smoke mode the reader exports once, at shutdown.
    new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: SMOKE ? 60_000 : 10_000 }),
  ],
});
sdk.start();

// Spans and metrics are on by default whenever @opentelemetry/api is installed; spelled out here.
// returnedRows adds the db.client.response.returned_rows histogram.
const lens = createLens({ tracing: true, metrics: { returnedRows: true } });
const pool = lens.instrument(new pg.Pool({ connectionString: DATABASE_URL, options: `-c search_path=${SCHEMA}` }));

await setUp();

const tracer = trace.getTracer('querylens-otel-example');
const app = express();
// The service's request span (an HTTP instrumentation would normally make it). It is active while
// the request runs, so statement spans become its children and findings its events; it ends on
// 'close', after querylens has reported the request's findings on 'finish'.
app.use((req, res, next) => {
  tracer.startActiveSpan(`${req.method} ${req.path}`, { kind: SpanKind.SERVER }, (span) => {
    res.once('close', () => {
      if (req.route?.path) span.setAttribute('http.route', req.route.path);
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    next();
  });
});
app.use(lens.middleware());

app.get('/posts/n-plus-one', async (_req, res) => {
  const { rows: posts } = await pool.query('SELECT id, title FROM posts ORDER BY id LIMIT 5');
  for (const post of posts) {
    post.comments = (await pool.query('SELECT id, body FROM comments WHERE post_id = $1 ORDER BY id', [post.id])).rows;
  }
  res.json(posts);
});

app.get('/posts', async (_req, res) => {
  const { rows: posts } = await pool.query('SELECT id, title FROM posts ORDER BY id LIMIT 5');
  const { rows: comments } = await pool.query('SELECT id, post_id, body FROM comments WHERE post_id = ANY($1) ORDER BY id', [posts.map((p) => p.id)]);
  for (const post of posts) post.comments = comments.filter((c) => c.post_id === post.id).map(({ id, body }) => ({ id, body }));
  res.json(posts);
});

const server = app.listen(PORT);
await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
const base = `http://localhost:${server.address().port}`;

const shutdown = async () => {
  await new Promise((resolve) => server.close(resolve));
  if (SMOKE) await lens.ignore(() => pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`));
  await pool.end();
  await lens.close();
  // Flushes the batched spans and makes the metric reader export once more.
  await sdk.shutdown();
};

if (!SMOKE) {
  console.log(`listening on ${base}: try ${base}/posts/n-plus-one and ${base}/posts (Ctrl-C exports and exits)`);
  process.once('SIGINT', () => void shutdown());
} else {
  const findings = [];
  lens.on('finding', (finding, scope) => findings.push({ finding, scope: scope?.name }));
  for (const path of ['/posts/n-plus-one', '/posts']) {
    const response = await fetch(base + path);
    await response.json();
    console.log(`GET ${path} → ${response.status}`);
  }
  // Findings of a request are reported when its response has finished; give the last one a moment.
  await new Promise((r) => setTimeout(r, 100));
  for (const { finding: f, scope } of findings) {
    console.log(`querylens finding in "${scope}": ${f.kind} "${f.summary}" ×${f.count} at ${f.callsite ? `${f.callsite.file}:${f.callsite.line}` : 'unknown'}`);
  }
  console.log('--- OpenTelemetry console exporters ---');
  await shutdown();
}

async function setUp() {
  // Set-up is not part of any request: lens.ignore keeps it out of the analysis (it is still traced).
  await lens.ignore(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await pool.query(`CREATE SCHEMA ${SCHEMA}`);
    await pool.query(`
      CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL);
      CREATE TABLE comments (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES posts (id), body text NOT NULL);
      CREATE INDEX ON comments (post_id);
      INSERT INTO posts SELECT i, 'Post ' || i FROM generate_series(1, 5) i;
      INSERT INTO comments (post_id, body) SELECT p, 'Comment ' || c || ' on post ' || p FROM generate_series(1, 5) p, generate_series(1, 2) c;
    `);
  });
}
