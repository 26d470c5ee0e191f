// Every kind of state the stacks keep, and how it survives: in the AWS Backup plan (tag backup=daily), or the one
// written reason here why not. test/backup-coverage.test.ts fails on a stateful resource that is neither, and on a
// reason that no longer matches anything; infra/aws/README.md ("What is backed up") says the same.

/** CloudFormation types that hold data a user or the platform writes after deployment. */
export const STATEFUL_TYPES = [
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::S3::Bucket',
  'AWS::EFS::FileSystem',
  'AWS::FSx::FileSystem',
  'AWS::EC2::Volume',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::DocDB::DBCluster',
  'AWS::Neptune::DBCluster',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::CacheCluster',
  'AWS::OpenSearchService::Domain',
  'AWS::SQS::Queue',
  'AWS::Kinesis::Stream',
  'AWS::Logs::LogGroup',
  'AWS::ECR::Repository',
  'AWS::SecretsManager::Secret',
  'AWS::SSM::Parameter',
  'AWS::KMS::Key',
  'AWS::Backup::BackupVault',
] as const;

/**
 * Types AWS Backup can protect ("Feature availability by resource",
 * https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html). S3 needs versioning on
 * the bucket (https://docs.aws.amazon.com/aws-backup/latest/devguide/s3-backups.html).
 */
export const AWS_BACKUP_SUPPORTED_TYPES: readonly string[] = [
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::S3::Bucket',
  'AWS::EFS::FileSystem',
  'AWS::FSx::FileSystem',
  'AWS::EC2::Volume',
  'AWS::DynamoDB::Table',
  'AWS::DocDB::DBCluster',
  'AWS::Neptune::DBCluster',
];

export interface NotBackedUp {
  /** What the store is, as the README names it. */
  readonly store: string;
  readonly type: (typeof STATEFUL_TYPES)[number];
  /** Narrows the entry to resources whose logical id matches. @default every resource of the type */
  readonly logicalId?: RegExp;
  /** Why AWS Backup does not cover it, and what does instead. */
  readonly reason: string;
}

/** The only place a stateful resource may be left out of the backup plan, each with its reason. */
export const NOT_BACKED_UP: readonly NotBackedUp[] = [
  {
    store: 'CloudWatch Logs log groups (tiers, migrations, admin tasks, flow logs, WAF, PostgreSQL)',
    type: 'AWS::Logs::LogGroup',
    reason:
      'AWS Backup does not support CloudWatch Logs. The groups keep their retention (365 days), are KMS-encrypted and retained when a stack is deleted; they are diagnostics, not state the application reads back after a restore.',
  },
  {
    store: 'ECR image repositories',
    type: 'AWS::ECR::Repository',
    reason:
      'AWS Backup does not support ECR. Every image is rebuilt from its git commit (tags are immutable commit shas) and prod holds a copy of every promoted digest from dev; the repositories are retained on stack deletion.',
  },
  {
    store: 'Image tag parameters (/tier/<stage>/image/<tier>)',
    type: 'AWS::SSM::Parameter',
    reason:
      'One short value per tier that `tier deploy` rewrites on every rollout; the ECS task definition revisions keep the history of what ran.',
  },
  {
    store: 'CloudFront origin-verify secret',
    type: 'AWS::SecretsManager::Secret',
    reason:
      'A generated value with no history worth keeping: recovery is putting a new value and deploying services and edge (README, origin rotation). The database master secret is managed by RDS on the instance itself.',
  },
  {
    store: 'KMS keys',
    type: 'AWS::KMS::Key',
    reason:
      'Keys are not data and cannot be exported; they are retained with a 30-day deletion window and rotate yearly, and every recovery point depends on them, so no stack deletion removes one.',
  },
  {
    store: 'AWS Backup vaults',
    type: 'AWS::Backup::BackupVault',
    reason:
      'The vaults are the backups: retained on stack deletion, locked in prod, and the daily points of the stage vault are copied to the cross-region vault.',
  },
];

/** The reason a resource is left out of the plan, or undefined when no entry covers it. */
export function notBackedUpReason(type: string, logicalId: string): NotBackedUp | undefined {
  return NOT_BACKED_UP.find((n) => n.type === type && (n.logicalId === undefined || n.logicalId.test(logicalId)));
}
