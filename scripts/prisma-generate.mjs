#!/usr/bin/env node
/**
 * Generates the Prisma client the Prisma adapter tests use (test/integration/adapters/prisma/),
 * with no network access, before anything typechecks or imports it (`npm run typecheck` runs it
 * first). Prisma's CLI downloads its schema engine at start-up even for `generate`, which needs
 * only the WebAssembly compiler it ships; pointing PRISMA_SCHEMA_ENGINE_BINARY at an existing
 * file, even an empty one, skips the download. The `prisma-client` generator writes TypeScript
 * and needs nothing else.
 *
 * Skips when the generated client is newer than the schema and was made by the installed prisma
 * (`--force` regenerates); exits quietly when prisma is not installed (it is an optional peer).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'test', 'integration', 'adapters', 'prisma');
const schema = join(dir, 'schema.prisma');
const stamp = join(dir, 'generated', 'internal', 'class.ts');
const require = createRequire(import.meta.url);

let cli;
let version;
try {
  cli = require.resolve('prisma/build/index.js');
  version = JSON.parse(readFileSync(require.resolve('prisma/package.json'), 'utf8')).version;
} catch {
  console.log('prisma-generate: prisma is not installed; the Prisma adapter tests will be skipped');
  process.exit(0);
}

function upToDate() {
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(schema).mtimeMs) return false;
  // The generated client embeds the version of the CLI that made it.
  return readFileSync(stamp, 'utf8').includes(`"clientVersion": "${version}"`);
}

if (!process.argv.includes('--force') && upToDate()) process.exit(0);

const env = { ...process.env, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const placeholder = join(tmpdir(), 'querylens-prisma-schema-engine-placeholder');
  closeSync(openSync(placeholder, 'a'));
  env.PRISMA_SCHEMA_ENGINE_BINARY = placeholder;
}
const result = spawnSync(process.execPath, [cli, 'generate', '--schema', relative(root, schema)], { cwd: root, env, stdio: 'inherit' });
if (result.error !== undefined) throw result.error;
process.exit(result.status ?? 1);
