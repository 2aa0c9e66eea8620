import { it } from 'vitest';

interface Holder { stack?: unknown }
function cap(): Holder { const h: Holder = {}; Error.captureStackTrace(h, cap); return h; }
function decode(h: Holder) {
  const prev = Error.prepareStackTrace;
  Error.prepareStackTrace = (_e, frames) => frames;
  const frames = h.stack as NodeJS.CallSite[];
  Error.prepareStackTrace = prev;
  const fake = Object.create(Error.prototype) as Error;
  const s = prev ? prev(fake, [frames[0]!]) : 'none';
  return s;
}

it('where', async () => {
  type T = { a: number };
  const x: T = { a: 1 };
  void x;
  await Promise.resolve();
  const h = cap(); // LINE 20
  console.log(JSON.stringify(decode(h)));
});
