// tier metrics on AWS: request rate, 5xx rate and p50/p99 latency per tier from the ALB metrics (GetMetricData).
import { GetMetricDataCommand, type MetricDataQuery, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { TIERS, TierError, type TierMetrics, type TierName } from '../backend.js';
import type { AwsContext } from './context.js';
import { callAws } from './errors.js';
import { describeService } from './services.js';

/** Points in the chart at most; the series period grows with the window to stay under it. */
const MAX_POINTS = 60;
/** ALB metrics have one-minute resolution. */
const MIN_PERIOD = 60;

/** The window rounded up to whole series periods, so every bucket is complete and aligned. */
export function metricsWindow(windowSeconds: number, now: number) {
  if (!Number.isFinite(windowSeconds) || windowSeconds <= 0 || windowSeconds > 15 * 86_400) {
    throw new TierError(`metrics window ${windowSeconds}s is out of range`, 'use a window from 1 minute to 15 days');
  }
  const minutes = Math.ceil(windowSeconds / 60);
  const period = Math.max(MIN_PERIOD, Math.ceil(minutes / MAX_POINTS) * 60);
  const seconds = Math.ceil((minutes * 60) / period) * period;
  // End at the last whole minute: the current minute is still being aggregated.
  const end = Math.floor(now / 60_000) * 60_000;
  return { period, seconds, start: end - seconds * 1000, end };
}

/** `arn:...:loadbalancer/app/name/id` -> `app/name/id`, the LoadBalancer dimension of AWS/ApplicationELB. */
export function loadBalancerDimension(arn: string): string {
  const at = arn.indexOf(':loadbalancer/');
  if (at < 0) throw new TierError(`'${arn}' is not a load balancer ARN`, 'check the services stack');
  return arn.slice(at + ':loadbalancer/'.length);
}

async function loadBalancerOf(ctx: AwsContext, tier: TierName): Promise<string> {
  const { service } = await describeService(ctx, tier);
  const targetGroup = service.loadBalancers?.find((lb) => lb.targetGroupArn)?.targetGroupArn;
  if (!targetGroup) {
    throw new TierError(`the ${tier} service has no load balancer attached`, 'redeploy the services stack');
  }
  const groups = await callAws('elasticloadbalancing:DescribeTargetGroups', () =>
    ctx.clients.elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [targetGroup] })),
  );
  const lb = groups.TargetGroups?.[0]?.LoadBalancerArns?.[0];
  if (!lb)
    throw new TierError(`target group of ${tier} is not attached to a load balancer`, 'redeploy the services stack');
  return loadBalancerDimension(lb);
}

function query(id: string, lb: string, metric: string, stat: string, period: number): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: 'AWS/ApplicationELB',
        MetricName: metric,
        Dimensions: [{ Name: 'LoadBalancer', Value: lb }],
      },
      Period: period,
      Stat: stat,
    },
    ReturnData: true,
  };
}

export async function metrics(ctx: AwsContext, opts: { windowSeconds: number }): Promise<TierMetrics[]> {
  const w = metricsWindow(opts.windowSeconds, ctx.now());
  const lbs = new Map<TierName, string>();
  for (const tier of TIERS) lbs.set(tier, await loadBalancerOf(ctx, tier));

  const queries: MetricDataQuery[] = [];
  for (const [tier, lb] of lbs) {
    queries.push(
      query(`req_${tier}`, lb, 'RequestCount', 'Sum', w.period),
      query(`err_${tier}`, lb, 'HTTPCode_Target_5XX_Count', 'Sum', w.period),
      // Percentiles cannot be combined from buckets: ask for one value over the whole window.
      query(`p50_${tier}`, lb, 'TargetResponseTime', 'p50', w.seconds),
      query(`p99_${tier}`, lb, 'TargetResponseTime', 'p99', w.seconds),
    );
  }
  const results = new Map<string, MetricDataResult>();
  let nextToken: string | undefined;
  do {
    const page = await callAws('cloudwatch:GetMetricData', () =>
      ctx.clients.cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: new Date(w.start),
          EndTime: new Date(w.end),
          ScanBy: 'TimestampAscending',
          NextToken: nextToken,
        }),
      ),
    );
    for (const r of page.MetricDataResults ?? []) {
      const seen = results.get(r.Id ?? '');
      results.set(r.Id ?? '', {
        ...r,
        Timestamps: [...(seen?.Timestamps ?? []), ...(r.Timestamps ?? [])],
        Values: [...(seen?.Values ?? []), ...(r.Values ?? [])],
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);

  const buckets = w.seconds / w.period;
  /** A bucketed series with 0 where CloudWatch has no point (no requests in that period). */
  const series = (id: string) => {
    const values = new Array<number>(buckets).fill(0);
    const r = results.get(id);
    (r?.Timestamps ?? []).forEach((t, i) => {
      const k = Math.floor((t.getTime() - w.start) / (w.period * 1000));
      if (k >= 0 && k < buckets) values[k] = (values[k] ?? 0) + (r?.Values?.[i] ?? 0);
    });
    return values;
  };
  const single = (id: string) => results.get(id)?.Values?.[0] ?? 0;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const round = (x: number, digits: number) => Number(x.toFixed(digits));

  return TIERS.map((tier) => {
    const requests = series(`req_${tier}`);
    const total = sum(requests);
    const errors = sum(series(`err_${tier}`));
    return {
      tier,
      requestRate: round(total / w.seconds, 3),
      errorRate: total > 0 ? round(errors / total, 4) : 0,
      p50Ms: round(single(`p50_${tier}`) * 1000, 1),
      p99Ms: round(single(`p99_${tier}`) * 1000, 1),
      series: requests.map((n) => round(n / w.period, 3)),
    };
  });
}
