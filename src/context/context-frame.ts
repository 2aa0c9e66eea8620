/**
 * The async context querylens reads at every `query()` call: the current unit of work, the
 * innermost adapter operation, and whether analysis is suspended (`lens.ignore`). One
 * process-wide AsyncLocalStorage holds an immutable frame; entering a scope or operation runs the
 * continuation with a new frame, so nesting unwinds by itself and concurrent units never share
 * state. pg invokes callbacks from its socket handlers (in whichever context opened the socket),
 * so callbacks are re-entered into the frame captured at call time with `callInFrame`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { OperationFrame, ScopeInfo } from '../core/query-event.js';

export interface ContextFrame {
  readonly scope: ScopeInfo | undefined;
  readonly operation: OperationFrame | undefined;
  /** Inside `lens.ignore()`: queries are observed but not analysed, and no call site is captured. */
  readonly ignored: boolean;
}

const storage = new AsyncLocalStorage<ContextFrame | undefined>();

/** The frame of the calling async context (undefined outside any scope/operation/ignore). */
export function currentFrame(): ContextFrame | undefined {
  return storage.getStore();
}

/** Runs `fn` with `frame` as the current frame (undefined clears it). */
export function runInFrame<R>(frame: ContextFrame | undefined, fn: () => R): R {
  return storage.run(frame, fn);
}

/**
 * Calls `fn` with `thisArg` and `args` inside `frame`: used to bind pg callbacks to their caller's
 * context. When the current frame already is `frame` (always the case while no scope was ever
 * entered, as the storage is then disabled) it is a plain call: entering a frame costs an async
 * context switch.
 */
export function callInFrame(frame: ContextFrame | undefined, fn: (...args: never[]) => unknown, thisArg: unknown, args: ArrayLike<unknown>): unknown {
  if (storage.getStore() === frame) return Reflect.apply(fn, thisArg, args);
  return storage.run(frame, Reflect.apply, fn, thisArg, args);
}

/** A frame that differs from `base` in the given fields. */
export function deriveFrame(base: ContextFrame | undefined, change: Partial<ContextFrame>): ContextFrame {
  return {
    scope: 'scope' in change ? change.scope : base?.scope,
    operation: 'operation' in change ? change.operation : base?.operation,
    ignored: change.ignored ?? base?.ignored ?? false,
  };
}
