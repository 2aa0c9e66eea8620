/**
 * What the telemetry tests observe through: an OpenTelemetry SDK with an in-memory span exporter,
 * a meter provider whose reader collects on demand, an async-hooks context manager, and a logger
 * that keeps every record. Providers are handed to the lens explicitly (no global state) unless a
 * test is about the global ones.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { LoggerLike } from 'querylens';

/** Collects only when asked (never exports on a timer). */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface Otel {
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  spans(): ReadableSpan[];
  metrics(): Promise<MetricData[]>;
}

export function createOtel(): Otel {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    spans: () => exporter.getFinishedSpans(),
    metrics: async () => {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    },
  };
}

/** Registers an async-hooks context manager (parenting needs one); returns its removal. */
export function useContextManager(): () => void {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  return () => {
    context.disable();
    manager.disable();
  };
}

export function metric(all: readonly MetricData[], name: string): MetricData | undefined {
  return all.find((m) => m.descriptor.name === name);
}

export function histogramPoints(all: readonly MetricData[], name: string): DataPoint<Histogram>[] {
  return (metric(all, name)?.dataPoints ?? []) as DataPoint<Histogram>[];
}

export interface LogRecord {
  readonly level: 'warn' | 'info' | 'debug' | 'error';
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

/** A LoggerLike that keeps every record (all levels enabled). */
export function captureLogger(): LoggerLike & { readonly records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at = (level: LogRecord['level']) => (obj: object, msg?: string) => void records.push({ level, obj: obj as Record<string, unknown>, msg });
  return { records, warn: at('warn'), info: at('info'), debug: at('debug'), error: at('error'), isLevelEnabled: () => true };
}

/** Every string anywhere in a value (attributes, events, records), for "no parameter value leaks" checks. */
export function allStrings(value: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' || typeof value === 'bigint') out.push(String(value));
  else if (value !== null && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      allStrings(v, out, seen);
    }
  }
  return out;
}

/** Polls until `check` returns a value (or fails after `ms`). */
export async function eventually<T>(check: () => T | undefined, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
