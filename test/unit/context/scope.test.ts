import { describe, expect, it } from 'vitest';
import { currentFrame, deriveFrame, runInFrame } from '../../../src/context/context-frame.js';
import { pathScopeName, routeScopeName } from '../../../src/context/request-scope.js';
import { MAX_FINDINGS_PER_SCOPE, Scope } from '../../../src/context/scope.js';
import type { Finding } from '../../../src/core/finding.js';

describe('scopes and frames', () => {
  it('nests frames and unwinds them when the function returns', async () => {
    const outer = new Scope('scope', 'outer', undefined, 0);
    const inner = new Scope('scope', 'inner', outer, 1);
    expect(currentFrame()).toBeUndefined();
    await runInFrame(deriveFrame(undefined, { scope: outer }), async () => {
      await runInFrame(deriveFrame(currentFrame(), { scope: inner }), async () => {
        await new Promise((r) => setTimeout(r, 1));
        expect(currentFrame()?.scope).toBe(inner);
      });
      expect(currentFrame()?.scope).toBe(outer);
      expect(currentFrame()?.ignored).toBe(false);
    });
    expect(currentFrame()).toBeUndefined();
  });

  it('keeps operation and ignore flags when a scope opens inside them', () => {
    const base = deriveFrame(undefined, { ignored: true, operation: { orm: 'x', callsite: undefined, parent: undefined } });
    const s = new Scope('scope', 's', undefined, 0);
    expect(deriveFrame(base, { scope: s })).toEqual({ scope: s, ignored: true, operation: base.operation });
  });

  it('names a scope lazily, settles the name when it ends, and ends once', () => {
    let route: string | undefined;
    const scope = new Scope('request', () => route, undefined, 0, { fallbackName: 'GET /posts/7' });
    expect(scope.name).toBe('GET /posts/7');
    route = 'GET /posts/:id';
    expect(scope.name).toBe('GET /posts/:id');
    expect(scope.end()).toBe(true);
    expect(scope.end()).toBe(false);
    route = 'changed';
    expect(scope.name).toBe('GET /posts/:id');
  });

  it('keeps a bounded number of findings per scope', () => {
    const scope = new Scope('scope', 's', undefined, 0);
    const f = { kind: 'duplicate' } as Finding;
    for (let i = 0; i < MAX_FINDINGS_PER_SCOPE + 3; i++) scope.addFinding(f);
    expect(scope.findings).toHaveLength(MAX_FINDINGS_PER_SCOPE);
    expect(scope.droppedFindings).toBe(3);
  });

  it('names requests by route pattern, else by path without the query string', () => {
    expect(routeScopeName({ method: 'GET', baseUrl: '/api', route: { path: '/posts/:id' } })).toBe('GET /api/posts/:id');
    expect(routeScopeName({ method: 'POST', baseUrl: '/posts', route: { path: '/' } })).toBe('POST /posts');
    expect(routeScopeName({ method: 'GET', route: { path: '/' } })).toBe('GET /');
    expect(routeScopeName({ method: 'GET', url: '/x' })).toBeUndefined();
    expect(pathScopeName({ method: 'DELETE', originalUrl: '/a/b?c=1', url: '/b?c=1' })).toBe('DELETE /a/b');
  });
});
