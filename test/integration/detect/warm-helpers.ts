/**
 * A loop that lives in its own file, so an allow-list rule can name it by path (scenario Q12).
 */
import type pg from 'pg';

export async function primeCommentCounts(pool: pg.Pool, comments: string, postIds: readonly number[]): Promise<void> {
  for (const id of postIds) await pool.query(`SELECT count(*) FROM ${comments} WHERE post_id = $1`, [id]);
}
