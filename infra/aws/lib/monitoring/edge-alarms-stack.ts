// Edge alarms in us-east-1: CloudFront and CLOUDFRONT-scope WAF publish their metrics only there, and an alarm
// watches metrics of its own region ("To get the CloudFront metrics from the CloudWatch API, you must use the US
// East (N. Virginia) Region", CloudFront Developer Guide, programming-cloudwatch-metrics), so they get a topic there.
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { StageConfig } from '../../config/index.js';
import { createManagedKey } from '../shared/keys.js';
import { ALARM_DEFAULTS } from './defaults.js';

export interface EdgeAlarmsStackProps extends StackProps {
  readonly config: StageConfig;
  readonly distributionId: string;
  /** The web ACL's VisibilityConfig.MetricName: the WebACL dimension of its metrics. */
  readonly webAclMetricName: string;
}

export class EdgeAlarmsStack extends Stack {
  readonly topic: sns.Topic;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: EdgeAlarmsStackProps) {
    super(scope, id, props);
    if (this.region !== 'us-east-1') {
      throw new Error(`The edge alarms stack must be deployed to us-east-1 (CloudFront metrics), not ${this.region}.`);
    }
    const prefix = `tier-${props.config.stage}`;
    const d = ALARM_DEFAULTS.edge;
    const period = ALARM_DEFAULTS.period;

    const key = createManagedKey(this, 'EdgeAlarmKey', {
      alias: `${prefix}-edge-alarms`,
      description: `Edge alarm notifications of ${prefix} (us-east-1)`,
      forAlarmNotifications: true,
    });
    this.topic = new sns.Topic(this, 'Alarms', {
      displayName: `${prefix} edge alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.config.observability.alarmEmail));

    const cloudFront = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/CloudFront',
        metricName,
        dimensionsMap: { DistributionId: props.distributionId, Region: 'Global' },
        statistic,
        period,
      });
    this.alarms = [
      new cloudwatch.Alarm(this, 'ErrorRateHigh', {
        alarmName: `${prefix}-edge-5xx-rate-high`,
        alarmDescription: `More than ${d.max5xxRatePercent}% of viewer requests get a 5xx from CloudFront for ${d.errorRateMinutes} minutes, at ${d.minRequestsPerMinute}+ requests a minute.`,
        metric: new cloudwatch.MathExpression({
          label: 'CloudFront 5xx rate (%), volume-guarded',
          expression: `IF(FILL(requests, 0) >= ${d.minRequestsPerMinute}, FILL(rate, 0), 0)`,
          usingMetrics: { requests: cloudFront('Requests', 'Sum'), rate: cloudFront('5xxErrorRate', 'Average') },
          period,
        }),
        threshold: d.max5xxRatePercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: d.errorRateMinutes,
        datapointsToAlarm: d.errorRateMinutes,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      // CLOUDFRONT-scope web ACLs report WebACL and Rule dimensions (no Region); Rule=ALL sums every rule.
      new cloudwatch.Alarm(this, 'WafBlockedSpike', {
        alarmName: `${prefix}-edge-waf-blocked-spike`,
        alarmDescription: `The WAF blocked more than ${d.blockedRequestsPer5Minutes} requests in 5 minutes: an attack or a rule blocking real users.`,
        metric: new cloudwatch.Metric({
          namespace: 'AWS/WAFV2',
          metricName: 'BlockedRequests',
          dimensionsMap: { WebACL: props.webAclMetricName, Rule: 'ALL' },
          statistic: 'Sum',
          period: Duration.minutes(5),
        }),
        threshold: d.blockedRequestsPer5Minutes,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // WAF reports BlockedRequests only when something was blocked.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
    }
  }
}
