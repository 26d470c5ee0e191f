// tier metrics for the local environment: request rate, error rate and p50/p99 latency per tier
// over a window, from Prometheus (the apps' http_* series and HAProxy's own exporter for the
// balancers' series are in Prometheus too), plus the request-rate series for the terminal chart.
import type { TierMetrics } from '../backend.js';
import { TierError } from '../backend.js';
import type { OpsEnv } from './ops-env.js';

interface PromResult {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

const POINTS = 30;

async function query(env: OpsEnv, path: string, params: Record<string, string>): Promise<PromResult[]> {
  const url = `${env.prometheusUrl}/api/v1/${path}?${new URLSearchParams(params)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) }).catch((err: Error) => {
    throw new TierError(
      `Prometheus does not answer at ${env.prometheusUrl}: ${err.message}`,
      'start it with `tier up`',
    );
  });
  const body = (await res.json().catch(() => ({}))) as {
    status?: string;
    error?: string;
    data?: { result?: PromResult[] };
  };
  if (!res.ok || body.status !== 'success') {
    throw new TierError(`Prometheus query failed: ${body.error ?? res.status}`, 'check `tier status` (prometheus)');
  }
  return body.data?.result ?? [];
}

const num = (v: string | undefined) => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

/** PromQL per app tier (every series carries a `tier` label, docs/conventions.md). */
export function queries(w: string): Record<'rate' | 'errors' | 'p50' | 'p99', string> {
  return {
    rate: `sum by (tier) (rate(http_requests_total[${w}]))`,
    errors: `sum by (tier) (rate(http_requests_total{status_code=~"5.."}[${w}]))`,
    p50: `histogram_quantile(0.5, sum by (tier, le) (rate(http_request_duration_seconds_bucket[${w}])))`,
    p99: `histogram_quantile(0.99, sum by (tier, le) (rate(http_request_duration_seconds_bucket[${w}])))`,
  };
}

export async function metrics(env: OpsEnv, opts: { windowSeconds: number }): Promise<TierMetrics[]> {
  const w = `${opts.windowSeconds}s`;
  const q = queries(w);
  const instant = (k: keyof typeof q) => query(env, 'query', { query: q[k] });
  const [rate, errors, p50, p99] = await Promise.all([
    instant('rate'),
    instant('errors'),
    instant('p50'),
    instant('p99'),
  ]);
  const end = Math.floor(Date.now() / 1000);
  const step = Math.max(5, Math.floor(opts.windowSeconds / POINTS));
  // The chart: per-step request rate (rate over one step, at least 2 scrapes) across the window.
  const series = await query(env, 'query_range', {
    query: `sum by (tier) (rate(http_requests_total[${Math.max(step, 15)}s]))`,
    start: String(end - opts.windowSeconds),
    end: String(end),
    step: String(step),
  });
  const by = (list: PromResult[], tier: string) => num(list.find((r) => r.metric.tier === tier)?.value?.[1]);
  const tiers = [...new Set([...rate, ...series].map((r) => r.metric.tier).filter((t): t is string => !!t))].sort();
  if (tiers.length === 0) {
    throw new TierError(
      `no request metrics in the last ${w}`,
      'send some traffic (open the edge URL) or pick a longer --window',
    );
  }
  return tiers.map((tier) => {
    const r = by(rate, tier);
    return {
      tier,
      requestRate: round(r),
      errorRate: r > 0 ? round(by(errors, tier) / r, 4) : 0,
      p50Ms: round(by(p50, tier) * 1000),
      p99Ms: round(by(p99, tier) * 1000),
      series: (series.find((s) => s.metric.tier === tier)?.values ?? []).map(([, v]) => round(num(v))),
    };
  });
}

const round = (n: number, digits = 2) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : 0);
