// AWS backend: on-demand backups, recovery points and point-in-time restore into a new instance.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  DescribeBackupJobCommand,
  ListRecoveryPointsByBackupVaultCommand,
  StartBackupJobCommand,
} from '@aws-sdk/client-backup';
import {
  DescribeDBInstancesCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { TierError } from '../src/backend.js';
import { BACKUP_ROLE, backend, DB_ARN, DB_ID, mockAws, recorder, VAULT } from './aws-support.js';

let aws: ReturnType<typeof mockAws>;
beforeEach(() => {
  aws = mockAws();
  aws.rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [
      {
        DBInstanceIdentifier: DB_ID,
        DBInstanceArn: DB_ARN,
        DBInstanceStatus: 'available',
        DBInstanceClass: 'db.t4g.micro',
        DBSubnetGroup: { DBSubnetGroupName: 'tier-dev-isolated' },
        VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-db', Status: 'active' }],
        DBParameterGroups: [{ DBParameterGroupName: 'tier-dev-pg17' }],
        MultiAZ: false,
        DeletionProtection: true,
        IAMDatabaseAuthenticationEnabled: false,
        EnabledCloudwatchLogsExports: ['postgresql'],
        LatestRestorableTime: new Date('2026-03-01T11:55:00Z'),
      },
    ],
  });
});

describe('backup now and list', () => {
  it('starts an AWS Backup job on the DB with the vault and role from the outputs and waits for it', async () => {
    aws.backup.on(StartBackupJobCommand).resolves({ BackupJobId: 'job-1' });
    aws.backup
      .on(DescribeBackupJobCommand)
      .resolvesOnce({ State: 'RUNNING', PercentDone: '40' })
      .resolves({
        State: 'COMPLETED',
        RecoveryPointArn: 'arn:aws:rds:eu-west-1:123456789012:snapshot:awsbackup:job-1',
        CreationDate: new Date('2026-03-01T12:00:00Z'),
        CompletionDate: new Date('2026-03-01T12:06:00Z'),
        BackupSizeInBytes: 2048,
      });
    const progress = recorder();
    const info = await backend().backupNow(progress);

    const input = aws.backup.commandCalls(StartBackupJobCommand)[0]?.args[0].input;
    assert.equal(input?.BackupVaultName, VAULT);
    assert.equal(input?.ResourceArn, DB_ARN);
    assert.equal(input?.IamRoleArn, BACKUP_ROLE);
    assert.ok((input?.Lifecycle?.DeleteAfterDays ?? 0) >= 1, "kept for the stage's retention, then deleted");
    assert.equal(input?.IdempotencyToken, `tier-dev-${Math.floor(Date.parse('2026-03-01T12:00:30Z') / 60_000)}`);
    assert.deepEqual(aws.backup.commandCalls(DescribeBackupJobCommand)[0]?.args[0].input, { BackupJobId: 'job-1' });
    assert.deepEqual(info, {
      id: 'arn:aws:rds:eu-west-1:123456789012:snapshot:awsbackup:job-1',
      type: 'on-demand',
      startedAt: '2026-03-01T12:00:00.000Z',
      finishedAt: '2026-03-01T12:06:00.000Z',
      sizeBytes: 2048,
    });
    assert.ok(progress.lines.includes('info job job-1: RUNNING 40%'));
  });

  it('says why a backup job failed and what to check', async () => {
    aws.backup.on(StartBackupJobCommand).resolves({ BackupJobId: 'job-2' });
    aws.backup.on(DescribeBackupJobCommand).resolves({ State: 'FAILED', StatusMessage: 'Insufficient privileges' });
    await assert.rejects(
      backend().backupNow(recorder()),
      (err: TierError) =>
        /job-2 ended FAILED: Insufficient privileges/.test(err.message) && /backup role/.test(err.hint ?? ''),
    );
  });

  it('lists the DB recovery points of the vault, oldest first', async () => {
    aws.backup.on(ListRecoveryPointsByBackupVaultCommand).resolves({
      RecoveryPoints: [
        {
          RecoveryPointArn: 'rp-2',
          CreationDate: new Date('2026-02-02T03:00:00Z'),
          CompletionDate: new Date('2026-02-02T03:10:00Z'),
          Status: 'COMPLETED',
          CreatedBy: { BackupPlanId: 'plan-1' },
          BackupSizeInBytes: 10,
        },
        { RecoveryPointArn: 'rp-1', CreationDate: new Date('2026-02-01T03:00:00Z'), Status: 'COMPLETED' },
        { RecoveryPointArn: 'rp-0', CreationDate: new Date('2026-01-01T03:00:00Z'), Status: 'EXPIRED' },
      ],
    });
    const list = await backend().backupList();
    const input = aws.backup.commandCalls(ListRecoveryPointsByBackupVaultCommand)[0]?.args[0].input;
    assert.equal(input?.BackupVaultName, VAULT);
    assert.equal(input?.ByResourceArn, DB_ARN);
    assert.deepEqual(
      list.map((b) => [b.id, b.type]),
      [
        ['rp-1', 'on-demand'],
        ['rp-2', 'scheduled'],
      ],
    );
  });
});

describe('restore', () => {
  const NEW_ID = `${DB_ID}-restore-202603011200`;

  it('restores a point in time into a NEW instance in the same subnets and security groups', async () => {
    const progress = recorder();
    await backend().restore(progress, { time: '2026-03-01T11:00:00Z' });

    const input = aws.rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]?.args[0].input;
    assert.equal(input?.SourceDBInstanceIdentifier, DB_ID);
    assert.equal(input?.TargetDBInstanceIdentifier, NEW_ID);
    assert.notEqual(input?.TargetDBInstanceIdentifier, DB_ID);
    assert.deepEqual(input?.RestoreTime, new Date('2026-03-01T11:00:00Z'));
    assert.equal(input?.UseLatestRestorableTime, undefined);
    assert.equal(input?.DBSubnetGroupName, 'tier-dev-isolated');
    assert.deepEqual(input?.VpcSecurityGroupIds, ['sg-db']);
    assert.equal(input?.DBParameterGroupName, 'tier-dev-pg17');
    assert.equal(input?.PubliclyAccessible, false);
    assert.ok(input?.Tags?.some((t) => t.Key === 'tier:restored-from' && t.Value === DB_ID));
    // Only describe and restore: nothing modifies, renames or deletes the live instance.
    assert.deepEqual(
      aws.rds.calls().map((c) => c.args[0].constructor.name),
      ['DescribeDBInstancesCommand', 'RestoreDBInstanceToPointInTimeCommand'],
    );
    const steps = progress.lines.join('\n');
    assert.match(steps, new RegExp(`aws rds wait db-instance-available --db-instance-identifier ${NEW_ID}`));
    assert.match(steps, new RegExp(`--db-instance-identifier ${NEW_ID} --new-db-instance-identifier ${DB_ID} `));
  });

  it('--latest uses the latest restorable time', async () => {
    await backend().restore(recorder(), { latest: true });
    const input = aws.rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]?.args[0].input;
    assert.equal(input?.UseLatestRestorableTime, true);
    assert.equal(input?.RestoreTime, undefined);
  });

  it('a recovery point from `backup list` is restored from its snapshot, also into a new instance', async () => {
    const snapshot = 'arn:aws:rds:eu-west-1:123456789012:snapshot:awsbackup:job-1';
    await backend().restore(recorder(), { backupId: snapshot });
    const input = aws.rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0]?.args[0].input;
    assert.equal(input?.DBSnapshotIdentifier, snapshot);
    assert.equal(input?.DBInstanceIdentifier, NEW_ID);
  });

  it('refuses times after the latest restorable time and ids that are not recovery points', async () => {
    await assert.rejects(
      backend().restore(recorder(), { time: '2026-03-01T11:59:00Z' }),
      (err: TierError) => /after the latest restorable time/.test(err.message) && /--latest/.test(err.hint ?? ''),
    );
    await assert.rejects(
      backend().restore(recorder(), { backupId: 'rp-1' }),
      (err: TierError) => /not an RDS recovery point ARN/.test(err.message) && /tier backup list/.test(err.hint ?? ''),
    );
    assert.equal(aws.rds.commandCalls(RestoreDBInstanceToPointInTimeCommand).length, 0);
  });

  it('maps RDS refusing the restore window to a hint', async () => {
    aws.rds
      .on(RestoreDBInstanceToPointInTimeCommand)
      .rejects(Object.assign(new Error('restore time is before the earliest'), { name: 'InvalidRestoreFault' }));
    await assert.rejects(
      backend().restore(recorder(), { time: '2025-01-01T00:00:00Z' }),
      (err: unknown) => err instanceof TierError && /restore window/.test(err.hint ?? ''),
    );
  });
});
