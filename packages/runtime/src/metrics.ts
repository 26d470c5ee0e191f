// Prometheus metrics: RED histograms per route plus process metrics, on a registry per service.
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface HttpMetrics {
  readonly registry: Registry;
  readonly duration: Histogram<'method' | 'route' | 'status_code'>;
  readonly requests: Counter<'method' | 'route' | 'status_code'>;
}

export function createMetrics(tier: string, version: string): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ tier, version });
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status_code'] as const;
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request received to response sent, per route.',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'Requests answered, per route and status code.',
    labelNames,
    registers: [registry],
  });
  return { registry, duration, requests };
}
