/**
 * Parameter values → an unambiguous, typed encoding for the cache key. Two value lists encode the
 * same only when pg would send the same values with the same types: `1` (number) differs from
 * `'1'` (string) and `1n` (bigint); a Date is its instant; a Buffer its bytes; arrays nest; plain
 * JSON objects are encoded with sorted keys (`{a, b}` = `{b, a}`, as jsonb compares them). A value
 * of any other class (a class instance, an object with `toPostgres`, a function, a symbol) has no
 * encoding we can trust, so the query is not cached: `encodeValues` returns undefined and the
 * cache counts a `parameter-type` bypass.
 *
 * Keys also normalise what the key *column* values come back as: `keyValue` turns bigint and Date
 * into strings pg accepts for the array parameter of the row read.
 */

const UNKNOWN: unique symbol = Symbol('unknown class');

function encode(value: unknown, out: string[], depth: number): typeof UNKNOWN | undefined {
  if (depth > 32) return UNKNOWN;
  switch (typeof value) {
    case 'string':
      out.push('s', String(value.length), ':', value);
      return undefined;
    case 'number':
      out.push('n', Object.is(value, -0) ? '-0' : String(value), ';');
      return undefined;
    case 'bigint':
      out.push('b', value.toString(), ';');
      return undefined;
    case 'boolean':
      out.push(value ? 'T' : 'F');
      return undefined;
    case 'undefined':
      out.push('z'); // pg sends undefined as NULL
      return undefined;
    case 'object': {
      if (value === null) {
        out.push('z');
        return undefined;
      }
      if (Array.isArray(value)) {
        out.push('[', String(value.length), ':');
        for (const item of value) if (encode(item, out, depth + 1) === UNKNOWN) return UNKNOWN;
        out.push(']');
        return undefined;
      }
      if (value instanceof Date) {
        out.push('d', String(value.getTime()), ';');
        return undefined;
      }
      if (ArrayBuffer.isView(value)) {
        const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        out.push('x', String(bytes.length), ':', bytes.toString('hex'));
        return undefined;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return UNKNOWN;
      if (typeof (value as { toPostgres?: unknown }).toPostgres === 'function') return UNKNOWN;
      const keys = Object.keys(value).sort();
      out.push('{', String(keys.length), ':');
      for (const key of keys) {
        out.push(String(key.length), ':', key);
        const v = (value as Record<string, unknown>)[key];
        // JSON.stringify drops undefined members; so does pg's serialisation
        if (v === undefined) {
          out.push('u');
          continue;
        }
        if (encode(v, out, depth + 1) === UNKNOWN) return UNKNOWN;
      }
      out.push('}');
      return undefined;
    }
    default:
      return UNKNOWN;
  }
}

/** The typed encoding of a parameter list, or undefined when a value is of a class we cannot encode. */
export function encodeValues(values: readonly unknown[] | undefined): string | undefined {
  if (values === undefined || values.length === 0) return '';
  const out: string[] = [];
  for (const v of values) {
    if (encode(v, out, 0) === UNKNOWN) return undefined;
    out.push('|');
  }
  return out.join('');
}

/** Encoding of a single value (the user's `scope`), or undefined. */
export function encodeValue(value: unknown): string | undefined {
  const out: string[] = [];
  return encode(value, out, 0) === UNKNOWN ? undefined : out.join('');
}

/**
 * A primary-key value as the cache keeps it: JSON-safe and accepted by pg as an element of the
 * `$1::<type>[]` parameter. Numbers, strings and booleans stay; bigint and Date become strings;
 * bytes become `\x…` hex. Undefined for anything else (the list is then not cached).
 */
export function keyValue(value: unknown): string | number | boolean | null | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'object':
      if (value === null) return null;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
      if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
      return undefined;
    default:
      return undefined;
  }
}
