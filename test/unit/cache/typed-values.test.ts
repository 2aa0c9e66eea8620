/**
 * The cache key's parameter encoding: equal only when pg would send equal typed values; a value of
 * an unknown class makes the query uncacheable instead of guessing.
 */
import { describe, expect, it } from 'vitest';
import { encodeValue, encodeValues, keyValue } from '../../../src/cache/typed-values.js';

describe('encodeValues', () => {
  it('tells numbers, strings and bigints apart even when they print alike', () => {
    const all = [encodeValues([1]), encodeValues(['1']), encodeValues([1n]), encodeValues([true]), encodeValues([null])];
    expect(new Set(all).size).toBe(all.length);
  });

  it('never lets one list masquerade as another through separators', () => {
    expect(encodeValues(['a|b'])).not.toBe(encodeValues(['a', 'b']));
    expect(encodeValues([['a', 'b']])).not.toBe(encodeValues(['a', 'b']));
    expect(encodeValues(['s1:x'])).not.toBe(encodeValues(['s', '1:x']));
    expect(encodeValues([[]])).not.toBe(encodeValues([]));
  });

  it('encodes a Date as its instant and bytes as their contents', () => {
    expect(encodeValues([new Date(5)])).toBe(encodeValues([new Date(5)]));
    expect(encodeValues([new Date(5)])).not.toBe(encodeValues([new Date(6)]));
    expect(encodeValues([Buffer.from('ab')])).toBe(encodeValues([new Uint8Array([97, 98])]));
    expect(encodeValues([Buffer.from('ab')])).not.toBe(encodeValues(['ab']));
  });

  it('sorts JSON object keys, so key order does not matter, but values and nesting do', () => {
    expect(encodeValues([{ a: 1, b: { c: [1, 2] } }])).toBe(encodeValues([{ b: { c: [1, 2] }, a: 1 }]));
    expect(encodeValues([{ a: 1 }])).not.toBe(encodeValues([{ a: '1' }]));
    expect(encodeValues([{ a: [1, 2] }])).not.toBe(encodeValues([{ a: [2, 1] }]));
    expect(encodeValues([Object.create(null) as object])).toBe(encodeValues([{}]));
  });

  it('treats undefined as NULL, as pg sends it', () => {
    expect(encodeValues([undefined])).toBe(encodeValues([null]));
  });

  it('refuses values of unknown classes instead of guessing', () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    expect(encodeValues([new Money(1)])).toBeUndefined();
    expect(encodeValues([{ toPostgres: () => 'x' }])).toBeUndefined();
    expect(encodeValues([() => 1])).toBeUndefined();
    expect(encodeValues([Symbol('s')])).toBeUndefined();
    expect(encodeValues([[1, new Map()]])).toBeUndefined();
    expect(encodeValue({ tenant: new Set() })).toBeUndefined();
  });

  it('encodes an empty or absent list the same', () => {
    expect(encodeValues(undefined)).toBe(encodeValues([]));
  });
});

describe('keyValue', () => {
  it('keeps JSON-safe key values and turns bigint, Date and bytes into strings pg accepts', () => {
    expect(keyValue(7)).toBe(7);
    expect(keyValue('a')).toBe('a');
    expect(keyValue(7n)).toBe('7');
    expect(keyValue(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    expect(keyValue(Buffer.from([1, 255]))).toBe('\\x01ff');
    expect(keyValue(null)).toBeNull();
  });

  it('gives up on values it cannot round-trip', () => {
    expect(keyValue({ a: 1 })).toBeUndefined();
    expect(keyValue(new Date(Number.NaN))).toBeUndefined();
    expect(keyValue(undefined)).toBeUndefined();
  });
});
