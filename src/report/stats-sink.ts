/**
 * Per-fingerprint statistics for `lens.stats()`, in bounded memory: at most `maxFingerprints`
 * entries, evicted approximately least-recently-used (CLOCK: a hit only sets a flag, so the common
 * case costs one Map lookup; eviction gives flagged entries a second chance), and per fingerprint a
 * uniform reservoir of durations (Vitter's algorithm R) from which p50/p95 are computed only when
 * asked. Call sites are the first distinct ones seen, decoded while the
 * fingerprint is young (a bounded number of attempts), so steady-state queries never decode.
 */
import type { ResolvedStatsOptions } from '../core/lens-options.js';
import type { Callsite, LensEvent, QueryEndEvent } from '../core/query-event.js';
import type { QuerySink } from '../core/query-pipeline.js';
import { sanitize } from '../sql/index.js';

/** One fingerprint's statistics, as `lens.stats()` returns them. */
export interface FingerprintStats {
  readonly fingerprint: string;
  /** `db.query.summary` (`SELECT posts`). */
  readonly summary: string;
  /** The first text seen with this fingerprint, sanitized if it had literals. */
  readonly sql: string;
  readonly count: number;
  readonly errors: number;
  /** Rows returned or affected, summed. */
  readonly rows: number;
  readonly totalMs: number;
  readonly meanMs: number;
  /** From the reservoir: exact below `reservoirSize` executions, an unbiased sample above. */
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  /** The first distinct call sites seen (up to `callsitesPerFingerprint`). */
  readonly callsites: readonly Callsite[];
}

/** Stored text is cut to this length: it is an example, not a log. */
const MAX_TEXT = 2000;
/** Decode attempts per wanted call site (most queries in a fingerprint share one). */
const DECODE_ATTEMPTS_PER_CALLSITE = 4;

class Entry {
  count = 0;
  errors = 0;
  rows = 0;
  totalMs = 0;
  maxMs = 0;
  readonly reservoir: number[] = [];
  readonly callsites: Callsite[] = [];
  decodeAttempts = 0;
  /** Used since the eviction hand last passed it. */
  recent = false;
  readonly summary: string;
  readonly text: string;
  readonly hasLiterals: boolean;

  constructor(event: QueryEndEvent) {
    this.summary = event.sql.summary;
    this.text = event.text.length > MAX_TEXT ? event.text.slice(0, MAX_TEXT) : event.text;
    this.hasLiterals = event.sql.hasLiterals;
  }
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export class StatsSink implements QuerySink {
  readonly name = 'stats';
  readonly accepts = ['query-end'] as const;
  readonly #options: ResolvedStatsOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(options: ResolvedStatsOptions) {
    this.#options = options;
  }

  handle(event: LensEvent): void {
    if (event.type !== 'query-end') return;
    const fp = event.sql.fingerprint;
    const entries = this.#entries;
    let entry = entries.get(fp);
    if (entry === undefined) {
      if (entries.size >= this.#options.maxFingerprints) this.#evictOne();
      entry = new Entry(event);
      entries.set(fp, entry);
    } else {
      entry.recent = true;
    }

    const ms = event.durationMs;
    entry.count++;
    entry.totalMs += ms;
    if (ms > entry.maxMs) entry.maxMs = ms;
    if (event.error !== undefined) entry.errors++;
    else if (event.rowCount !== undefined) entry.rows += event.rowCount;

    const reservoir = entry.reservoir;
    const size = this.#options.reservoirSize;
    if (reservoir.length < size) reservoir.push(ms);
    else {
      const j = Math.floor(Math.random() * entry.count);
      if (j < size) reservoir[j] = ms;
    }

    const wanted = this.#options.callsitesPerFingerprint;
    if (event.callsite !== undefined && entry.callsites.length < wanted && entry.decodeAttempts < wanted * DECODE_ATTEMPTS_PER_CALLSITE) {
      entry.decodeAttempts++;
      const cs = event.callsite.resolve();
      if (cs !== undefined && !entry.callsites.some((c) => c.file === cs.file && c.line === cs.line && c.column === cs.column)) {
        entry.callsites.push(cs);
      }
    }
  }

  /** Removes the oldest entry not used since the last pass; used ones move to the back, unflagged. */
  #evictOne(): void {
    const entries = this.#entries;
    for (const [fp, e] of entries) {
      entries.delete(fp);
      if (!e.recent) return;
      e.recent = false;
      entries.set(fp, e);
    }
  }

  /** Fingerprints by total time, highest first. */
  snapshot(): FingerprintStats[] {
    const out: FingerprintStats[] = [];
    for (const [fingerprint, e] of this.#entries) {
      const sorted = [...e.reservoir].sort((a, b) => a - b);
      out.push({
        fingerprint,
        summary: e.summary,
        sql: e.hasLiterals ? sanitize(e.text) : e.text,
        count: e.count,
        errors: e.errors,
        rows: e.rows,
        totalMs: e.totalMs,
        meanMs: e.count === 0 ? 0 : e.totalMs / e.count,
        p50Ms: percentile(sorted, 0.5),
        p95Ms: percentile(sorted, 0.95),
        maxMs: e.maxMs,
        callsites: [...e.callsites],
      });
    }
    return out.sort((a, b) => b.totalMs - a.totalMs);
  }

  /** Forgets everything (tests, or a periodic reset by the application). */
  reset(): void {
    this.#entries.clear();
  }
}
