/**
 * The `allow` option compiled once, at construction: each rule becomes a predicate over a finding
 * candidate's SQL text, fingerprint and decoded call site. Consulted at report time only.
 */
import type { AllowRule } from '../core/lens-options.js';
import type { Callsite } from '../core/query-event.js';

export interface AllowSubject {
  readonly text: string;
  readonly fingerprint: string;
  readonly callsite: Callsite | undefined;
}

export type AllowList = (subject: AllowSubject) => boolean;

/**
 * A glob on `/`-separated paths: `**` crosses segments (`src/**` matches `src/a/b.ts`, `**\/seed.ts`
 * matches `seed.ts` anywhere), `*` and `?` stay within one segment.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function testRegExp(re: RegExp, s: string): boolean {
  re.lastIndex = 0; // a /g or /y RegExp keeps state between tests
  return re.test(s);
}

function compileRule(rule: AllowRule): AllowList {
  const checks: AllowList[] = [];
  const { sql, callsite, function: fn } = rule;
  if (sql !== undefined) {
    checks.push(
      typeof sql === 'string'
        ? (s) => s.fingerprint === sql || s.text.includes(sql) || s.text.toLowerCase().includes(sql.toLowerCase())
        : (s) => testRegExp(sql, s.text),
    );
  }
  if (callsite !== undefined) {
    if (typeof callsite === 'string') {
      const glob = globToRegExp(callsite.replace(/\\/g, '/').replace(/^\.\//, ''));
      checks.push((s) => s.callsite !== undefined && (glob.test(s.callsite.file) || glob.test(`${s.callsite.file}:${s.callsite.line}`)));
    } else {
      checks.push((s) => s.callsite !== undefined && testRegExp(callsite, `${s.callsite.file}:${s.callsite.line}`));
    }
  }
  if (fn !== undefined) {
    checks.push((s) => {
      const name = s.callsite?.function;
      if (name === undefined) return false;
      return typeof fn === 'string' ? name === fn || name.endsWith(`.${fn}`) : testRegExp(fn, name);
    });
  }
  return (s) => checks.every((check) => check(s));
}

/** One predicate for all rules; a constant `false` when there are none. */
export function compileAllowList(rules: readonly AllowRule[]): AllowList {
  if (rules.length === 0) return () => false;
  const compiled = rules.map(compileRule);
  return (s) => compiled.some((allow) => allow(s));
}
