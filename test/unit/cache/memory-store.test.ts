/**
 * The in-process store: lists are served only under the tokens they were filled under, a fill is
 * stored only if those tokens are still current, lists are frozen, and the lru-cache tier stays
 * within its entry and byte bounds and honours each list's TTL.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/cache/memory-store.js';

const store = (maxEntries = 100, maxBytes = 1 << 20): MemoryStore => new MemoryStore({ maxEntries, maxBytes });

describe('MemoryStore', () => {
  it('serves a list only while the tokens it was filled under are current', async () => {
    const s = store();
    const first = await s.lookup('k', ['posts', 'users']);
    expect(first.ids).toBeUndefined();
    expect(await s.fill('k', ['posts', 'users'], first.snapshot, [3, 1, 2], 60_000)).toBe(true);
    expect((await s.lookup('k', ['posts', 'users'])).ids).toEqual([3, 1, 2]);
    await s.bump(['users']);
    expect((await s.lookup('k', ['posts', 'users'])).ids).toBeUndefined();
  });

  it('refuses a fill whose snapshot predates a bump (check-and-set)', async () => {
    const s = store();
    const { snapshot } = await s.lookup('k', ['posts']);
    await s.bump(['posts']);
    expect(await s.fill('k', ['posts'], snapshot, [1], 60_000)).toBe(false);
    expect((await s.lookup('k', ['posts'])).ids).toBeUndefined();
  });

  it('treats "*" as every table, tokens created later included', async () => {
    const s = store();
    const { snapshot } = await s.lookup('k', ['a']);
    await s.fill('k', ['a'], snapshot, [1], 60_000);
    await s.bump('*');
    expect((await s.lookup('k', ['a'])).ids).toBeUndefined();
  });

  it('freezes stored lists, composite tuples included', async () => {
    const s = store();
    const { snapshot } = await s.lookup('k', ['t']);
    const ids = [['a', 1], ['b', 2]] as const;
    await s.fill('k', ['t'], snapshot, ids.map((x) => [...x]), 60_000);
    const got = (await s.lookup('k', ['t'])).ids!;
    expect(Object.isFrozen(got)).toBe(true);
    expect(Object.isFrozen(got[0])).toBe(true);
  });

  it('expires a list after its TTL', async () => {
    const s = store();
    const { snapshot } = await s.lookup('k', ['t']);
    await s.fill('k', ['t'], snapshot, [1], 20);
    expect((await s.lookup('k', ['t'])).ids).toEqual([1]);
    await new Promise((r) => setTimeout(r, 40));
    expect((await s.lookup('k', ['t'])).ids).toBeUndefined();
  });

  it('stays within its entry and byte bounds', async () => {
    const byEntries = store(3);
    for (let i = 0; i < 10; i++) {
      const { snapshot } = await byEntries.lookup(`k${i}`, ['t']);
      await byEntries.fill(`k${i}`, ['t'], snapshot, [i], 60_000);
    }
    expect(byEntries.stats().entries).toBe(3);
    const byBytes = store(1000, 4096);
    const big = Array.from({ length: 100 }, (_, i) => `key-${i}-${'x'.repeat(20)}`);
    for (let i = 0; i < 10; i++) {
      const { snapshot } = await byBytes.lookup(`k${i}`, ['t']);
      await byBytes.fill(`k${i}`, ['t'], snapshot, big, 60_000);
    }
    expect(byBytes.stats().bytes).toBeLessThanOrEqual(4096);
    expect(byBytes.stats().entries).toBeLessThan(10);
  });
});
