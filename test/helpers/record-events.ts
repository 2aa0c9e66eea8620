/**
 * A sink that keeps every event it sees, and a listener that keeps every finding, for assertions. Uses only the package entry, as users do.
 */
import type { Finding, Lens, LensEvent, QueryEndEvent, QueryStartEvent, ScopeEndEvent } from 'querylens';

export interface EventLog {
  readonly events: LensEvent[];
  starts(): QueryStartEvent[];
  ends(): QueryEndEvent[];
  scopeEnds(): ScopeEndEvent[];
  clear(): void;
  stop(): void;
}

export function recordEvents(lens: Lens, accepts: readonly LensEvent['type'][] = ['query-start', 'query-end', 'scope-start', 'scope-end']): EventLog {
  const events: LensEvent[] = [];
  const stop = lens.addSink({ name: 'test-event-log', accepts, handle: (e) => void events.push(e) });
  return {
    events,
    starts: () => events.filter((e): e is QueryStartEvent => e.type === 'query-start'),
    ends: () => events.filter((e): e is QueryEndEvent => e.type === 'query-end'),
    scopeEnds: () => events.filter((e): e is ScopeEndEvent => e.type === 'scope-end'),
    clear: () => void (events.length = 0),
    stop,
  };
}

/** Every finding the lens reports, in order. */
export function collectFindings(lens: Lens): Finding[] {
  const findings: Finding[] = [];
  lens.on('finding', (f) => void findings.push(f));
  return findings;
}
