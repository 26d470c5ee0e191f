// An AWS Backup restore testing plan: every week the latest recovery point of the tagged database is restored into
// the stage's isolated subnets, behind the database's security group, kept a few hours for the application-level
// validation (restore-validation.ts), then deleted by AWS Backup. The restore job's result (and a failure) reaches
// the alarm topic through the "Restore Job State Change" rule (monitoring).
import { Fn } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from '../shared/acknowledge.js';
import { DATA_DEFAULTS } from './defaults.js';

export interface RestoreTestingProps {
  /** Prefix of the names, e.g. `tier-dev` (restore testing names allow letters, digits and underscores only). */
  readonly namePrefix: string;
  /** The vault whose recovery points are restored. */
  readonly vault: backup.IBackupVault;
  /**
   * DB subnet group the restored instance lands in. Without it AWS Backup infers the default VPC, which these
   * accounts may not have ("Restore testing inferred metadata", AWS Backup Developer Guide).
   */
  readonly dbSubnetGroupName: string;
  /**
   * Security groups of the restored instance: the database's own, which admits 5432 from the api tasks, so the data
   * check (an ECS task in their security group) reaches the copy. Without it the copy gets the VPC's default group.
   */
  readonly databaseSecurityGroupId: string;
  /** The tag the backup plan selects on; the restore test picks the same resources. @default backup=daily */
  readonly selectionTag?: { readonly key: string; readonly value: string };
}

export class RestoreTesting extends Construct {
  readonly plan: backup.CfnRestoreTestingPlan;
  readonly selection: backup.CfnRestoreTestingSelection;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: RestoreTestingProps) {
    super(scope, id);
    const tag = props.selectionTag ?? DATA_DEFAULTS.backupTag;
    const name = props.namePrefix.replace(/[^A-Za-z0-9]/g, '_');
    const hours = DATA_DEFAULTS.restoreTestValidationWindowHours;
    if (hours < 0 || hours > 168) throw new Error(`restoreTestValidationWindowHours must be 0-168, got ${hours}.`);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
      description: `AWS Backup restore tests of ${props.namePrefix}`,
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSBackupServiceRolePolicyForRestores'),
      ],
    });
    acknowledge(
      this.role,
      'AWSBackupServiceRolePolicyForRestores is the AWS-maintained policy AWS Backup needs to restore (and delete after the test) an RDS recovery point.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores]',
    );

    this.plan = new backup.CfnRestoreTestingPlan(this, 'Plan', {
      restoreTestingPlanName: `${name}_restore_test`,
      scheduleExpression: DATA_DEFAULTS.restoreTestSchedule,
      scheduleExpressionTimezone: 'Etc/UTC',
      startWindowHours: 2,
      recoveryPointSelection: {
        algorithm: 'LATEST_WITHIN_WINDOW',
        includeVaults: [props.vault.backupVaultArn],
        recoveryPointTypes: ['SNAPSHOT'],
        selectionWindowDays: DATA_DEFAULTS.restoreTestSelectionWindowDays,
      },
    });
    this.selection = new backup.CfnRestoreTestingSelection(this, 'Database', {
      restoreTestingPlanName: this.plan.restoreTestingPlanName,
      restoreTestingSelectionName: `${name}_database`,
      protectedResourceType: 'RDS',
      protectedResourceArns: ['*'],
      protectedResourceConditions: { stringEquals: [{ key: `aws:ResourceTag/${tag.key}`, value: tag.value }] },
      iamRoleArn: this.role.roleArn,
      // Overridable keys of an RDS instance include its subnet group and VPC security groups, a JSON list
      // ("Restore testing inferred metadata", AWS Backup Developer Guide); keys are not case sensitive.
      restoreMetadataOverrides: {
        dbsubnetgroupname: props.dbSubnetGroupName,
        vpcsecuritygroupids: Fn.toJsonString([props.databaseSecurityGroupId]),
      },
      validationWindowHours: hours,
    });
    this.selection.addDependency(this.plan);
  }
}
