import { describe, expect, it } from 'vitest';
import { globToRegExp, compileAllowList } from '../../../src/detect/allow-list.js';
import { batchedStatement, columnsCompatible, literalValues, singular, statementShape } from '../../../src/detect/statement-shape.js';
import { isKeyLikeColumn, keysCarried, paramSetKey, valueKey } from '../../../src/detect/value-keys.js';

describe('statement shape', () => {
  it('finds parameter and literal slots with the column they are compared to', () => {
    const shape = statementShape('SELECT * FROM comments c WHERE c.post_id = $1 AND "authorId" IN ($2) AND $3 = "t"."id" AND x = ANY($4) LIMIT 10');
    expect(shape.slots.map((s) => [s.param, s.literal, s.column, s.form])).toEqual([
      [1, -1, 'post_id', '='],
      [2, -1, 'authorId', 'in'],
      [3, -1, 'id', '='],
      [4, -1, 'x', 'any'],
      [0, 0, undefined, 'other'],
    ]);
    expect(shape.literalCount).toBe(1);
  });

  it('reads inline literal values as the ORM wrote them', () => {
    expect(literalValues(`SELECT * FROM t WHERE "id" = 2 AND name = 'O''Brien' AND d = $tag$x$tag$ AND n = -5 AND e = E'a\\'b'`)).toEqual(['2', "O'Brien", 'x', '-5', "a'b"]);
    expect(literalValues('SELECT 1 - 5')).toEqual(['1', '5']);
  });

  it('rewrites the loop statement to take all keys at once, sanitizing the rest', () => {
    const text = "SELECT * FROM comments WHERE post_id = $1 AND kind = 'x'";
    const slot = statementShape(text).slots[0]!;
    expect(batchedStatement(text, slot)).toBe('SELECT * FROM comments WHERE post_id = ANY($1) AND kind = ?');
    const inline = 'SELECT * FROM "comments" WHERE "post_id" = 7';
    expect(batchedStatement(inline, statementShape(inline).slots[0]!)).toBe('SELECT * FROM "comments" WHERE "post_id" = ANY($1)');
    const cast = 'SELECT * FROM comments WHERE post_id IN ($1::int)';
    expect(batchedStatement(cast, statementShape(cast).slots[0]!)).toBe('SELECT * FROM comments WHERE post_id = ANY($1::int[])');
    const any = 'SELECT * FROM comments WHERE post_id = ANY($1)';
    expect(batchedStatement(any, statementShape(any).slots[0]!)).toBeUndefined();
  });

  it('decides which parent column can feed a child column', () => {
    expect(columnsCompatible('post_id', ['comments'], 'id', ['posts'])).toBe(true);
    expect(columnsCompatible('postId', ['"Comment"'], 'id', ['public.posts'])).toBe(true);
    expect(columnsCompatible('category_id', ['posts'], 'id', ['categories'])).toBe(true);
    expect(columnsCompatible('id', ['posts'], 'post_id', ['comments'])).toBe(true);
    expect(columnsCompatible('id', ['authors'], 'writer_id', ['posts'])).toBe(true);
    expect(columnsCompatible('post_id', ['comments'], 'post_id', ['likes'])).toBe(true);
    expect(columnsCompatible('author_id', ['comments'], 'id', ['posts'])).toBe(false);
    expect(columnsCompatible('post_id', ['comments'], 'author_id', ['posts'])).toBe(false);
    // Prefixed table names: wp_posts, blog_post_comments
    expect(columnsCompatible('post_id', ['wp_comments'], 'id', ['wp_posts'])).toBe(true);
    expect(columnsCompatible('comment_id', ['likes'], 'id', ['blog_post_comments'])).toBe(true);
    expect(columnsCompatible('post_id', ['likes'], 'id', ['blog_post_comments'])).toBe(false);
    expect(['categories', 'posts', 'addresses', 'boxes', 'status'].map(singular)).toEqual(['category', 'post', 'address', 'box', 'status']);
  });
});

describe('value keys', () => {
  it('gives integers, int8 strings and bigints one key, and refuses what cannot be an id', () => {
    expect([valueKey(5), valueKey('5'), valueKey(5n)]).toEqual([5, 5, 5]);
    expect(valueKey('007')).toBe('007');
    expect(valueKey('9007199254740993')).toBe('9007199254740993');
    expect(valueKey('a1b2')).toBe('a1b2');
    for (const v of [1.5, true, null, undefined, {}, [1], '', 'x'.repeat(65)]) expect(valueKey(v)).toBeUndefined();
    expect(valueKey(new Date(0))).toBe('\u0000d0');
  });

  it('recognises key-like column names', () => {
    expect(['id', 'post_id', 'postId', 'authorID', 'uuid', 'api_key', 'slug'].every(isKeyLikeColumn)).toBe(true);
    expect(['title', 'body', 'idle', 'valid', 'paid'].some(isKeyLikeColumn)).toBe(false);
  });

  it('keys parameter sets by type and counts the keys a statement carries', () => {
    expect(paramSetKey([1, '1'])).not.toBe(paramSetKey(['1', 1]));
    expect(paramSetKey([{ a: 1n }])).toBe('j{"a":"1"}');
    expect(keysCarried([[1, 2, 3], 'x'])).toBe(3);
    expect(keysCarried([7])).toBe(1);
    expect(keysCarried(undefined)).toBe(0);
  });
});

describe('allow-list', () => {
  it('matches globs on path segments', () => {
    expect(globToRegExp('src/**').test('src/a/b.ts')).toBe(true);
    expect(globToRegExp('src/*.ts').test('src/a/b.ts')).toBe(false);
    expect(globToRegExp('**/seed.ts').test('seed.ts')).toBe(true);
    expect(globToRegExp('**/seed.ts').test('test/x/seed.ts')).toBe(true);
    expect(globToRegExp('src/jobs/?.ts').test('src/jobs/a.ts')).toBe(true);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });

  it('needs every field of a rule to match, and any rule of the list', () => {
    const allow = compileAllowList([{ sql: /flags/, function: 'load' }, { callsite: 'src/admin/**' }, { sql: 'abcdef0123456789' }]);
    const cs = (file: string, fn?: string) => ({ file, line: 3, column: 1, ...(fn === undefined ? {} : { function: fn }) });
    expect(allow({ text: 'SELECT * FROM flags', fingerprint: 'f', callsite: cs('src/a.ts', 'load') })).toBe(true);
    expect(allow({ text: 'SELECT * FROM flags', fingerprint: 'f', callsite: cs('src/a.ts', 'other') })).toBe(false);
    expect(allow({ text: 'SELECT 1', fingerprint: 'f', callsite: cs('src/admin/x.ts') })).toBe(true);
    expect(allow({ text: 'SELECT 1', fingerprint: 'abcdef0123456789', callsite: undefined })).toBe(true);
    expect(allow({ text: 'SELECT 1', fingerprint: 'f', callsite: undefined })).toBe(false);
    expect(compileAllowList([])({ text: '', fingerprint: '', callsite: undefined })).toBe(false);
    // A global RegExp keeps no state between checks.
    const g = compileAllowList([{ sql: /flags/g }]);
    expect([1, 2, 3].map(() => g({ text: 'flags', fingerprint: '', callsite: undefined }))).toEqual([true, true, true]);
  });
});
