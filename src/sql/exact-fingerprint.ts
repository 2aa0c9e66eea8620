/**
 * Optional exact mode (`fingerprint: 'pg_query'`): fingerprints from libpg_query itself, through the
 * `libpg-query` package when the application has it installed. querylens's own fingerprint groups
 * the same way on DML (see the conformance tests) at a fraction of the cost; this mode is for teams
 * that must match fingerprints computed elsewhere by libpg_query (pganalyze, pg_query in Ruby/Go).
 *
 * The package's WebAssembly module loads asynchronously; until it is ready, and for texts it cannot
 * parse, the analyser falls back to querylens's fingerprint and does not memoise the result.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { QuerylensError } from '../core/errors.js';

export interface ExactFingerprinter {
  /** Settles when the parser is loaded (rejects only if loading failed; queries keep working meanwhile). */
  readonly ready: Promise<void>;
  /** libpg_query's fingerprint, or undefined while loading or when the text does not parse. */
  fingerprint(sql: string): string | undefined;
}

interface LibpgQueryModule {
  loadModule?: () => Promise<void>;
  fingerprintSync?: (sql: string) => string;
}

export const EXACT_PACKAGE = 'libpg-query';

function load(pkg: string): LibpgQueryModule {
  // The application's own dependencies first, then querylens's.
  const places = [join(process.cwd(), 'package.json'), import.meta.url];
  let lastError: unknown;
  for (const from of places) {
    try {
      return createRequire(from)(pkg) as LibpgQueryModule;
    } catch (err) {
      lastError = err;
    }
  }
  throw new QuerylensError(
    'QUERYLENS_MISSING_PACKAGE',
    `fingerprint: 'pg_query' uses the optional package "${pkg}" (version 18 or later), which could not be loaded: ` +
      `install it with \`npm install ${pkg}\`, or remove the option to use querylens's built-in fingerprint`,
    { cause: lastError },
  );
}

/** `pkg` is for tests (a name that is not installed); applications use the default. */
export function createExactFingerprinter(pkg: string = EXACT_PACKAGE): ExactFingerprinter {
  const mod = load(pkg);
  if (typeof mod.fingerprintSync !== 'function' || typeof mod.loadModule !== 'function') {
    throw new QuerylensError(
      'QUERYLENS_MISSING_PACKAGE',
      `fingerprint: 'pg_query' needs "${EXACT_PACKAGE}" 18 or later (the installed version has no fingerprintSync/loadModule): run \`npm install ${EXACT_PACKAGE}@latest\``,
    );
  }
  const fingerprintSync = mod.fingerprintSync;
  let loaded = false;
  const ready = mod.loadModule().then(() => {
    loaded = true;
  });
  // A load failure is reported through `ready`; it must not become an unhandled rejection.
  ready.catch(() => undefined);
  return {
    ready,
    fingerprint(sql: string): string | undefined {
      if (!loaded) return undefined;
      try {
        return fingerprintSync(sql);
      } catch {
        return undefined;
      }
    },
  };
}
