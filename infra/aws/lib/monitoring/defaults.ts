// Every threshold and window the alarms choose by themselves, in one place (test/alarms.test.ts feeds each one a
// failure and a healthy series).
import { Duration } from 'aws-cdk-lib';

export const ALARM_DEFAULTS = {
  /** ALB, ECS and CloudFront metrics arrive once a minute. */
  period: Duration.minutes(1),
  tier: {
    /** Minutes in a row with fewer healthy targets than the service's minimum task count. */
    healthyHostsMinutes: 3,
    /** Minutes in a row with fewer running tasks than desired (a task start takes 1-2 minutes). */
    belowDesiredMinutes: 5,
    /** Share of 5xx answers (balancer's own plus targets') above which the tier pages. */
    max5xxRatePercent: 5,
    /** Below this many requests a minute the 5xx rate is not judged: 1 failure in 3 requests is noise. */
    minRequestsPerMinute: 20,
    errorRateMinutes: 3,
    /** p99 target response time, seconds. */
    p99LatencySeconds: { web: 2, api: 1 } as Readonly<Record<string, number>>,
    latencyMinutes: 5,
  },
  database: {
    /** RDS metrics are judged over 5-minute averages, 3 in a row. */
    period: Duration.minutes(5),
    evaluationPeriods: 3,
    maxCpuPercent: 80,
    /** FreeableMemory below this share of the instance class's memory. */
    minFreeMemoryFraction: 0.1,
    /**
     * FreeStorageSpace below this share of the allocated storage. Storage autoscaling adds space at 10 % free, so
     * this fires only when autoscaling did not keep up or reached its ceiling.
     */
    minFreeStorageFraction: 0.05,
    /** DatabaseConnections above this share of PostgreSQL's default max_connections on the class. */
    maxConnectionsFraction: 0.8,
    /** Average WriteLatency, seconds. */
    maxWriteLatencySeconds: 0.05,
    /** ReplicaLag of a read replica, seconds. */
    maxReplicaLagSeconds: 60,
  },
  edge: {
    /** CloudFront 5xxErrorRate (percent of viewer requests) above which the edge pages. */
    max5xxRatePercent: 5,
    minRequestsPerMinute: 20,
    errorRateMinutes: 3,
    /** WAF blocked requests in 5 minutes that count as an attack in progress, not background noise. */
    blockedRequestsPer5Minutes: 1000,
  },
  restoreTest: {
    /** A FAILED restore validation keeps its alarm up this long (one period, rolling). */
    failedWindow: Duration.days(1),
    /** Successful validations are counted per day... */
    overduePeriod: Duration.days(1),
    /**
     * ...over this many days, the most CloudWatch allows (7 x 1 day = 604,800 s): the restore testing plan runs weekly.
     */
    overdueDays: 7,
  },
  /**
   * Memory (GiB) of the instance classes the stages use: the connection and memory thresholds follow from it.
   * Add a class here before configuring it (config validation refuses an unknown class).
   */
  instanceMemoryGiB: {
    't4g.micro': 1,
    't4g.small': 2,
    't4g.medium': 4,
    't4g.large': 8,
    'm7g.large': 8,
    'm7g.xlarge': 16,
    'r7g.large': 16,
    'r7g.xlarge': 32,
  } as Readonly<Record<string, number>>,
} as const;

/**
 * PostgreSQL's default max_connections on RDS: LEAST({DBInstanceClassMemory/9531392}, 5000)
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections). The class's
 * nominal memory is a little above DBInstanceClassMemory, so this is an upper bound.
 */
export function defaultMaxConnections(instanceType: string): number {
  const gib = ALARM_DEFAULTS.instanceMemoryGiB[instanceType];
  if (gib === undefined) {
    throw new Error(
      `instance class ${instanceType} has no memory size in lib/monitoring/defaults.ts (instanceMemoryGiB); add it.`,
    );
  }
  return Math.min(Math.floor((gib * 1024 ** 3) / 9531392), 5000);
}
