/**
 * Imports point one way (DESIGN.md "Layout and layering"). This scans every import under src/,
 * adapters/ and test/integration/ and fails on an arrow pointing the wrong way.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

/** Top-level folder under src/ each layer may import from (its own folder is always allowed). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: [],
  sql: ['core'],
  context: ['core'],
  pg: ['core', 'sql', 'context'],
  detect: ['core', 'sql', 'context'],
  report: ['core', 'sql', 'context'],
  cache: ['core', 'sql', 'context'],
  // These use only what the package entry exports.
  testing: ['index.ts'],
  cli: ['index.ts'],
};

/** No exceptions: SqlInfo, which events carry, is declared in core/ and re-exported by sql/. */
function isException(_fromLayer: string, _spec: string, _target: string, _typeOnly: boolean): boolean {
  return false;
}

interface ImportRef {
  readonly spec: string;
  readonly typeOnly: boolean;
}

function filesUnder(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(filesUnder(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): ImportRef[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const refs: ImportRef[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3] ?? m[4];
    if (spec !== undefined) refs.push({ spec, typeOnly: m[2] !== undefined });
  }
  return refs;
}

function resolveTarget(file: string, spec: string): string {
  return resolve(dirname(file), spec).replace(/\.js$/, '.ts');
}

function layerOf(path: string): string {
  const rel = relative(SRC, path).split(sep);
  return rel.length === 1 ? rel[0]! : rel[0]!;
}

function violations(): string[] {
  const found: string[] = [];
  for (const file of filesUnder(SRC)) {
    const from = layerOf(file);
    const allowed = ALLOWED[from];
    if (allowed === undefined) continue; // lens.ts, index.ts: the composition root may import anything
    for (const { spec, typeOnly } of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = resolveTarget(file, spec);
      const to = layerOf(target);
      if (to === from || allowed.includes(to) || isException(from, spec, target, typeOnly)) continue;
      found.push(`${relative(ROOT, file)} imports ${spec} (${from} → ${to})`);
    }
  }
  for (const file of [...filesUnder(join(ROOT, 'adapters')), ...filesUnder(join(ROOT, 'test', 'integration'))]) {
    for (const { spec } of importsOf(file)) {
      if (spec.includes('/src/') || spec.startsWith('../src') || spec.startsWith('../../src')) {
        found.push(`${relative(ROOT, file)} imports ${spec} (use the package entry 'querylens')`);
      }
    }
  }
  return found;
}

describe('layering', () => {
  it('finds the imports it checks', () => {
    const refs = importsOf(join(SRC, 'lens.ts')).map((r) => r.spec);
    expect(refs).toContain('./pg/instrument.js');
    expect(importsOf(join(SRC, 'core', 'query-event.ts'))).toContainEqual({ spec: './sql-info.js', typeOnly: true });
  });

  it('has no import pointing up or across the layers', () => {
    expect(violations()).toEqual([]);
  });
});
