// Dashboards per tier, database and edge; the tier, database and restore test alarms and backup-job notifications of
// the stage region (edge alarms: edge-alarms-stack.ts in us-east-1; rollback alarms live with the services).
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { liveDatabaseParameter } from '../../../../packages/contract/src/index.js';
import type { StageConfig } from '../../config/index.js';
import type { TierService } from '../services/tier-service.js';
import type { Tier } from '../shared/naming.js';
import { BackupNotifications } from './backup-notifications.js';
import { DatabaseAlarms, databaseMetric } from './database-alarms.js';
import { RestoreTestAlarms } from './restore-test-alarms.js';
import { TierAlarms } from './tier-alarms.js';

export interface MonitoringStackProps extends StackProps {
  readonly config: StageConfig;
  readonly tiers: Readonly<Record<Tier, TierService>>;
  readonly clusterName: string;
  /** The stack's own instance: its stack creates the live-database parameters the alarms read. */
  readonly database: rds.IDatabaseInstance;
  readonly distributionId: string;
  readonly alarmTopic: sns.ITopic;
}

const PERIOD = Duration.minutes(1);
const WIDTH = 8;

export class MonitoringStack extends Stack {
  readonly dashboards: cloudwatch.Dashboard[] = [];
  /** Every alarm of the stage region that pages (the rollback alarms live with the services). */
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const prefix = `tier-${props.config.stage}`;

    for (const [tier, svc] of Object.entries(props.tiers)) {
      // The balancer's metrics cover both target groups ECS swaps; target health is shown per group.
      const lb = svc.loadBalancer.metrics;
      const groups = { primary: svc.targetGroup.metrics, alternate: svc.alternateTargetGroup.metrics };
      const latency = (p: string) => lb.targetResponseTime({ statistic: p, period: PERIOD, label: p });
      this.dashboard(`${prefix}-${tier}`, [
        graph('Requests / min', [lb.requestCount({ period: PERIOD, statistic: 'Sum' })]),
        graph('4xx / 5xx', [
          lb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, { period: PERIOD, statistic: 'Sum' }),
          lb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: PERIOD, statistic: 'Sum' }),
          lb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: PERIOD, statistic: 'Sum' }),
        ]),
        graph('Latency p50 / p90 / p99 (s)', [latency('p50'), latency('p90'), latency('p99')]),
        graph(
          'Healthy / unhealthy targets per target group',
          Object.entries(groups).flatMap(([group, tg]) => [
            tg.healthyHostCount({ period: PERIOD, label: `healthy (${group})` }),
            tg.unhealthyHostCount({ period: PERIOD, label: `unhealthy (${group})` }),
          ]),
        ),
        graph('CPU / memory (%)', [
          svc.service.metricCpuUtilization({ period: PERIOD }),
          svc.service.metricMemoryUtilization({ period: PERIOD }),
        ]),
        new cloudwatch.AlarmStatusWidget({ title: 'Rollback alarms', alarms: [...svc.rollbackAlarms], width: WIDTH }),
      ]);
    }

    // The live instance, as `tier restore` switches it: an SSM-typed template parameter, which CloudFormation reads
    // again at every stack update (the restore's switch step updates this stack), so the alarms and the dashboard
    // follow a restored copy. A `{{resolve:ssm}}` reference would not: CloudFormation does not re-resolve one that
    // did not change in the template.
    const liveInstance = ssm.StringParameter.valueForStringParameter(
      this,
      liveDatabaseParameter(props.config.stage, 'instance-id'),
    );
    // The data stack creates the parameter and the restore validation log group: deploy after it.
    this.addStackDependency(
      Stack.of(props.database),
      'reads the live-database parameters and the restore validation log group the data stack creates',
    );
    const db = (metricName: string) => databaseMetric(liveInstance, metricName, { period: PERIOD });
    this.dashboard(`${prefix}-db`, [
      graph('Connections', [db('DatabaseConnections')]),
      graph('CPU (%)', [db('CPUUtilization')]),
      graph('Read / write latency (s)', [db('ReadLatency'), db('WriteLatency')]),
      graph('Free storage (bytes)', [db('FreeStorageSpace')]),
    ]);
    const alarms = [
      ...Object.entries(props.tiers).flatMap(
        ([tier, svc]) =>
          new TierAlarms(this, `${tier}Alarms`, {
            tier,
            namePrefix: prefix,
            service: svc,
            minTasks: props.config.services[tier as Tier].minTasks,
            clusterName: props.clusterName,
            topic: props.alarmTopic,
          }).alarms,
      ),
      ...new DatabaseAlarms(this, 'DatabaseAlarms', {
        namePrefix: prefix,
        instanceIdentifier: liveInstance,
        instanceType: props.config.database.instanceType,
        allocatedStorageGiB: props.config.database.allocatedStorageGiB,
        topic: props.alarmTopic,
      }).alarms,
      ...new RestoreTestAlarms(this, 'RestoreTestAlarms', {
        namePrefix: prefix,
        stage: props.config.stage,
        topic: props.alarmTopic,
      }).alarms,
    ];
    this.alarms = alarms;
    new BackupNotifications(this, 'BackupNotifications', { namePrefix: prefix, topic: props.alarmTopic });

    // CloudFront publishes its metrics in us-east-1 only; dashboards can show other regions.
    const cf = (metricName: string, statistic = 'Sum') =>
      new cloudwatch.Metric({
        namespace: 'AWS/CloudFront',
        metricName,
        dimensionsMap: { DistributionId: props.distributionId, Region: 'Global' },
        region: 'us-east-1',
        statistic,
        period: PERIOD,
      });
    this.dashboard(`${prefix}-edge`, [
      graph('Requests', [cf('Requests')]),
      graph('Error rate 4xx / 5xx (%)', [cf('4xxErrorRate', 'Average'), cf('5xxErrorRate', 'Average')]),
      graph('Cache hit rate (%)', [cf('CacheHitRate', 'Average')]),
      graph('Origin latency (ms)', [
        cf('OriginLatency', 'p50'),
        cf('OriginLatency', 'p90'),
        cf('OriginLatency', 'p99'),
      ]),
    ]);
  }

  private dashboard(name: string, widgets: cloudwatch.IWidget[]): void {
    const dashboard = new cloudwatch.Dashboard(this, name, { dashboardName: name, defaultInterval: Duration.hours(3) });
    for (let i = 0; i < widgets.length; i += 3) dashboard.addWidgets(...widgets.slice(i, i + 3));
    this.dashboards.push(dashboard);
  }
}

function graph(title: string, metrics: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left: metrics, width: WIDTH, height: 6 });
}
