/**
 * Capture at call time. Whatever the entry point (`client.query`, or `pool.query` which reaches
 * `client.query` only after a connection is free), the unit of work, operation, call site and
 * start time are read synchronously when the application calls, never inside pg's callbacks:
 * pg-pool hands a queued connection out from whichever request released one, so by then the
 * async context belongs to someone else.
 *
 * `pool.query` cannot pass what it captured to the `client.query` it will make, so it travels in
 * two module slots, each set only for the duration of a synchronous call into pg-pool:
 * `pool.query` → `this.connect(cb)` (pending), and pg-pool's connect callback → `client.query`
 * (handoff). The handoff is matched by the query config's identity, so nothing else can pick it up.
 */
import type { CallsiteCapture, ScopeInfo } from '../core/query-event.js';
import type { ContextFrame } from '../context/context-frame.js';
import { currentFrame } from '../context/context-frame.js';
import type { Recorder } from './recorder.js';

export interface QueryEntry {
  /** The first argument the application passed (pg-pool forwards it as is). */
  readonly config: unknown;
  readonly frame: ContextFrame | undefined;
  readonly scope: ScopeInfo | undefined;
  readonly callsite: CallsiteCapture | undefined;
  readonly startTime: number;
  /**
   * `pool.query` was given a callback: pg-pool's internal callbacks lead to the application's, so
   * they are re-entered into its context. With the promise form they only settle a promise (whose
   * continuations keep their own context), and re-entering would be wasted work.
   */
  readonly callbackForm: boolean;
  /** The OpenTelemetry context at the call (see QueryEventBase.callContext). */
  readonly callContext: unknown;
}

/** The unit of work running now: the lens scope or request, else the OpenTelemetry trace's. */
export function currentScope(recorder: Recorder, now: number): ScopeInfo | undefined {
  return currentFrame()?.scope ?? recorder.traceScope?.(now);
}

/** Reads the context and captures the call site for a query entering at `entryFn`. */
export function captureEntry(recorder: Recorder, config: unknown, entryFn: (...args: never[]) => unknown, callbackForm: boolean): QueryEntry {
  const frame = currentFrame();
  let startTime = performance.now();
  const scope = frame?.scope ?? recorder.traceScope?.(startTime);
  let callsite: CallsiteCapture | undefined;
  if (frame === undefined || !frame.ignored) {
    const operation = frame?.operation;
    callsite =
      operation?.callsite ??
      recorder.captureCallsite(scope !== undefined || operation !== undefined, entryFn, typeof config === 'string' ? config : undefined);
    // The capture is our cost, not the query's: start the clock after it.
    if (callsite !== undefined && operation?.callsite === undefined) startTime = performance.now();
  }
  const callContext = recorder.captureContext === undefined ? undefined : recorder.captureContext();
  return { config, frame, scope, callsite, startTime, callbackForm, callContext };
}

let pending: QueryEntry | undefined;
let handoff: QueryEntry | undefined;

/**
 * `pool.query` sets the entry pending for the `connect` pg-pool makes synchronously, and restores
 * the previous value (returned) in a `finally`.
 */
export function swapPending(entry: QueryEntry | undefined): QueryEntry | undefined {
  const outer = pending;
  pending = entry;
  return outer;
}

/** `pool.connect`: takes the entry of the `pool.query` that is calling it, if any. */
export function takePending(): QueryEntry | undefined {
  const entry = pending;
  pending = undefined;
  return entry;
}

/** The connect callback hands the entry to the `client.query` pg-pool makes inside it (restore in a `finally`). */
export function swapHandoff(entry: QueryEntry | undefined): QueryEntry | undefined {
  const outer = handoff;
  handoff = entry;
  return outer;
}

/** `client.query`: the pool entry for this exact config, if pg-pool is calling on its behalf. */
export function takeHandoff(config: unknown): QueryEntry | undefined {
  const entry = handoff;
  if (entry === undefined || entry.config !== config) return undefined;
  handoff = undefined;
  return entry;
}
