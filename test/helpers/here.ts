/**
 * Where the caller is, as the stack shows it (source-mapped under vitest): call-site tests compare
 * what querylens reports with this.
 */

/** The caller's file (relative to cwd, `/` separators) and line. */
export function here(): { file: string; line: number } {
  const stack = new Error().stack ?? '';
  const frame = stack.split('\n')[2] ?? '';
  const m = /\(?([^()\s]+):(\d+):(\d+)\)?$/.exec(frame.trim());
  if (m === null) throw new Error(`cannot parse stack frame: ${frame}`);
  const file = m[1]!.startsWith('file://') ? new URL(m[1]!).pathname : m[1]!;
  return { file: file.startsWith(process.cwd() + '/') ? file.slice(process.cwd().length + 1) : file, line: Number(m[2]) };
}
