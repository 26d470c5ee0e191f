// AWS Backup for the stage: an encrypted (optionally locked) vault and a plan (daily, weekly, monthly, a daily copy to
// another region) that selects resources by tag.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledge } from '../shared/acknowledge.js';
import { DATA_DEFAULTS } from './defaults.js';

export interface BackupProps {
  /** Name prefix of the vault and plan, e.g. `tier-dev`. */
  readonly namePrefix: string;
  /** Key that encrypts the recovery points in the vault. */
  readonly key: kms.IKey;
  /** @default 7 */
  readonly dailyRetentionDays?: number;
  /** @default 4 */
  readonly weeklyRetentionWeeks?: number;
  /** @default 3 */
  readonly monthlyRetentionMonths?: number;
  /** Vault in another region that receives a copy of every daily recovery point. @default - no copy */
  readonly copyToVaultArn?: string;
  /**
   * Vault Lock on the vault: `compliance` becomes immutable after 3 days, `governance` stays removable by users with
   * the IAM permission. Minimum retention = dailyRetentionDays. @default - no lock
   */
  readonly lock?: VaultLockMode;
  /** Resources carrying this tag are backed up. @default backup=daily */
  readonly selectionTag?: { readonly key: string; readonly value: string };
}

export type VaultLockMode = 'governance' | 'compliance';

/**
 * Vault Lock settings. Only a minimum: a maximum would fail on-demand jobs without a lifecycle, and every job here
 * keeps its points at least `minRetentionDays` (the daily rule's retention, the shortest). Compliance mode needs
 * ChangeableForDays >= 3 (AWS Backup's 72-hour cooling-off period, AWS::Backup::BackupVault LockConfigurationType).
 */
export function vaultLock(
  mode: VaultLockMode | undefined,
  minRetentionDays: number,
): backup.LockConfiguration | undefined {
  if (mode === undefined) return undefined;
  return {
    minRetention: Duration.days(minRetentionDays),
    ...(mode === 'compliance' ? { changeableFor: Duration.days(DATA_DEFAULTS.vaultLockChangeableForDays) } : {}),
  };
}

export class Backup extends Construct {
  readonly vault: backup.BackupVault;
  readonly plan: backup.BackupPlan;
  /** The role AWS Backup assumes for the plan's jobs; on-demand jobs (`tier backup now`) use it too. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: BackupProps) {
    super(scope, id);
    const daily = props.dailyRetentionDays ?? 7;
    const weekly = props.weeklyRetentionWeeks ?? 4;
    const monthly = props.monthlyRetentionMonths ?? 3;
    if (daily < 1) throw new Error(`dailyRetentionDays must be >= 1, got ${daily}.`);
    if (weekly * 7 <= daily) throw new Error('weeklyRetentionWeeks must keep weekly points longer than daily ones.');
    if (props.copyToVaultArn && !props.copyToVaultArn.startsWith('arn:')) {
      throw new Error(
        `copyToVaultArn "${props.copyToVaultArn}" is not an ARN (arn:aws:backup:<region>:<account>:backup-vault:<name>).`,
      );
    }
    const tag = props.selectionTag ?? DATA_DEFAULTS.backupTag;

    this.vault = new backup.BackupVault(this, 'Vault', {
      backupVaultName: `${props.namePrefix}-vault`,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.RETAIN,
      lockConfiguration: vaultLock(props.lock, daily),
    });

    const copy = props.copyToVaultArn
      ? [
          {
            destinationBackupVault: backup.BackupVault.fromBackupVaultArn(this, 'CopyTarget', props.copyToVaultArn),
            deleteAfter: Duration.days(daily),
          },
        ]
      : undefined;

    this.plan = new backup.BackupPlan(this, 'Plan', {
      backupPlanName: `${props.namePrefix}-plan`,
      backupVault: this.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'daily',
          scheduleExpression: events.Schedule.cron({ hour: '3', minute: '0' }),
          startWindow: Duration.hours(1),
          completionWindow: Duration.hours(4),
          deleteAfter: Duration.days(daily),
          copyActions: copy,
        }),
        new backup.BackupPlanRule({
          ruleName: 'weekly',
          scheduleExpression: events.Schedule.cron({ weekDay: 'SUN', hour: '4', minute: '0' }),
          startWindow: Duration.hours(1),
          completionWindow: Duration.hours(4),
          deleteAfter: Duration.days(weekly * 7),
        }),
        new backup.BackupPlanRule({
          ruleName: 'monthly',
          scheduleExpression: events.Schedule.cron({ day: '1', hour: '5', minute: '0' }),
          startWindow: Duration.hours(1),
          completionWindow: Duration.hours(4),
          deleteAfter: Duration.days(monthly * 31),
        }),
      ],
    });

    // Created here rather than inside the selection so its ARN can be an output: StartBackupJob needs a role
    // (IamRoleArn), and the one scheduled jobs use is the one that is known to work on these resources.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
      description: `AWS Backup jobs of ${props.namePrefix} (plan and on-demand)`,
    });
    // By tag, so storage added later (EFS, DynamoDB, another database) is covered once tagged.
    this.plan.addSelection('Tagged', {
      backupSelectionName: `${tag.key}-${tag.value}`,
      resources: [backup.BackupResource.fromTag(tag.key, tag.value)],
      role: this.role,
    });
    // The tag also selects the S3 log buckets; S3 needs its own AWS-managed backup policy (not part of the one above).
    this.role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AWSBackupServiceRolePolicyForS3Backup'));
    acknowledge(
      this.role,
      'AWSBackupServiceRolePolicyForBackup is the AWS-maintained policy AWS Backup needs to snapshot any tagged resource type.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
    );
    acknowledge(
      this.role,
      'AWSBackupServiceRolePolicyForS3Backup is the AWS-maintained policy AWS Backup needs to back up the tagged (versioned) S3 buckets.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup]',
    );
  }
}
