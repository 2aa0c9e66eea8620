/**
 * The OpenTelemetry gate reads the API's global registry directly (one property read per query
 * instead of API calls). These tests tie it to the real @opentelemetry/api: if the API ever kept
 * its globals elsewhere, spans and metrics would silently stop, and this fails first.
 */
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context, metrics, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { otelContextRegistered, otelMetricsRegistered, otelTracingRegistered } from '../../../src/core/otel-globals.js';

afterEach(() => {
  trace.disable();
  metrics.disable();
  context.disable();
});

describe('OpenTelemetry globals gate', () => {
  it('sees nothing registered before an SDK registers its globals', () => {
    expect(otelTracingRegistered()).toBe(false);
    expect(otelMetricsRegistered()).toBe(false);
    expect(otelContextRegistered()).toBe(false);
  });

  it('sees each global the API registers, independently, and its removal', () => {
    expect(trace.setGlobalTracerProvider(new BasicTracerProvider())).toBe(true);
    expect([otelTracingRegistered(), otelMetricsRegistered(), otelContextRegistered()]).toEqual([true, false, false]);
    expect(metrics.setGlobalMeterProvider(new MeterProvider())).toBe(true);
    expect(otelMetricsRegistered()).toBe(true);
    expect(context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())).toBe(true);
    expect(otelContextRegistered()).toBe(true);
    trace.disable();
    metrics.disable();
    context.disable();
    expect([otelTracingRegistered(), otelMetricsRegistered(), otelContextRegistered()]).toEqual([false, false, false]);
  });
});
