/**
 * Generates the example's Prisma client and makes it runnable by plain Node.
 *
 *   node examples/prisma/generate.mjs     # main.mjs runs this itself when ./generated is missing or stale
 *
 * Prisma 7's `prisma-client` generator writes TypeScript (with `.ts` import specifiers). A
 * TypeScript application compiles it with the rest of its code; this JavaScript example transpiles
 * each generated file to `.js` next to it instead (syntax only, no type check: a fraction of a second).
 *
 * `prisma generate` needs no database and no network. It still looks for a schema-engine binary it
 * does not use for generation; where none was downloaded (offline installs), PRISMA_SCHEMA_ENGINE_BINARY
 * is pointed at an empty file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const schema = join(here, 'schema.prisma');
const generated = join(here, 'generated');
const require = createRequire(import.meta.url);

/** True when ./generated/client.js exists and is newer than schema.prisma. */
export function isGenerated() {
  const client = join(generated, 'client.js');
  return existsSync(client) && statSync(client).mtimeMs >= statSync(schema).mtimeMs;
}

export function generate() {
  const env = { ...process.env, CHECKPOINT_DISABLE: '1' };
  if (env.PRISMA_SCHEMA_ENGINE_BINARY === undefined) {
    const placeholder = join(tmpdir(), 'querylens-example-no-schema-engine');
    writeFileSync(placeholder, '');
    env.PRISMA_SCHEMA_ENGINE_BINARY = placeholder;
  }
  const cli = require.resolve('prisma/build/index.js');
  const run = spawnSync(process.execPath, [cli, 'generate', '--schema', schema], { env, encoding: 'utf8' });
  if (run.status !== 0) {
    throw new Error(`prisma generate failed (exit ${run.status}):\n${run.stdout}${run.stderr}`);
  }

  const ts = require('typescript');
  const options = {
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2022,
    // `./enums.ts` → `./enums.js`
    rewriteRelativeImportExtensions: true,
    verbatimModuleSyntax: false,
  };
  for (const file of filesUnder(generated)) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: options, fileName: file });
    writeFileSync(file.slice(0, -3) + '.js', outputText);
  }
}

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  generate();
  console.log(`Prisma client generated in ${generated}`);
}
