import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/core/errors.js';
import { modeFromEnv, resolveLensOptions } from '../../../src/core/lens-options.js';

describe('resolveLensOptions', () => {
  it('takes the mode from NODE_ENV, defaulting to development', () => {
    expect(modeFromEnv('production')).toBe('production');
    expect(modeFromEnv('test')).toBe('test');
    expect(modeFromEnv(undefined)).toBe('development');
    expect(modeFromEnv('staging')).toBe('development');
    expect(resolveLensOptions({}, { NODE_ENV: 'production' }).mode).toBe('production');
  });

  it('captures call sites always in development and test, sampled in production', () => {
    expect(resolveLensOptions({ mode: 'development' }).callsites).toBe('always');
    expect(resolveLensOptions({ mode: 'test' }).callsites).toBe('always');
    expect(resolveLensOptions({ mode: 'production' }).callsites).toBe('sampled');
    expect(resolveLensOptions({ mode: 'production', callsites: 'on-demand' }).callsites).toBe('on-demand');
  });

  it('fills defaults, resolves a relative root and freezes the result', () => {
    const o = resolveLensOptions({ root: 'sub/dir', stats: { reservoirSize: 10 } }, {});
    expect(o.root).toBe(`${process.cwd()}/sub/dir`);
    expect(o.stats).toEqual({ maxFingerprints: 1000, reservoirSize: 10, callsitesPerFingerprint: 3 });
    expect(o).toMatchObject({ callsiteSampleRate: 0.05, callsiteDepth: 32, traceScopes: true, sqlMemo: 5000 });
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(o.stats)).toBe(true);
    expect(resolveLensOptions({ stats: false }).stats).toBe(false);
  });

  it('names the bad key, its path and the valid keys', () => {
    const err = (() => {
      try {
        resolveLensOptions({ stats: { reservoir: 5 } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ option: 'stats.reservoir', code: 'QUERYLENS_INVALID_OPTION' });
    expect((err as Error).message).toContain('Valid options of "stats": maxFingerprints, reservoirSize, callsitesPerFingerprint');
  });

  it('rejects values of the wrong type or range', () => {
    expect(() => resolveLensOptions({ mode: 'prod' as never })).toThrow(/"mode" must be one of 'development' \| 'test' \| 'production'; got "prod"/);
    expect(() => resolveLensOptions({ callsiteSampleRate: 0 })).toThrow(/in \(0, 1\]; got 0/);
    expect(() => resolveLensOptions({ callsiteDepth: 2.5 })).toThrow(/integer from 1 to 200/);
    expect(() => resolveLensOptions({ traceScopes: 'yes' as never })).toThrow(/must be a boolean; got "yes"/);
    expect(() => resolveLensOptions({ root: '' })).toThrow(/non-empty string/);
    expect(() => resolveLensOptions([] as never)).toThrow(/options must be an object; got an array/);
  });

  it('accepts undefined values as "use the default"', () => {
    expect(resolveLensOptions({ mode: undefined, callsites: undefined }, {}).callsites).toBe('always');
  });
});
