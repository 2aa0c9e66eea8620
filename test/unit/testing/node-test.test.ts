/**
 * `querylens/testing` uses no test-runner globals: the same helpers run under node:test. The
 * package is compiled to a scratch directory and a node:test file exercises the helpers there.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../../helpers/database.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const OUT = join(ROOT, 'node_modules', '.cache', `querylens-node-test-${process.pid}`);
let db: TestDatabase | undefined;

afterAll(async () => {
  rmSync(OUT, { recursive: true, force: true });
  await db?.close();
});

describe('querylens/testing under node:test', () => {
  it('runs expectNoNPlusOne, captureQueries and assertScaling with the node:test runner', async () => {
    db = await testDatabase();
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    // Type errors elsewhere in the tree do not stop tsc from emitting: only the output matters here.
    spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', OUT], { cwd: ROOT, encoding: 'utf8' });
    const entry = join(OUT, 'src', 'index.js');
    const testing = join(OUT, 'src', 'testing', 'index.js');
    expect(existsSync(testing)).toBe(true);
    // Asynchronously: with the embedded database, this process serves the child's connections.
    const r = await new Promise<{ stdout: string; stderr: string; status: number }>((done) => {
      execFile(
        process.execPath,
        ['--test', '--test-reporter=tap', join(ROOT, 'test', 'fixtures', 'testing', 'node-test-helpers.mjs')],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, DATABASE_URL: db!.url, QUERYLENS_ENTRY: pathToFileURL(entry).href, QUERYLENS_TESTING: pathToFileURL(testing).href, NODE_ENV: 'test' },
        },
        (err, stdout, stderr) => done({ stdout, stderr, status: err === null ? 0 : typeof err.code === 'number' ? err.code : 1 }),
      );
    });
    expect(r.stdout, r.stderr).toContain('# pass 3');
    expect(r.stdout).toContain('# fail 0');
    expect(r.status).toBe(0);
  });
});
