/**
 * The demo's blog service: an ordinary Express application on node-postgres, written the way
 * application code often is — including the mistakes querylens exists to catch. Every route with a
 * problem has its fixed twin next to it. `querylens demo` runs it in-process (see demo.ts) and
 * calls each route once.
 *
 * This file plays the application: querylens treats its frames as application frames, so the call
 * sites in the demo's findings point at the lines below, as they would at a user's code.
 */
import express from 'express';
import type { Express } from 'express';
import type pg from 'pg';
import type { PkCache, RequestMiddleware } from '../index.js';

export interface DemoAppDeps {
  /** The application's pool, instrumented by the lens (`lens.instrument(new pg.Pool(…))`). */
  readonly pool: pg.Pool;
  /** `lens.cache()`: the primary-key cache behind GET /posts/popular. */
  readonly cache: PkCache;
  /** `lens.middleware()`: one unit of work per request. */
  readonly middleware: RequestMiddleware;
}

interface Post {
  id: number;
  author_id: number;
  title: string;
  published_at: Date;
  comments?: Comment[];
}

interface Comment {
  id: number;
  post_id: number;
  commenter_email: string;
  body: string;
  created_at: Date;
}

interface Author {
  id: number;
  name: string;
  email: string;
}

/** The expensive query the cache keeps the primary keys of: the five most commented posts. */
export const POPULAR_POSTS_SQL = `SELECT p.id FROM posts p JOIN comments c ON c.post_id = p.id
  GROUP BY p.id ORDER BY count(*) DESC, p.id LIMIT 5`;

export const LATEST_POSTS_SQL = 'SELECT id, author_id, title, published_at FROM posts ORDER BY published_at DESC LIMIT 20';
export const COMMENTS_OF_POST_SQL = 'SELECT id, post_id, commenter_email, body, created_at FROM comments WHERE post_id = $1 ORDER BY created_at DESC LIMIT 3';
/** The latest three comments of each post in `$1`, in one statement. */
export const COMMENTS_OF_POSTS_SQL = `SELECT c.* FROM unnest($1::int[]) AS p(id) CROSS JOIN LATERAL (
  SELECT id, post_id, commenter_email, body, created_at FROM comments WHERE post_id = p.id ORDER BY created_at DESC LIMIT 3) c`;
/** A reader's latest comments, whatever the case of the e-mail address: slow while no index serves lower(commenter_email). */
export const COMMENTS_BY_EMAIL_SQL = 'SELECT id, post_id, body, created_at FROM comments WHERE lower(commenter_email) = lower($1) ORDER BY created_at DESC LIMIT 20';

async function latestPosts(pool: pg.Pool): Promise<Post[]> {
  return (await pool.query<Post>(LATEST_POSTS_SQL)).rows;
}

async function authorById(pool: pg.Pool, id: number): Promise<Author | undefined> {
  return (await pool.query<Author>('SELECT id, name, email FROM authors WHERE id = $1', [id])).rows[0];
}

/** The author box under a post: looks the author up by itself, unaware the byline already did. */
async function authorCard(pool: pg.Pool, authorId: number): Promise<{ name: string; posts: number } | undefined> {
  const author = await authorById(pool, authorId);
  if (author === undefined) return undefined;
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM posts WHERE author_id = $1', [authorId]);
  return { name: author.name, posts: rows[0]?.n ?? 0 };
}

function toInt(value: unknown): number {
  const n = Number(value);
  return Number.isInteger(n) ? n : -1;
}

export function createDemoApp({ pool, cache, middleware }: DemoAppDeps): Express {
  const app = express();
  app.use(middleware);
  app.use(express.json());

  // N+1: the latest posts, then each post's latest comments, one query per post.
  app.get('/feed', async (_req, res) => {
    const posts = await latestPosts(pool);
    for (const post of posts) {
      post.comments = (await pool.query<Comment>(COMMENTS_OF_POST_SQL, [post.id])).rows; // N+1: one query per post
    }
    res.json(posts);
  });

  // Fixed: every post's latest comments in one statement (a LATERAL join over the post ids).
  app.get('/feed/fixed', async (_req, res) => {
    const posts = await latestPosts(pool);
    const { rows } = await pool.query<Comment>(COMMENTS_OF_POSTS_SQL, [posts.map((p) => p.id)]);
    for (const post of posts) post.comments = rows.filter((c) => c.post_id === post.id);
    res.json(posts);
  });

  // Cached: the most commented posts; only their primary keys are cached, the rows are read fresh.
  app.get('/posts/popular', async (_req, res) => {
    res.json(await cache.query(pool, { table: 'posts', text: POPULAR_POSTS_SQL }));
  });

  // Duplicate: the byline and the author card each load the same author.
  app.get('/posts/:id', async (req, res) => {
    const post = (await pool.query<Post>('SELECT id, author_id, title, published_at FROM posts WHERE id = $1', [toInt(req.params.id)])).rows[0];
    if (post === undefined) return void res.status(404).json({ error: 'no such post' });
    const byline = await authorById(pool, post.author_id);
    const card = await authorCard(pool, post.author_id);
    res.json({ ...post, byline: byline?.name, author: card });
  });

  // Fixed: the author is loaded once and handed to whatever needs it.
  app.get('/posts/:id/fixed', async (req, res) => {
    const post = (await pool.query<Post>('SELECT id, author_id, title, published_at FROM posts WHERE id = $1', [toInt(req.params.id)])).rows[0];
    if (post === undefined) return void res.status(404).json({ error: 'no such post' });
    const author = await authorById(pool, post.author_id);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM posts WHERE author_id = $1', [post.author_id]);
    res.json({ ...post, byline: author?.name, author: { name: author?.name, posts: rows[0]?.n ?? 0 } });
  });

  // Write loop: one INSERT per tag.
  app.post('/posts/:id/tags', async (req, res) => {
    const postId = toInt(req.params.id);
    const names = (req.body as { tags?: unknown }).tags;
    const { rows: tags } = await pool.query<{ id: number }>('SELECT id FROM tags WHERE name = ANY($1::text[]) ORDER BY id', [names]);
    for (const tag of tags) {
      await pool.query('INSERT INTO post_tags (post_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [postId, tag.id]); // write loop
    }
    res.status(201).json({ post: postId, tagged: tags.length });
  });

  // Fixed: one INSERT … SELECT for all the tags.
  app.post('/posts/:id/tags/fixed', async (req, res) => {
    const postId = toInt(req.params.id);
    const names = (req.body as { tags?: unknown }).tags;
    const { rowCount } = await pool.query(
      'INSERT INTO post_tags (post_id, tag_id) SELECT $1, id FROM tags WHERE name = ANY($2::text[]) ON CONFLICT DO NOTHING',
      [postId, names],
    );
    res.status(201).json({ post: postId, tagged: rowCount ?? 0 });
  });

  // Slow until an index serves lower(commenter_email): a search on an unindexed column.
  app.get('/comments', async (req, res) => {
    const by = typeof req.query['by'] === 'string' ? req.query['by'] : '';
    const { rows } = await pool.query<Comment>(COMMENTS_BY_EMAIL_SQL, [by]);
    res.json(rows);
  });

  return app;
}
