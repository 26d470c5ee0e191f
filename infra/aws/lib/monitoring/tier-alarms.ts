// Alarms that page for one application tier: too few healthy targets, tasks not running, 5xx (balancer and targets),
// p99 latency. Each one fires on the failure it names: test/alarms.test.ts replays failure and healthy series.
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { TierService } from '../services/tier-service.js';
import { ALARM_DEFAULTS } from './defaults.js';

export interface TierAlarmsProps {
  /** `web` or `api`. */
  readonly tier: string;
  /** Prefix of the alarm names, e.g. `tier-dev`. */
  readonly namePrefix: string;
  readonly service: TierService;
  /** The service's lower autoscaling bound: fewer healthy targets than this is an outage in progress. */
  readonly minTasks: number;
  readonly clusterName: string;
  readonly topic: sns.ITopic;
  /** @default ALARM_DEFAULTS.tier.p99LatencySeconds[tier], else 1 */
  readonly p99LatencySeconds?: number;
}

export class TierAlarms extends Construct {
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: TierAlarmsProps) {
    super(scope, id);
    const d = ALARM_DEFAULTS.tier;
    const period = ALARM_DEFAULTS.period;
    if (props.minTasks < 1) throw new Error(`${props.tier}: minTasks must be >= 1 to alarm on healthy hosts.`);
    const name = `${props.namePrefix}-${props.tier}`;
    // The balancer's own metrics cover both target groups ECS swaps at each deployment; healthy hosts are counted
    // per group and added, since either one may be the live group.
    const lb = props.service.loadBalancer.metrics;
    const groups = [props.service.targetGroup.metrics, props.service.alternateTargetGroup.metrics] as const;
    const containerInsights = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'ECS/ContainerInsights',
        metricName,
        dimensionsMap: { ClusterName: props.clusterName, ServiceName: props.service.service.serviceName },
        statistic: 'Average',
        period,
      });
    const latency = props.p99LatencySeconds ?? d.p99LatencySeconds[props.tier] ?? 1;

    this.alarms = [
      // HealthyHostCount is 0, not absent, when nothing is registered; missing data (the balancer stopped reporting)
      // is no proof of health either.
      new cloudwatch.Alarm(this, 'HealthyHostsLow', {
        alarmName: `${name}-healthy-hosts-low`,
        alarmDescription: `${name} has fewer than ${props.minTasks} healthy targets (its minimum task count, both target groups together) for ${d.healthyHostsMinutes} minutes.`,
        metric: new cloudwatch.MathExpression({
          label: 'healthy targets, both target groups',
          expression: 'FILL(primary, 0) + FILL(alternate, 0)',
          usingMetrics: {
            primary: groups[0].healthyHostCount({ period, statistic: 'Minimum' }),
            alternate: groups[1].healthyHostCount({ period, statistic: 'Minimum' }),
          },
          period,
        }),
        threshold: props.minTasks,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: d.healthyHostsMinutes,
        datapointsToAlarm: d.healthyHostsMinutes,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      // Container Insights publishes both counts per service every minute; a task that cannot start (image, secret,
      // capacity) keeps running below desired while the service still looks "steady".
      new cloudwatch.Alarm(this, 'RunningBelowDesired', {
        alarmName: `${name}-running-below-desired`,
        alarmDescription: `${name} runs fewer tasks than desired for ${d.belowDesiredMinutes} minutes.`,
        metric: new cloudwatch.MathExpression({
          label: 'desired - running tasks',
          expression: 'desired - running',
          usingMetrics: {
            desired: containerInsights('DesiredTaskCount'),
            running: containerInsights('RunningTaskCount'),
          },
          period,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: d.belowDesiredMinutes,
        datapointsToAlarm: d.belowDesiredMinutes,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      // RequestCount leaves out requests the balancer answered without choosing a target (503 with no healthy
      // target), so those ELB 5xx are added to both sides of the rate.
      new cloudwatch.Alarm(this, 'ErrorRateHigh', {
        alarmName: `${name}-5xx-rate-high`,
        alarmDescription: `More than ${d.max5xxRatePercent}% of ${name} answers are 5xx (balancer or targets) for ${d.errorRateMinutes} minutes, at ${d.minRequestsPerMinute}+ requests a minute.`,
        metric: new cloudwatch.MathExpression({
          label: '5xx rate (%), balancer and targets',
          expression: `IF(FILL(requests, 0) + FILL(elb5xx, 0) >= ${d.minRequestsPerMinute}, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / (FILL(requests, 0) + FILL(elb5xx, 0)), 0)`,
          usingMetrics: {
            requests: lb.requestCount({ period, statistic: 'Sum' }),
            elb5xx: lb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period, statistic: 'Sum' }),
            target5xx: lb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period, statistic: 'Sum' }),
          },
          period,
        }),
        threshold: d.max5xxRatePercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: d.errorRateMinutes,
        datapointsToAlarm: d.errorRateMinutes,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      // No requests, no latency datapoint: silence is covered by the healthy-host alarm, not this one.
      new cloudwatch.Alarm(this, 'LatencyHigh', {
        alarmName: `${name}-p99-latency-high`,
        alarmDescription: `${name} p99 target response time above ${latency} s for ${d.latencyMinutes} minutes.`,
        metric: lb.targetResponseTime({ period, statistic: 'p99' }),
        threshold: latency,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: d.latencyMinutes,
        datapointsToAlarm: d.latencyMinutes,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(new actions.SnsAction(props.topic));
      alarm.addOkAction(new actions.SnsAction(props.topic));
    }
  }
}
