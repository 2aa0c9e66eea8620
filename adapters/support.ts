/**
 * Small helpers the adapters share (internal: not part of the public API, may change without
 * notice). Like every adapter, this file uses nothing from querylens beyond the package entry.
 */

/** Anything that can carry properties: objects and functions (classes, callable builders). */
export function isObject(value: unknown): value is Record<PropertyKey, unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function');
}

/** What the caller passed, for error messages: `null`, `string "x"`, `a function (knex)`, `a Pool`, `a plain object`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return value.name === '' ? 'a function' : `a function (${value.name})`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'a plain object';
}

/** The parts of a Node `ServerResponse` a request scope watches. */
export interface NodeResponseLike {
  readonly statusCode?: number;
  readonly writableFinished?: boolean;
  readonly destroyed?: boolean;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

/**
 * Calls `done` once, when the response has finished (`failed`: a 5xx status) or the connection
 * closed before it did (`failed`: true); at once when it already has.
 */
export function whenResponseDone(res: NodeResponseLike, done: (failed: boolean) => void): void {
  const failedStatus = (): boolean => (res.statusCode ?? 200) >= 500;
  if (res.writableFinished === true) return done(failedStatus());
  if (res.destroyed === true) return done(true);
  let called = false;
  const once = (failed: boolean): void => {
    if (called) return;
    called = true;
    done(failed);
  };
  res.once('finish', () => once(failedStatus()));
  res.once('close', () => once(res.writableFinished !== true || failedStatus()));
}
