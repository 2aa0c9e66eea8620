/**
 * The one logger every querylens sink writes through (finding warnings, the slow-query log, sink
 * diagnostics). The lens creates it once, at construction, from the `logger` option:
 *
 * - `logger: false` → no logger at all (`undefined`); sinks that would log do nothing, at no cost.
 * - `logger: yourLogger` → used as is. Anything with pino's `warn/info/debug/error(obj, msg)` shape
 *   works (pino, a pino child, bunyan-like wrappers); `isLevelEnabled` is used when present.
 * - not set → a pino logger named `querylens`, chosen by mode:
 *   - `production`: JSON lines to stdout at level `info` (findings and slow queries are `warn`).
 *   - `development`: human-readable lines to stderr at level `info` — through `pino-pretty` when the
 *     application has it installed, else through a compact built-in formatter. pino-pretty is never a
 *     dependency: it is looked up with `createRequire` and silently skipped when absent.
 *   - `test`: the same human-readable stderr output, at level `warn` (a failing test already
 *     carries the findings in its `NPlusOneError`; only warnings such as slow queries are printed).
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { LensMode, LoggerLike } from '../core/lens-options.js';

/**
 * The logger shape querylens writes to: pino's object-first methods
 * (`warn/info/debug/error(obj, msg?)`, optional `isLevelEnabled(level)`). Declared in core (the
 * `logger` option names it) and re-exported here for the sinks.
 */
export type { LoggerLike } from '../core/lens-options.js';

/** Default levels of the built-in logger, per mode. */
export const DEFAULT_LOG_LEVEL: Readonly<Record<LensMode, 'info' | 'warn'>> = {
  development: 'info',
  test: 'warn',
  production: 'info',
};

/** Where a built-in human-readable logger writes (tests inject one; default process.stderr). */
export interface LineSink {
  write(chunk: string): unknown;
}

export interface CreateLensLoggerOptions {
  /** Output of the built-in logger (default: stdout in production, stderr otherwise). */
  readonly destination?: LineSink;
  /** Use pino-pretty when installed (default true); false forces the compact built-in format. */
  readonly pretty?: boolean;
}

/** True when `value` has the LoggerLike methods (used by option validation). */
export function isLoggerLike(value: unknown): value is LoggerLike {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const v = value as Record<string, unknown>;
  return typeof v['warn'] === 'function' && typeof v['info'] === 'function' && typeof v['debug'] === 'function' && typeof v['error'] === 'function';
}

/**
 * The lens's logger: undefined when `logger === false`, the user's logger as is, else a pino logger
 * configured for `mode` (see the file comment).
 */
export function createLensLogger(mode: LensMode, logger: LoggerLike | false | undefined, options: CreateLensLoggerOptions = {}): LoggerLike | undefined {
  if (logger === false) return undefined;
  if (logger !== undefined) return logger;
  const level = DEFAULT_LOG_LEVEL[mode];
  // Built on first use: a lens that never logs never opens a stream or loads pino-pretty.
  return new LazyLogger(level, () => buildPino(mode, level, options));
}

function buildPino(mode: LensMode, level: string, options: CreateLensLoggerOptions): pino.Logger {
  if (mode === 'production') {
    return options.destination === undefined ? pino({ name: 'querylens', level }) : pino({ name: 'querylens', level }, options.destination);
  }
  const destination = options.destination ?? process.stderr;
  const colors = options.destination === undefined && process.stderr.isTTY === true && process.env['NO_COLOR'] === undefined;
  const pretty = options.pretty === false ? undefined : loadPinoPretty();
  if (pretty !== undefined) {
    const stream = pretty({
      destination: asStream(destination),
      colorize: colors,
      sync: true,
      ignore: 'pid,hostname,name,querylens',
      translateTime: 'HH:MM:ss.l',
      messageFormat: 'querylens: {msg}',
    });
    return pino({ name: 'querylens', level }, stream);
  }
  return pino({ name: 'querylens', level }, compactStream(destination, colors));
}

const LEVEL_VALUES: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** The built-in logger, created on the first record. `isLevelEnabled` answers without creating it. */
class LazyLogger implements LoggerLike {
  readonly #threshold: number;
  readonly #build: () => pino.Logger;
  #logger: pino.Logger | undefined;

  constructor(level: string, build: () => pino.Logger) {
    this.#threshold = LEVEL_VALUES[level] ?? 30;
    this.#build = build;
  }

  #get(): pino.Logger {
    this.#logger ??= this.#build();
    return this.#logger;
  }

  isLevelEnabled(level: string): boolean {
    return (LEVEL_VALUES[level] ?? 0) >= this.#threshold;
  }

  warn(obj: object, msg?: string): void {
    if (this.#threshold <= 40) this.#get().warn(obj, msg);
  }

  info(obj: object, msg?: string): void {
    if (this.#threshold <= 30) this.#get().info(obj, msg);
  }

  debug(obj: object, msg?: string): void {
    if (this.#threshold <= 20) this.#get().debug(obj, msg);
  }

  error(obj: object, msg?: string): void {
    if (this.#threshold <= 50) this.#get().error(obj, msg);
  }
}

/** pino-pretty writes to streams; a bare `{ write }` sink is wrapped in one. */
function asStream(destination: LineSink): LineSink {
  if (typeof (destination as { on?: unknown }).on === 'function') return destination;
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      destination.write(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      done();
    },
  });
}

type PrettyFactory = (options: Record<string, unknown>) => pino.DestinationStream;
let prettyCache: PrettyFactory | null | undefined;

/** pino-pretty's factory when the application has it installed; undefined otherwise. */
export function loadPinoPretty(): PrettyFactory | undefined {
  if (prettyCache === undefined) {
    try {
      const required = createRequire(import.meta.url)('pino-pretty') as PrettyFactory | { default?: PrettyFactory; build?: PrettyFactory };
      const factory = typeof required === 'function' ? required : (required.default ?? required.build);
      prettyCache = typeof factory === 'function' ? factory : null;
    } catch {
      prettyCache = null;
    }
  }
  return prettyCache ?? undefined;
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Readonly<Record<number, string>> = { 20: '\u001b[34m', 30: '\u001b[32m', 40: '\u001b[33m', 50: '\u001b[31m', 60: '\u001b[35m' };
/** Record fields the compact format never prints (pino's bookkeeping and our tag). */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'querylens']);

/**
 * The built-in human-readable format for one pino JSON line:
 *
 * ```
 * 12:04:31.207 WARN querylens: N+1: SELECT comments ran 10 times …
 *     duration_ms: 12.4
 * ```
 * The message keeps its own line breaks (lines without indentation get four spaces); other
 * fields follow, one per line.
 */
export function formatCompactLine(line: string, colors = false): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = typeof record['level'] === 'number' ? record['level'] : 30;
  const time = typeof record['time'] === 'number' ? new Date(record['time']).toISOString().slice(11, 23) : '';
  let label = LEVEL_NAMES[level] ?? String(level);
  if (colors) label = `${LEVEL_COLORS[level] ?? ''}${label}\u001b[0m`;
  const msg = typeof record['msg'] === 'string' ? record['msg'] : '';
  // Continuation lines keep their own indentation; unindented ones are indented under the first.
  let out = `${time} ${label} querylens: ${msg.replace(/\n(?![ \t])/g, '\n    ')}\n`;
  for (const key of Object.keys(record)) {
    if (HIDDEN.has(key)) continue;
    const value = record[key];
    out += `    ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}\n`;
  }
  return out;
}

function compactStream(destination: LineSink, colors: boolean): pino.DestinationStream {
  return {
    write(chunk: string): void {
      // pino writes one record per call, newline-terminated.
      destination.write(formatCompactLine(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk, colors));
    },
  };
}
