/**
 * The telemetry options (`tracing`, `metrics`, `slowQuery`): defaults per mode, and validation
 * that names the key.
 */
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/core/errors.js';
import { resolveLensOptions } from '../../../src/core/lens-options.js';

describe('telemetry options', () => {
  it('turns tracing and metrics on in every mode, with no parameter capture', () => {
    for (const mode of ['development', 'test', 'production'] as const) {
      const o = resolveLensOptions({ mode });
      expect(o.tracing).toEqual({ tracerProvider: undefined, requireParentSpan: false, requestHook: undefined, responseHook: undefined, captureParameters: [], maxQueryTextLength: 2048 });
      expect(o.metrics).toEqual({ meterProvider: undefined, returnedRows: false, poolTimes: false });
    }
  });

  it('sets slow-query defaults per mode: EXPLAIN only in development', () => {
    expect(resolveLensOptions({ mode: 'development' }).slowQuery).toEqual({ thresholdMs: 200, sampleRate: 1, explain: { analyze: false, maxPerMinute: 10, timeoutMs: 1000 } });
    expect(resolveLensOptions({ mode: 'test' }).slowQuery).toEqual({ thresholdMs: 1000, sampleRate: 1, explain: false });
    expect(resolveLensOptions({ mode: 'production' }).slowQuery).toEqual({ thresholdMs: 500, sampleRate: 1, explain: false });
    expect(resolveLensOptions({ mode: 'production', slowQuery: { explain: { analyze: true } } }).slowQuery).toEqual({
      thresholdMs: 500,
      sampleRate: 1,
      explain: { analyze: true, maxPerMinute: 10, timeoutMs: 1000 },
    });
    expect(resolveLensOptions({ slowQuery: false, tracing: false, metrics: false })).toMatchObject({ slowQuery: false, tracing: false, metrics: false });
  });

  it('keeps explicit providers, hooks and allowed parameter indexes (deduplicated), frozen', () => {
    const tracerProvider = { getTracer: () => ({}) };
    const requestHook = (): void => {};
    const o = resolveLensOptions({ tracing: { tracerProvider, requestHook, captureParameters: [1, 0, 1] }, metrics: { meterProvider: { getMeter: () => ({}) } } });
    expect(o.tracing && o.tracing.tracerProvider).toBe(tracerProvider);
    expect(o.tracing && o.tracing.requestHook).toBe(requestHook);
    expect(o.tracing && o.tracing.captureParameters).toEqual([1, 0]);
    expect(Object.isFrozen(o.tracing)).toBe(true);
  });

  it.each([
    [{ tracing: 'yes' }, 'tracing'],
    [{ tracing: { captureParameters: true } }, 'tracing.captureParameters'],
    [{ tracing: { captureParameters: [-1] } }, 'tracing.captureParameters'],
    [{ tracing: { tracerProvider: {} } }, 'tracing.tracerProvider'],
    [{ tracing: { requestHook: 'x' } }, 'tracing.requestHook'],
    [{ tracing: { maxQueryTextLength: 3 } }, 'tracing.maxQueryTextLength'],
    [{ tracing: { requireParent: true } }, 'tracing.requireParent'],
    [{ metrics: { meterProvider: null } }, 'metrics.meterProvider'],
    [{ metrics: { poolTimes: 'yes' } }, 'metrics.poolTimes'],
    [{ slowQuery: { thresholdMs: -1 } }, 'slowQuery.thresholdMs'],
    [{ slowQuery: { sampleRate: 0 } }, 'slowQuery.sampleRate'],
    [{ slowQuery: { explain: { maxPerMinute: 0 } } }, 'slowQuery.explain.maxPerMinute'],
    [{ slowQuery: { explain: 'always' } }, 'slowQuery.explain'],
    [{ slowQuery: { treshold: 5 } }, 'slowQuery.treshold'],
  ])('rejects %j naming %s', (options, key) => {
    let error: unknown;
    try {
      resolveLensOptions(options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(key);
  });

  it('suggests the key a misspelt one was meant to be', () => {
    expect(() => resolveLensOptions({ tracing: { requireParentSpam: true } })).toThrow(/did you mean "requireParentSpan"/);
  });
});
