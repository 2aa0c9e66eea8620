import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LensEvent, ScopeStartEvent } from '../../../src/core/query-event.js';
import { SinkPipeline, type QuerySink } from '../../../src/core/query-pipeline.js';
import { Scope } from '../../../src/context/scope.js';

const scopeStart = (): ScopeStartEvent => ({ type: 'scope-start', scope: new Scope('scope', 'unit', undefined, 0) });

function collector(name: string, accepts: QuerySink['accepts']): QuerySink & { seen: LensEvent[] } {
  const seen: LensEvent[] = [];
  return { name, accepts, seen, handle: (e) => void seen.push(e) };
}

describe('SinkPipeline', () => {
  afterEach(() => vi.restoreAllMocks());

  it('routes each event only to the sinks that accept its type', () => {
    const starts = collector('starts', ['scope-start']);
    const ends = collector('ends', ['scope-end']);
    const pipeline = new SinkPipeline([starts, ends]);
    pipeline.emit(scopeStart());
    expect(starts.seen).toHaveLength(1);
    expect(ends.seen).toHaveLength(0);
  });

  it('asks for query-start events only while some sink accepts them', () => {
    const pipeline = new SinkPipeline([collector('ends', ['query-end'])]);
    expect(pipeline.wantsQueryStart).toBe(false);
    const remove = pipeline.addSink(collector('starts', ['query-start']));
    expect(pipeline.wantsQueryStart).toBe(true);
    remove();
    expect(pipeline.wantsQueryStart).toBe(false);
  });

  it('isolates a throwing sink: later sinks still run, failures are counted, one warning', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const after = collector('after', ['scope-start']);
    const pipeline = new SinkPipeline([
      { name: 'broken', accepts: ['scope-start'], handle: () => { throw new Error('boom'); } },
      after,
    ]);
    expect(() => {
      pipeline.emit(scopeStart());
      pipeline.emit(scopeStart());
    }).not.toThrow();
    expect(after.seen).toHaveLength(2);
    expect(pipeline.failures.get('broken')).toBe(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('querylens sink "broken" failed');
  });

  it('hands sinks a reporter whose findings reach listeners, and isolates listeners too', () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const pipeline = new SinkPipeline();
    const got: string[] = [];
    pipeline.onFinding(() => {
      throw new Error('listener');
    });
    const off = pipeline.onFinding((f) => void got.push(f.kind));
    pipeline.addSink({
      name: 'detector',
      accepts: ['scope-start'],
      handle: (e, reporter) =>
        reporter.report(
          { kind: 'duplicate', message: 'm', suggestion: 's', fingerprint: 'f', summary: 'S', sql: 'q', count: 2, distinctParams: 1, totalMs: 1, callsite: undefined, orm: undefined, scope: undefined },
          e.type === 'scope-start' ? e.scope : undefined,
        ),
    });
    pipeline.emit(scopeStart());
    off();
    pipeline.emit(scopeStart());
    expect(got).toEqual(['duplicate']);
    expect(pipeline.failures.get('finding listener')).toBe(2);
  });

  it('numbers queries in increasing order and closes every sink even if one fails', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const closed: string[] = [];
    const pipeline = new SinkPipeline([
      { name: 'a', accepts: [], handle: () => {}, close: () => Promise.reject(new Error('no')) },
      { name: 'b', accepts: [], handle: () => {}, close: () => void closed.push('b') },
    ]);
    expect([pipeline.nextQueryId(), pipeline.nextQueryId()]).toEqual([1, 2]);
    await expect(pipeline.close()).resolves.toBeUndefined();
    expect(closed).toEqual(['b']);
    expect(pipeline.failures.get('a')).toBe(1);
  });
});
