// Alarms that page for the database: CPU, free memory, free storage, connections, replica lag. RDS publishes these
// every minute while the instance runs, so missing data means the instance (or its monitoring) is gone: breaching.
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ALARM_DEFAULTS, defaultMaxConnections } from './defaults.js';

export interface DatabaseAlarmsProps {
  /** Prefix of the alarm names, e.g. `tier-dev`. */
  readonly namePrefix: string;
  readonly instance: rds.IDatabaseInstance;
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
    const db = props.instance;
    const period = d.period;
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
        db.metricCPUUtilization({ period, statistic: 'Average' }),
        d.maxCpuPercent,
        gt,
      ),
      alarm(
        'MemoryLow',
        `Database freeable memory below ${d.minFreeMemoryFraction * 100}% of ${memoryGiB} GiB (or no data) for 15 minutes.`,
        db.metricFreeableMemory({ period, statistic: 'Minimum' }),
        Math.round(memoryGiB * 1024 ** 3 * d.minFreeMemoryFraction),
        lt,
      ),
      alarm(
        'StorageLow',
        `Database free storage below ${d.minFreeStorageFraction * 100}% of ${props.allocatedStorageGiB} GiB (or no data): storage autoscaling did not keep up.`,
        db.metricFreeStorageSpace({ period, statistic: 'Minimum' }),
        Math.round(props.allocatedStorageGiB * 1024 ** 3 * d.minFreeStorageFraction),
        lt,
      ),
      alarm(
        'ConnectionsHigh',
        `More than ${connections} database connections (${d.maxConnectionsFraction * 100}% of max_connections ${maxConnections}), or no data, for 15 minutes.`,
        db.metricDatabaseConnections({ period, statistic: 'Maximum' }),
        connections,
        gt,
      ),
      alarm(
        'WriteLatencyHigh',
        `Database write latency above ${d.maxWriteLatencySeconds * 1000} ms (or no data) for 15 minutes.`,
        db.metric('WriteLatency', { period, statistic: 'Average' }),
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
