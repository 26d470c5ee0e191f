// Alarms that page for the database: CPU, free memory, free storage, connections, replica lag. RDS publishes these
// every minute while the instance runs, so missing data means the instance (or its monitoring) is gone: breaching.
// They watch the live instance by identifier, which `tier restore` changes (see MonitoringStack).
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ALARM_DEFAULTS, defaultMaxConnections } from './defaults.js';

export interface DatabaseAlarmsProps {
  /** Prefix of the alarm names, e.g. `tier-dev`. */
  readonly namePrefix: string;
  /** DBInstanceIdentifier of the live instance (a token: the live-database parameter). */
  readonly instanceIdentifier: string;
  /** Instance class without `db.`; sizes the memory and connection thresholds. */
  readonly instanceType: string;
  readonly allocatedStorageGiB: number;
  /** Read replicas, each alarmed on ReplicaLag. @default none */
  readonly replicas?: readonly rds.IDatabaseInstance[];
  readonly topic: sns.ITopic;
}

export class DatabaseAlarms extends Construct {
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: DatabaseAlarmsProps) {
    super(scope, id);
    const d = ALARM_DEFAULTS.database;
    const memoryGiB = ALARM_DEFAULTS.instanceMemoryGiB[props.instanceType];
    const maxConnections = defaultMaxConnections(props.instanceType);
    if (memoryGiB === undefined) throw new Error(`unknown instance class ${props.instanceType}`);
    const period = d.period;
    const db = (metricName: string, statistic: string) =>
      databaseMetric(props.instanceIdentifier, metricName, { period, statistic });
    const alarm = (
      key: string,
      description: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      comparisonOperator: cloudwatch.ComparisonOperator,
    ) =>
      new cloudwatch.Alarm(this, key, {
        alarmName: `${props.namePrefix}-db-${key.replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase())}`,
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator,
        evaluationPeriods: d.evaluationPeriods,
        datapointsToAlarm: d.evaluationPeriods,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    const gt = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    const lt = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD;
    const connections = Math.floor(maxConnections * d.maxConnectionsFraction);
    const alarms = [
      alarm(
        'CpuHigh',
        `Database CPU above ${d.maxCpuPercent}% (or no data) for 15 minutes.`,
        db('CPUUtilization', 'Average'),
        d.maxCpuPercent,
        gt,
      ),
      alarm(
        'MemoryLow',
        `Database freeable memory below ${d.minFreeMemoryFraction * 100}% of ${memoryGiB} GiB (or no data) for 15 minutes.`,
        db('FreeableMemory', 'Minimum'),
        Math.round(memoryGiB * 1024 ** 3 * d.minFreeMemoryFraction),
        lt,
      ),
      alarm(
        'StorageLow',
        `Database free storage below ${d.minFreeStorageFraction * 100}% of ${props.allocatedStorageGiB} GiB (or no data): storage autoscaling did not keep up.`,
        db('FreeStorageSpace', 'Minimum'),
        Math.round(props.allocatedStorageGiB * 1024 ** 3 * d.minFreeStorageFraction),
        lt,
      ),
      alarm(
        'ConnectionsHigh',
        `More than ${connections} database connections (${d.maxConnectionsFraction * 100}% of max_connections ${maxConnections}), or no data, for 15 minutes.`,
        db('DatabaseConnections', 'Maximum'),
        connections,
        gt,
      ),
      alarm(
        'WriteLatencyHigh',
        `Database write latency above ${d.maxWriteLatencySeconds * 1000} ms (or no data) for 15 minutes.`,
        db('WriteLatency', 'Average'),
        d.maxWriteLatencySeconds,
        gt,
      ),
    ];
    (props.replicas ?? []).forEach((replica, i) => {
      alarms.push(
        alarm(
          `ReplicaLagHigh${i}`,
          `Read replica ${i} lags more than ${d.maxReplicaLagSeconds} s (or no data) for 15 minutes.`,
          replica.metric('ReplicaLag', { period, statistic: 'Maximum' }),
          d.maxReplicaLagSeconds,
          gt,
        ),
      );
    });
    for (const a of alarms) {
      a.addAlarmAction(new actions.SnsAction(props.topic));
      a.addOkAction(new actions.SnsAction(props.topic));
    }
    this.alarms = alarms;
  }
}

/** An AWS/RDS metric of one instance, by identifier (what `rds.IDatabaseInstance.metric` builds from its own id). */
export function databaseMetric(
  instanceIdentifier: string,
  metricName: string,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/RDS',
    metricName,
    dimensionsMap: { DBInstanceIdentifier: instanceIdentifier },
    ...options,
  });
}
