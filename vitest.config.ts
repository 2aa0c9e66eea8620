import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests, adapters and helpers import the package by its public name, as users do.
    alias: [
      { find: /^querylens\/adapters\/(.+)$/, replacement: fileURLToPath(new URL('./adapters/', import.meta.url)) + '$1.ts' },
      { find: /^querylens\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
      { find: /^querylens$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
