// Stateful data of one stage: the PostgreSQL database, its AWS Backup vault and plan, and the restore tests (twice a week)
// (termination protected).
import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { StageConfig } from '../../config/index.js';
import { createManagedKey } from '../shared/keys.js';
import { Backup } from './backup.js';
import { Database } from './database.js';
import { LiveDatabase } from './live-database.js';
import { RestoreTesting } from './restore-testing.js';
import { RestoreValidation } from './restore-validation.js';

export interface DataStackProps extends StackProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly databaseSecurityGroup: ec2.ISecurityGroup;
  readonly rotationSecurityGroup: ec2.ISecurityGroup;
}

export class DataStack extends Stack {
  readonly database: Database;
  readonly backup: Backup;
  readonly restoreTesting: RestoreTesting;
  /** Encrypts the database, its secret and logs. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const { config } = props;
    const prefix = `tier-${config.stage}`;

    // Construct ids below hold state: never rename them (a rename replaces the database).
    const key = createManagedKey(this, 'DataKey', {
      alias: `${prefix}-data`,
      description: `Database storage, credentials, Performance Insights and logs of ${prefix}`,
      forCloudWatchLogs: true,
    });
    this.key = key;
    this.database = new Database(this, 'Database', {
      vpc: props.vpc,
      securityGroup: props.databaseSecurityGroup,
      rotationSecurityGroup: props.rotationSecurityGroup,
      key,
      instanceIdentifier: `${prefix}-db`,
      instanceType: config.database.instanceType,
      multiAz: config.database.multiAz,
      allocatedStorageGiB: config.database.allocatedStorageGiB,
      maxAllocatedStorageGiB: config.database.maxAllocatedStorageGiB,
      backupRetentionDays: config.database.backupRetentionDays,
      iamAuthentication: config.database.iamAuthentication,
      logRetentionDays: config.observability.logRetentionDays,
    });

    new LiveDatabase(this, 'LiveDatabase', {
      stage: config.stage,
      initial: {
        'instance-id': this.database.instance.instanceIdentifier,
        host: this.database.instance.dbInstanceEndpointAddress,
        'master-secret-arn': this.database.secret.secretArn,
      },
    });
    // The services stack reads the host and the owner's secret from those parameters now, the monitoring stack the
    // instance id; the exports they imported stay until every deployed stack has stopped importing them
    // (CloudFormation refuses to drop an export in use, and this stack deploys first).
    this.exportValue(this.database.instance.dbInstanceEndpointAddress);
    this.exportValue(this.database.secret.secretArn);
    this.exportValue(this.database.instance.instanceIdentifier);

    const backupKey = createManagedKey(this, 'BackupKey', {
      alias: `${prefix}-backup`,
      description: `AWS Backup vault of ${prefix}`,
    });
    this.backup = new Backup(this, 'Backup', {
      namePrefix: prefix,
      key: backupKey,
      dailyRetentionDays: config.backup.dailyRetentionDays,
      weeklyRetentionWeeks: config.backup.weeklyRetentionWeeks,
      monthlyRetentionMonths: config.backup.monthlyRetentionMonths,
      copyToVaultArn: config.backup.copyToVaultArn,
      lock: config.backup.vaultLock,
    });
    this.restoreTesting = new RestoreTesting(this, 'RestoreTesting', {
      namePrefix: prefix,
      vault: this.backup.vault,
      dbSubnetGroupName: this.database.subnetGroupName,
      databaseSecurityGroupId: props.databaseSecurityGroup.securityGroupId,
    });
    new RestoreValidation(this, 'RestoreValidation', {
      namePrefix: prefix,
      stage: config.stage,
      restoreTestingPlanArn: this.restoreTesting.plan.attrRestoreTestingPlanArn,
      logKey: key,
      logRetentionDays: config.observability.logRetentionDays,
    });
  }
}
