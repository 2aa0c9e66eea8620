/**
 * A unit of work: one `lens.scope()` call, one HTTP request, or one OpenTelemetry trace. Events
 * carry a reference to it, so its name may be settled late: a request is only named
 * `GET /posts/:id` once the router has matched, which is after its first queries ran.
 */
import type { Finding } from '../core/finding.js';
import type { ScopeInfo, ScopeKind } from '../core/query-event.js';

/** Findings kept per scope; more are counted in `droppedFindings`. */
export const MAX_FINDINGS_PER_SCOPE = 100;

let lastId = 0;

/** Lazily resolved name: returns undefined until it can tell (the route is not matched yet). */
export type ScopeNamer = () => string | undefined;

export class Scope implements ScopeInfo {
  readonly id: string;
  readonly kind: ScopeKind;
  readonly parent: ScopeInfo | undefined;
  readonly startTime: number;
  #name: string | undefined;
  #namer: ScopeNamer | undefined;
  readonly #fallbackName: string;
  readonly #findings: Finding[] = [];
  #dropped = 0;
  #ended = false;

  /**
   * @param name a fixed name, or a namer consulted on each read until it answers
   * @param fallbackName used while (or if ever) the namer has no answer
   */
  constructor(kind: ScopeKind, name: string | ScopeNamer, parent: ScopeInfo | undefined, startTime: number, options: { id?: string; fallbackName?: string } = {}) {
    this.id = options.id ?? String(++lastId);
    this.kind = kind;
    this.parent = parent;
    this.startTime = startTime;
    if (typeof name === 'string') this.#name = name;
    else this.#namer = name;
    this.#fallbackName = options.fallbackName ?? '';
  }

  get name(): string {
    if (this.#name !== undefined) return this.#name;
    const resolved = this.#namer?.();
    if (resolved === undefined) return this.#fallbackName;
    this.#name = resolved;
    this.#namer = undefined;
    return resolved;
  }

  get findings(): readonly Finding[] {
    return this.#findings;
  }

  /** Findings that did not fit under MAX_FINDINGS_PER_SCOPE. */
  get droppedFindings(): number {
    return this.#dropped;
  }

  addFinding(finding: Finding): void {
    if (this.#findings.length < MAX_FINDINGS_PER_SCOPE) this.#findings.push(finding);
    else this.#dropped++;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Marks the scope ended; false if it already was (a request can both 'finish' and 'close'). */
  end(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    // A namer holds the request object; settle the name now so the request can be collected.
    if (this.#namer !== undefined) this.#name = this.name;
    this.#namer = undefined;
    return true;
  }
}
