/**
 * Values as comparable keys. Result-row linking asks "is this parameter a value that an earlier
 * query returned?", so a parameter and a column value must map to the same key whatever their JS
 * types: pg returns int8 as a string while applications pass numbers, so `5`, `5n` and `'5'` all
 * have the key `5` (a number: no string is built for the common integer id). Only values that can
 * be keys are keyed: integers, short strings (ids, uuids, slugs), dates. Floats, booleans, null,
 * long text, arrays and objects are not. Called per sampled row value, so it allocates nothing
 * for integers and integer-like strings.
 */
import { MAX_KEY_LENGTH } from './limits.js';

export type ValueKey = number | string;

/** `'123'`, `'-7'`: a safe integer written without leading zeros. */
function integerText(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 15) return false;
  let i = s.charCodeAt(0) === 45 ? 1 : 0;
  if (i === n) return false;
  if (s.charCodeAt(i) === 48 && n > i + 1) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The comparable key of a value, or undefined when it cannot be an identifier. */
export function valueKey(value: unknown): ValueKey | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isSafeInteger(value) ? value : undefined;
    case 'string':
      if (value.length === 0 || value.length > MAX_KEY_LENGTH) return undefined;
      return integerText(value) ? Number(value) : value;
    case 'bigint':
      return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : String(value);
    case 'object':
      return value instanceof Date ? `\u0000d${value.getTime()}` : undefined;
    default:
      return undefined;
  }
}

/**
 * Column names that look like keys: `id`, `post_id`, `postId`, `post_uuid`, `uuid`, `key`,
 * `api_key`, `slug`, `code`. Only these are sampled from result rows.
 */
export function isKeyLikeColumn(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  const lower = name.toLowerCase();
  if (lower === 'id' || lower === 'uuid' || lower === 'key' || lower === 'slug' || lower === 'code') return true;
  if (lower.endsWith('_id') || lower.endsWith('_uuid') || lower.endsWith('_key')) return true;
  // camelCase: postId, authorUUID
  return (n > 2 && name.endsWith('Id')) || (n > 2 && name.endsWith('ID')) || (n > 4 && name.endsWith('Uuid'));
}

/** A key that is unlikely to match by chance: not a small integer. */
export function isDistinctiveKey(key: ValueKey): boolean {
  return typeof key === 'string' || key <= -1000 || key >= 1000;
}

/**
 * A parameter set as one string, for counting distinct sets (report time only, never per query).
 * Unlike JSON it keeps types apart that pg would treat apart only when they differ in text.
 */
export function paramSetKey(values: readonly unknown[] | undefined): string {
  if (values === undefined || values.length === 0) return '';
  let out = '';
  for (let i = 0; i < values.length; i++) out += `${i === 0 ? '' : '\u0001'}${scalarText(values[i])}`;
  return out;
}

function scalarText(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'number':
    case 'bigint':
    case 'boolean':
      return `n${String(v)}`;
    case 'undefined':
      return 'u';
    case 'object':
      if (v === null) return 'z';
      if (v instanceof Date) return `d${v.getTime()}`;
      if (ArrayBuffer.isView(v)) return `b${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`;
      try {
        return `j${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x))}`;
      } catch {
        return 'o?';
      }
    default:
      return `?${typeof v}`;
  }
}

/** How many keys a parameter set carries: an array parameter of n elements carries n. */
export function keysCarried(values: readonly unknown[] | undefined): number {
  if (values === undefined) return 0;
  let most = values.length > 0 ? 1 : 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Array.isArray(v) && v.length > most) most = v.length;
  }
  return most;
}
