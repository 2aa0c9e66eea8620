/**
 * Call sites: where in the application a query (or an ORM operation) was issued.
 *
 * Capture is the only per-query cost and happens synchronously at the entry point: V8 records its
 * structured frames into a small holder object (`Error.captureStackTrace`, with
 * `Error.stackTraceLimit` raised only for that call). Nothing is formatted then. Decoding happens
 * on the first `resolve()`: frames are read as CallSite objects, the first one outside
 * node_modules, `node:` internals and querylens itself is picked, mapped through source maps
 * (the formatter the process installed — vitest, source-map-support — or Node's own), and made
 * relative to the project root. Decoded positions are memoised by raw position.
 *
 * The policy is chosen once per lens: each `CallsitePolicy` is its own capture function.
 */
import { findSourceMap } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallsitePolicy } from '../core/lens-options.js';
import type { Callsite, CallsiteCapture } from '../core/query-event.js';

/** `src/` of this package (or `dist/src/` when built): frames in here are never the application. */
const OWN_SRC_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const OWN_DIRS: readonly string[] = [OWN_SRC_DIR + sep, join(dirname(OWN_SRC_DIR), 'adapters') + sep];
/**
 * `cli/` is not the library but an application of it (it uses only the package entry, as examples
 * do): its frames are application frames even inside node_modules, so `querylens demo` points at
 * its service's lines as it would at a user's code.
 */
const OWN_CLI_DIR = join(OWN_SRC_DIR, 'cli') + sep;

/** Raw positions decoded so far → their call site (or null: not an application frame). */
const MEMO_MAX = 10_000;

// `Error.prepareStackTrace` contract: the structured frames, untouched.
const structured = (_error: Error, frames: NodeJS.CallSite[]): NodeJS.CallSite[] => frames;
// A blank error to hand to a foreign formatter when asking it to map a single frame.
const BLANK_ERROR: Error = Object.create(Error.prototype) as Error;
const FRAME_POSITION = /\(?([^()\s]+?):(\d+):(\d+)\)?\s*$/;

/** Decodes raw captures for one project root. */
export class CallsiteDecoder {
  readonly #root: string;
  readonly #memo = new Map<string, Callsite | null>();

  constructor(root: string) {
    this.#root = root;
  }

  decode(holder: { stack?: unknown }): Callsite | undefined {
    const previous = Error.prepareStackTrace;
    let frames: unknown;
    Error.prepareStackTrace = structured;
    try {
      frames = holder.stack;
    } finally {
      Error.prepareStackTrace = previous;
    }
    if (!Array.isArray(frames)) return undefined;
    for (const frame of frames as NodeJS.CallSite[]) {
      const found = this.#decodeFrame(frame, previous);
      if (found !== null) return found;
    }
    return undefined;
  }

  /** The frame's call site, or null when it is not application code. */
  #decodeFrame(frame: NodeJS.CallSite, formatter: typeof Error.prepareStackTrace): Callsite | null {
    const rawFile = frame.getFileName() ?? frame.getScriptNameOrSourceURL();
    if (!rawFile) return null;
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    if (line === null || column === null) return null;
    const key = `${rawFile}:${line}:${column}`;
    // Memo first: a repeated position is decided without re-reading its path (fileURLToPath).
    const memo = this.#memo.get(key);
    if (memo !== undefined) return memo;
    if (isLibraryFile(rawFile)) {
      this.#remember(key, null);
      return null;
    }

    const position = mapPosition(frame, toPath(rawFile), line, column, formatter);
    const fn = frame.getFunctionName();
    const callsite: Callsite | null = isLibraryFile(position.file)
      ? null
      : Object.freeze({
          file: relative(this.#root, position.file).split(sep).join('/'),
          line: position.line,
          column: position.column,
          ...(fn ? { function: fn } : {}),
        });
    this.#remember(key, callsite);
    return callsite;
  }

  #remember(key: string, callsite: Callsite | null): void {
    if (this.#memo.size >= MEMO_MAX) this.#memo.clear();
    this.#memo.set(key, callsite);
  }
}

function isLibraryFile(file: string): boolean {
  const path = toPath(file);
  if (path.startsWith(OWN_CLI_DIR)) return false;
  if (file.startsWith('node:') || file.startsWith('internal/') || file.includes('/node_modules/') || file.includes('\\node_modules\\')) {
    return true;
  }
  if (!file.includes('/') && !file.includes('\\')) return true; // 'native', '<anonymous>', evalmachine
  return OWN_DIRS.some((dir) => path.startsWith(dir));
}

function toPath(file: string): string {
  if (file.startsWith('file://')) {
    try {
      return fileURLToPath(file);
    } catch {
      return file;
    }
  }
  return file;
}

interface Position {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * Maps a generated position to the source the developer wrote. A formatter installed by the
 * process (vitest, source-map-support) already knows the maps, so it formats just this one frame;
 * otherwise Node's source-map support answers when enabled; otherwise the raw position stands.
 */
function mapPosition(frame: NodeJS.CallSite, file: string, line: number, column: number, formatter: typeof Error.prepareStackTrace): Position {
  if (typeof formatter === 'function') {
    try {
      const text = String(formatter(BLANK_ERROR, [frame]));
      const lastLine = text.slice(text.lastIndexOf('\n') + 1);
      const m = FRAME_POSITION.exec(lastLine);
      if (m !== null) return { file: toPath(m[1]!), line: Number(m[2]), column: Number(m[3]) };
    } catch {
      // A formatter that cannot handle a lone frame: fall through to the raw position.
    }
  }
  if (process.sourceMapsEnabled) {
    const entry = findSourceMap(file)?.findEntry(line - 1, column - 1);
    if (entry !== undefined && 'originalSource' in entry) {
      const source = toPath(entry.originalSource);
      return {
        file: isAbsolute(source) ? source : resolvePath(dirname(file), source),
        line: entry.originalLine + 1,
        column: entry.originalColumn + 1,
      };
    }
  }
  return { file, line, column };
}

/** A capture: raw V8 frames in `stack` until the first `resolve()`. */
export class RawCallsite implements CallsiteCapture {
  declare stack: unknown;
  readonly #decoder: CallsiteDecoder;
  #resolved: Callsite | null | undefined;

  constructor(decoder: CallsiteDecoder) {
    this.#decoder = decoder;
  }

  resolve(): Callsite | undefined {
    if (this.#resolved === undefined) {
      this.#resolved = this.#decoder.decode(this) ?? null;
      // The structured frames keep the functions (and receivers) of every frame alive; drop them.
      this.stack = undefined;
    }
    return this.#resolved ?? undefined;
  }
}

/**
 * Captures a call site at an entry point, or returns undefined when the policy skips it.
 * `inUnit`: the query runs inside a unit of work or an adapter operation. `entry`: the querylens
 * function the application called; it and every frame above it are left out (it must be on the stack).
 */
export type CallsiteCapturer = (inUnit: boolean, entry: (...args: never[]) => unknown, text?: string) => CallsiteCapture | undefined;

/**
 * `sampled`, outside units of work: the first captures of each statement text, then one in
 * `OUTSIDE_SPARSENESS` times the sampling interval. Only statistics and span attributes use those
 * call sites, and a text's first few executions show them; a capture costs ~2–8 µs of CPU.
 */
export const OUTSIDE_CAPTURES_PER_TEXT = 4;
export const OUTSIDE_SPARSENESS = 10;
/** Texts counted for that; the counts start over past this. */
export const MAX_OUTSIDE_TEXTS = 5000;

export interface CallsiteCapturerOptions {
  readonly root: string;
  readonly depth: number;
  readonly sampleRate: number;
}

/** The capture function for a policy, chosen once: a disabled policy costs one call returning undefined. */
export function createCallsiteCapturer(policy: CallsitePolicy, options: CallsiteCapturerOptions): CallsiteCapturer {
  const decoder = new CallsiteDecoder(options.root);
  const depth = options.depth;
  const capture = (entry: (...args: never[]) => unknown): CallsiteCapture => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = depth;
    const raw = new RawCallsite(decoder);
    Error.captureStackTrace(raw, entry);
    Error.stackTraceLimit = limit;
    return raw;
  };
  switch (policy) {
    case 'always':
      return (_inUnit, entry) => capture(entry);
    case 'on-demand':
      return (inUnit, entry) => (inUnit ? capture(entry) : undefined);
    case 'sampled': {
      const every = Math.max(1, Math.round(1 / options.sampleRate));
      let countdown = 1; // the first query of the process is sampled: short-lived scripts get one too
      // Inside units of work, where N+1 findings need them, one query in `every`.
      const outsideEvery = every * OUTSIDE_SPARSENESS;
      let outsideCountdown = outsideEvery;
      const outside = new Map<string, number>();
      return (inUnit, entry, text) => {
        if (!inUnit && text !== undefined) {
          const seen = outside.get(text);
          if (seen === undefined || seen < OUTSIDE_CAPTURES_PER_TEXT) {
            if (seen === undefined && outside.size >= MAX_OUTSIDE_TEXTS) outside.clear();
            outside.set(text, (seen ?? 0) + 1);
            return capture(entry);
          }
          if (--outsideCountdown > 0) return undefined;
          outsideCountdown = outsideEvery;
          return capture(entry);
        }
        if (--countdown > 0) return undefined;
        countdown = every;
        return capture(entry);
      };
    }
    case 'off':
      return () => undefined;
  }
}
