/**
 * Operation frames let ORM adapters say what the queries underneath are (`prisma`, `Post`,
 * `findMany`, relation `comments`) and where the application asked for them. The call site is
 * captured here, at the ORM entry, because by the time the ORM reaches pg the application's frame
 * is often behind an async boundary. Queries inside use this call site instead of capturing their own.
 */
import type { CallsiteCapture, OperationFrame, OperationInfo } from '../core/query-event.js';
import type { CallsiteCapturer } from './callsite-capture.js';
import { currentFrame, deriveFrame, runInFrame } from './context-frame.js';

const OPERATION_KEYS = ['orm', 'model', 'operation', 'relation'] as const;

/**
 * `deferred`: a call site captured earlier, where the application created a lazy query builder it
 * awaits later (when its frame is no longer on the stack); used instead of capturing one now.
 */
export function runOperation<R>(info: OperationInfo, fn: () => R, capture: CallsiteCapturer, deferred?: { readonly callsite: CallsiteCapture | undefined }): R {
  const parent = currentFrame();
  const frame: { -readonly [K in keyof OperationFrame]: OperationFrame[K] } = {
    callsite: parent?.ignored === true ? undefined : deferred !== undefined ? deferred.callsite : capture(true, runOperation),
    parent: parent?.operation,
  };
  // Copy only the known string fields: adapters may pass richer objects we must not retain.
  for (const key of OPERATION_KEYS) {
    const value = info[key];
    if (typeof value === 'string') frame[key] = value;
  }
  return runInFrame(deriveFrame(parent, { operation: frame }), fn);
}
