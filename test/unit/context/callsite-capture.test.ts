import { runInThisContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createCallsiteCapturer, type CallsiteCapturer } from '../../../src/context/callsite-capture.js';
import type { CallsiteCapture } from '../../../src/core/query-event.js';

const ROOT = process.cwd();
const THIS_FILE = 'test/unit/context/callsite-capture.test.ts';

/** Stands in for a querylens entry point: the capture leaves it and everything above it out. */
function entryWith(capture: CallsiteCapturer, inUnit = true): CallsiteCapture | undefined {
  return capture(inUnit, entryWith);
}

function lineOf(marker: string): number {
  const stack = new Error().stack ?? '';
  void marker;
  return Number(/:(\d+):\d+\)?$/.exec(stack.split('\n')[2] ?? '')?.[1]);
}

describe('call-site capture', () => {
  it('resolves to the caller of the entry point, relative to the root, with its function name', () => {
    const capture = createCallsiteCapturer('always', { root: ROOT, depth: 32, sampleRate: 1 });
    function issuesAQuery(): [CallsiteCapture | undefined, number] {
      return [entryWith(capture), lineOf('here')];
    }
    const [raw, line] = issuesAQuery();
    expect(raw?.resolve()).toEqual({ file: THIS_FILE, line, column: expect.any(Number), function: 'issuesAQuery' });
    expect(raw?.resolve()).toBe(raw?.resolve());
  });

  it('skips frames in node_modules and node: internals', () => {
    const capture = createCallsiteCapturer('always', { root: ROOT, depth: 32, sampleRate: 1 });
    // An "ORM" living in node_modules calls the entry point on the application's behalf.
    const orm = runInThisContext('(function ormFind(fn) { return fn(); })', { filename: '/app/node_modules/fake-orm/index.js' }) as (
      fn: () => CallsiteCapture | undefined,
    ) => CallsiteCapture | undefined;
    const line = lineOf('next');
    const raw = orm(() => entryWith(capture));
    expect(raw?.resolve()).toMatchObject({ file: THIS_FILE, line: line + 1 });
  });

  it('restores Error.stackTraceLimit after capturing deeper', () => {
    const before = Error.stackTraceLimit;
    const capture = createCallsiteCapturer('always', { root: ROOT, depth: 77, sampleRate: 1 });
    entryWith(capture);
    expect(Error.stackTraceLimit).toBe(before);
  });

  it('captures the first query and then one in 1/rate when sampled', () => {
    const capture = createCallsiteCapturer('sampled', { root: ROOT, depth: 32, sampleRate: 0.25 });
    const taken = Array.from({ length: 9 }, () => entryWith(capture) !== undefined);
    expect(taken).toEqual([true, false, false, false, true, false, false, false, true]);
  });

  it('when sampled, captures the first executions of each text outside units of work, then sparsely', () => {
    const capture = createCallsiteCapturer('sampled', { root: ROOT, depth: 32, sampleRate: 0.5 });
    const outside = (text: string): boolean => capture(false, outside, text) !== undefined;
    // every = 2, outside that 2 × 10 = 20: four per text, then one in twenty
    expect(Array.from({ length: 6 }, () => outside('SELECT 1'))).toEqual([true, true, true, true, false, false]);
    expect(outside('SELECT 2')).toBe(true); // a new text starts its own count
    const later = Array.from({ length: 40 }, () => outside('SELECT 1')).filter(Boolean).length;
    expect(later).toBe(2);
    // inside a unit of work the plain sampling applies, whatever the text
    const inside = Array.from({ length: 6 }, () => capture(true, outside, 'SELECT 1') !== undefined);
    expect(inside).toEqual([true, false, true, false, true, false]);
  });

  it('captures only inside a unit of work on demand, and never when off', () => {
    const onDemand = createCallsiteCapturer('on-demand', { root: ROOT, depth: 32, sampleRate: 1 });
    expect(entryWith(onDemand, true)).toBeDefined();
    expect(entryWith(onDemand, false)).toBeUndefined();
    const off = createCallsiteCapturer('off', { root: ROOT, depth: 32, sampleRate: 1 });
    expect(entryWith(off, true)).toBeUndefined();
  });

  it('resolves to undefined when every captured frame is library code', () => {
    const lib = runInThisContext('(function inLib(fn) { return fn(); })', { filename: '/x/node_modules/lib/a.js' }) as (fn: () => unknown) => unknown;
    // depth 1: the only frame captured is the library's, which called the entry point directly
    const shallow = createCallsiteCapturer('always', { root: ROOT, depth: 1, sampleRate: 1 });
    const raw = lib(entryWith.bind(null, shallow, true)) as CallsiteCapture;
    expect(raw.resolve()).toBeUndefined();
  });
});
