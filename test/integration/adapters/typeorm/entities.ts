/**
 * The blog model the TypeORM adapter tests run against, as EntitySchemas (no decorators, so the
 * repository's tsconfig needs no `experimentalDecorators`): users ← posts → comments. `Post.author`
 * is a lazy relation (a Promise property loaded by TypeORM's RelationLoader on first access), the
 * classic source of TypeORM N+1s; `Post.comments` is its ordinary one-to-many inverse.
 * Tables live in the DataSource's `schema`, one PostgreSQL schema per test file. Table names
 * (`blog_comments`) differ from relation names (`comments`) on purpose, so a suggestion that
 * names the relation shows the adapter knew it rather than guessing from the table.
 */
import { EntitySchema } from 'typeorm';

export interface User {
  id: number;
  name: string;
}

export interface Post {
  id: number;
  title: string;
  authorId: number;
  /** Lazy: reading it issues a query unless the relation was loaded with the post. */
  author: Promise<User>;
  comments?: Comment[];
}

export interface Comment {
  id: number;
  postId: number;
  body: string;
  post?: Post;
}

export const UserEntity = new EntitySchema<User>({
  name: 'User',
  tableName: 'blog_users',
  columns: {
    id: { type: Number, primary: true, generated: true },
    name: { type: String },
  },
});

export const PostEntity = new EntitySchema<Post>({
  name: 'Post',
  tableName: 'blog_posts',
  columns: {
    id: { type: Number, primary: true, generated: true },
    title: { type: String },
    authorId: { type: Number, name: 'author_id' },
  },
  relations: {
    author: { type: 'many-to-one', target: 'User', lazy: true, joinColumn: { name: 'author_id' } },
    comments: { type: 'one-to-many', target: 'Comment', inverseSide: 'post' },
  },
});

export const CommentEntity = new EntitySchema<Comment>({
  name: 'Comment',
  tableName: 'blog_comments',
  columns: {
    id: { type: Number, primary: true, generated: true },
    postId: { type: Number, name: 'post_id' },
    body: { type: String },
  },
  relations: {
    post: { type: 'many-to-one', target: 'Post', inverseSide: 'comments', joinColumn: { name: 'post_id' } },
  },
});

export const entities = [UserEntity, PostEntity, CommentEntity];
