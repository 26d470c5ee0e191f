// AWS backend: on-demand backups and recovery points (restore: aws-restore.test.ts).
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  DescribeBackupJobCommand,
  ListRecoveryPointsByBackupVaultCommand,
  StartBackupJobCommand,
} from '@aws-sdk/client-backup';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { liveDatabaseParameter } from '../../contract/src/index.js';
import type { TierError } from '../src/backend.js';
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

  it('after a restore, backs up the instance the live-database parameter names, not the stack output', async () => {
    const restored = `${DB_ID}-202603011200`;
    aws.ssm
      .on(GetParameterCommand, { Name: liveDatabaseParameter('dev', 'instance-id') })
      .resolves({ Parameter: { Value: restored } });
    aws.backup.on(StartBackupJobCommand).resolves({ BackupJobId: 'job-3' });
    aws.backup.on(DescribeBackupJobCommand).resolves({ State: 'COMPLETED', RecoveryPointArn: 'rp-3' });
    await backend().backupNow(recorder());
    assert.deepEqual(aws.rds.commandCalls(DescribeDBInstancesCommand)[0]?.args[0].input, {
      DBInstanceIdentifier: restored,
    });
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
