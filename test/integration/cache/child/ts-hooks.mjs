// Module hooks for register.mjs: resolve `querylens` to the source entry and `./x.js` to `./x.ts`
// next to a TypeScript importer, and transpile .ts files with typescript's transpileModule.
import { readFile } from 'node:fs/promises';
import ts from 'typescript';

const ENTRY = new URL('../../../../src/index.ts', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'querylens') return { url: ENTRY, shortCircuit: true };
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    try {
      await readFile(candidate);
      return { url: candidate.href, shortCircuit: true };
    } catch {
      // a real .js file
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: url,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, inlineSourceMap: true },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
