// Stateful telemetry of one stage: log groups per tier (KMS, retention), access-log buckets, the alarm topic.
import { Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { StageConfig } from '../../config/index.js';
import { DATA_DEFAULTS } from '../data/defaults.js';
import { acknowledge, guard } from '../shared/acknowledge.js';
import { createManagedKey } from '../shared/keys.js';
import { logBucketName } from '../shared/naming.js';
import { TELEMETRY_DEFAULTS } from './defaults.js';

export type LogStream = (typeof TELEMETRY_DEFAULTS.logStreams)[number];

export interface TelemetryStackProps extends StackProps {
  readonly config: StageConfig;
}

/** Log groups and log buckets outlive deployments, so they live here, with termination protection. */
export class TelemetryStack extends Stack {
  readonly key: kms.Key;
  readonly logGroups: Readonly<Record<LogStream, logs.LogGroup>>;
  /** ALB access logs (SSE-S3: ALB log delivery cannot use a customer managed key). */
  readonly albLogBucket: s3.Bucket;
  /** CloudFront standard logs (ACLs enabled: CloudFront log delivery writes with an ACL grant). */
  readonly cloudFrontLogBucket: s3.Bucket;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: TelemetryStackProps) {
    super(scope, id, props);
    const { config } = props;
    const stage = config.stage;

    this.key = createManagedKey(this, 'TelemetryKey', {
      alias: `tier-${stage}-telemetry`,
      description: `Application logs, ECS Exec sessions and alarm notifications of tier-${stage}`,
      forCloudWatchLogs: true,
      forAlarmNotifications: true,
    });

    const groups = {} as Record<LogStream, logs.LogGroup>;
    for (const name of TELEMETRY_DEFAULTS.logStreams) {
      groups[name] = new logs.LogGroup(this, `${name}Logs`, {
        logGroupName: `/tier/${stage}/${name}`,
        retention: config.observability.logRetentionDays as logs.RetentionDays,
        encryptionKey: this.key,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    this.logGroups = groups;

    // Server access logs of the two log buckets: the end of the chain, it cannot log to itself.
    const name = (purpose: 'alb' | 'cloudfront' | 'access') =>
      logBucketName(stage, purpose, config.account, config.region);
    const serverAccessLogs = new s3.Bucket(this, 'ServerAccessLogs', {
      ...this.logBucketDefaults(config),
      bucketName: name('access'),
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    });
    acknowledge(
      serverAccessLogs,
      'This bucket is the target of S3 server access logging for the log buckets; logging it to itself would loop.',
      'AwsSolutions-S1',
      'NIST.800.53.R5-S3BucketLoggingEnabled',
      guard('s3_bucket_logging_enabled_check'),
    );
    this.albLogBucket = new s3.Bucket(this, 'AlbAccessLogs', {
      ...this.logBucketDefaults(config),
      bucketName: name('alb'),
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: serverAccessLogs,
      serverAccessLogsPrefix: 'alb-logs/',
    });
    this.cloudFrontLogBucket = new s3.Bucket(this, 'CloudFrontAccessLogs', {
      ...this.logBucketDefaults(config),
      bucketName: name('cloudfront'),
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      serverAccessLogsBucket: serverAccessLogs,
      serverAccessLogsPrefix: 'cloudfront-logs/',
    });
    for (const bucket of [serverAccessLogs, this.albLogBucket, this.cloudFrontLogBucket]) {
      // Audit records: the daily backup keeps a copy outside the bucket (locked in prod) that a deleted or
      // overwritten object cannot take with it. AWS Backup needs the versioning these buckets have.
      Tags.of(bucket).add(DATA_DEFAULTS.backupTag.key, DATA_DEFAULTS.backupTag.value);
      acknowledge(
        bucket,
        'Log delivery by ELB, CloudFront and S3 server access logging supports SSE-S3 only, not SSE-KMS with a customer managed key.',
        'NIST.800.53.R5-S3DefaultEncryptionKMS',
        guard('s3_bucket_default_encryption_kms_check'),
      );
      acknowledge(
        bucket,
        'Log objects expire through the lifecycle rule; Object Lock would block that expiry and nothing else consumes them in place.',
        guard('s3_bucket_object_lock_enabled_check'),
      );
      acknowledge(
        bucket,
        'No process consumes new log objects as they arrive (they are queried on demand with Athena), so there is no notification target.',
        guard('s3_event_notifications_enabled_check'),
      );
      acknowledge(
        bucket,
        'Access logs are an audit copy with a lifecycle expiry, backed up daily by AWS Backup (tag backup=daily; prod copies the points to a second region), so a live replica adds nothing.',
        'NIST.800.53.R5-S3BucketReplicationEnabled',
      );
    }

    this.alarmTopic = new sns.Topic(this, 'Alarms', {
      displayName: `tier-${stage} alarms`,
      masterKey: this.key,
      enforceSSL: true,
    });
    this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.observability.alarmEmail));
  }

  private logBucketDefaults(config: StageConfig): s3.BucketProps {
    return {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          expiration: Duration.days(config.observability.accessLogRetentionDays),
          noncurrentVersionExpiration: Duration.days(7),
        },
      ],
    };
  }
}
