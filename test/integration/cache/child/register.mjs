// `node --import ./register.mjs child.ts`: runs this repository's TypeScript in a plain Node child
// process (the cache tests' "second process"), with `querylens` mapped to the source entry, as the
// vitest alias does. Transpile-only, through the project's own typescript package.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
