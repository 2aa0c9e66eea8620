// `npm run bench`: runs every suite in bench/suites/ (built code in dist/) as its own process, one
// after the other, and lets each print its table. A suite compares variants by spawning whole
// processes in alternation and reporting medians and ratios; nothing here is a pass/fail gate.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const dir = fileURLToPath(new URL('./suites/', import.meta.url));
const only = process.argv.slice(2);
const suites = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
console.log(`querylens bench — node ${process.version}, ${process.platform}/${process.arch}`);
let failed = 0;
for (const file of suites) {
  console.log(`\n## ${file.replace(/\.mjs$/, '')}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(dir, file)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
