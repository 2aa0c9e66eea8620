/**
 * New Relic's SQL obfuscation cases (the cross-agent test suite), PostgreSQL dialect: `sanitize`
 * must leave no literal value in the text. The literal values are derived from the fixture itself:
 * each `?` of the expected obfuscation stands for a span of the input; the words of those spans
 * (string bodies, numbers, comment text) must not survive sanitization, unless the obfuscated text
 * itself keeps that word (then it is an identifier or keyword elsewhere in the statement).
 *
 * Where the text is also expected to be identical to New Relic's output, it is; the cases where it
 * cannot be are listed below with the reason. A few cases are written with MySQL's lexing in mind
 * (`#` comments, backslash escapes in plain strings); for those the literal values PostgreSQL
 * actually sees are listed explicitly.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sanitize } from '../../../src/sql/index.js';
import { sqlFixture } from './fixture-paths.js';

interface NewRelicCase {
  readonly name: string;
  readonly sql: string;
  readonly obfuscated: readonly string[];
  readonly dialects: readonly string[];
  readonly malformed?: boolean;
  readonly pathological?: boolean;
}

const all = JSON.parse(readFileSync(sqlFixture('newrelic-sql-obfuscation.json'), 'utf8')) as NewRelicCase[];
const cases = all.filter((c) => c.dialects.includes('postgres'));

/** Cases where New Relic's reading is not PostgreSQL's: the values PostgreSQL sees as literals. */
const POSTGRES_LITERALS: Readonly<Record<string, { readonly why: string; readonly literals: readonly string[] }>> = {
  end_of_query_comment_hash: {
    why: "`#` is PostgreSQL's bitwise XOR operator, not a comment, so `Secret` is a column reference",
    literals: ['hunter2'],
  },
  'malformed/unterminated_single_quoted_string': {
    why: 'New Relic drops the whole text on an unbalanced quote; the text before the open quote holds no literal and is kept',
    literals: ['bar', 'nothing', 'see', 'here'],
  },
  end_of_string_backslash_and_line_comment_with_quite: {
    why: "under standard_conforming_strings (PostgreSQL's default) 'user1\\' ends at its second quote, so `password` is a column",
    literals: ['user1', 'hunter 2', 'count this quote'],
  },
};

/** Cases where the text cannot equal New Relic's, and why. */
const DIFFERENT_TEXT: Readonly<Record<string, string>> = {
  end_of_query_comment_cstyle: 'comments are removed (OpenTelemetry test case "comments"), not replaced by ?',
  end_of_query_comment_doubledash: 'comments are removed, not replaced by ?',
  end_of_query_comment_hash: '# is an operator in PostgreSQL',
  'escape_string_constants.postgres': "E'…' is one constant and becomes one ?, prefix included",
  numeric_literals: 'a sign touching a number is part of it: 99+100 → ?? (OpenTelemetry test case "insert_into")',
  'pathological/end_of_line_comments_with_quotes': 'comments are removed, not replaced by ?',
  'pathological/mixed_comments_and_quotes': 'comments are removed, not replaced by ?',
  'pathological/mixed_quotes_comments_and_newlines': 'comments are removed, not replaced by ?',
  'pathological/mixed_quotes_end_of_line_comments': 'comments are removed, not replaced by ?',
  'pathological/quote_delimiters_in_comments': 'comments are removed, not replaced by ?',
  'malformed/unterminated_single_quoted_string': 'the text before the unterminated quote is kept',
  end_of_string_backslash_and_line_comment_with_quite: "PostgreSQL's standard strings: 'user1\\' is a whole string",
};

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The spans of `sql` that the `?`s of `obfuscated` stand for, or undefined when it does not line up. */
function redactedSpans(sql: string, obfuscated: string): string[] | undefined {
  const pattern = '^' + obfuscated.split('?').map(escapeRegExp).join('([\\s\\S]*?)') + '$';
  const m = new RegExp(pattern).exec(sql);
  return m === null ? undefined : m.slice(1);
}

/** The literal values of a case: words of every redacted span that the obfuscated text does not keep. */
function derivedLiterals(c: NewRelicCase): { obfuscated: string; literals: string[] } {
  const options = [...c.obfuscated].sort((a, b) => b.split('?').length - a.split('?').length);
  for (const obfuscated of options) {
    const spans = redactedSpans(c.sql, obfuscated);
    if (spans === undefined) continue;
    const kept = new Set(obfuscated.match(/\w+/g) ?? []);
    const literals = new Set<string>();
    for (const span of spans) for (const word of span.match(/\w+/g) ?? []) if (!kept.has(word)) literals.add(word);
    return { obfuscated, literals: [...literals] };
  }
  throw new Error(`no obfuscation of ${c.name} lines up with its input`);
}

function containsWord(text: string, word: string): boolean {
  return new RegExp(`(^|[^\\w])${escapeRegExp(word)}($|[^\\w])`).test(text);
}

describe('New Relic SQL obfuscation cases (postgres dialect)', () => {
  it('has cases to check', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: no literal is left', (name, c) => {
    const out = sanitize(c.sql);
    const override = POSTGRES_LITERALS[name];
    const literals = override !== undefined ? override.literals : derivedLiterals(c).literals;
    for (const value of literals) expect(containsWord(out, value), `${value} in ${JSON.stringify(out)}`).toBe(false);
  });

  it.each(cases.filter((c) => DIFFERENT_TEXT[c.name] === undefined).map((c) => [c.name, c] as const))(
    '%s: the text equals the expected obfuscation',
    (_name, c) => {
      expect(c.obfuscated).toContain(sanitize(c.sql));
    },
  );

  it('derives literals from every case that has no explicit PostgreSQL reading', () => {
    for (const c of cases) {
      if (POSTGRES_LITERALS[c.name] !== undefined) continue;
      expect(() => derivedLiterals(c), c.name).not.toThrow();
    }
  });

  it('keeps the MySQL-only comment of the hash case as code, as PostgreSQL reads it', () => {
    expect(sanitize("SELECT foo, bar FROM baz WHERE password='hunter2' # Secret")).toBe('SELECT foo, bar FROM baz WHERE password=? # Secret');
  });
});
