import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../../../src/sql/index.js';
import { createExactFingerprinter } from '../../../src/sql/exact-fingerprint.js';

describe("exact mode (fingerprint: 'pg_query')", () => {
  it('uses libpg_query’s own fingerprint once the parser is loaded', async () => {
    const exact = createExactFingerprinter();
    await exact.ready;
    const analyze = createAnalyzer({ exact });
    // libpg_query's published fingerprint for SELECT 1 (its fixture)
    expect(analyze('SELECT 1').fingerprint).toBe('50fde20626009aba');
    expect(analyze('SELECT * FROM t WHERE id IN (1, 2)').fingerprint).toBe(exact.fingerprint('SELECT * FROM t WHERE id = $1'));
  });

  it('falls back to the built-in fingerprint for text libpg_query cannot parse', async () => {
    const exact = createExactFingerprinter();
    await exact.ready;
    const analyze = createAnalyzer({ exact });
    const builtIn = createAnalyzer();
    expect(analyze('SELEC broken (').fingerprint).toBe(builtIn('SELEC broken (').fingerprint);
  });

  it('fails with an error naming the package when it is not installed', () => {
    expect(() => createExactFingerprinter('libpg-query-not-installed')).toThrow(
      expect.objectContaining({ code: 'QUERYLENS_MISSING_PACKAGE', message: expect.stringContaining('npm install libpg-query-not-installed') }),
    );
  });
});

describe('the fingerprint option of createLens', () => {
  it("accepts 'querylens', 'pg18' and 'pg_query' and rejects anything else, naming the valid values", async () => {
    const { createLens } = await import('querylens');
    for (const fingerprint of ['querylens', 'pg18', 'pg_query'] as const) {
      const lens = createLens({ fingerprint, mode: 'production' });
      expect(lens.options.fingerprint).toBe(fingerprint);
      await lens.close();
    }
    expect(() => createLens({ fingerprint: 'exact' as 'pg_query' })).toThrow(/"fingerprint" must be one of 'querylens' \| 'pg18' \| 'pg_query'; got "exact"/);
  });
});
