import type { Lexed } from './lexer.js';
// placeholder until the summarizer lands (being written now)
export function summarizeLexed(_t: Lexed): string {
  return '';
}
