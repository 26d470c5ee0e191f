// The database on AWS: RDS stop/start, AWS Backup on-demand jobs and recovery points, point-in-time restore to a new instance.
import {
  DescribeBackupJobCommand,
  paginateListRecoveryPointsByBackupVault,
  type RecoveryPointByBackupVault,
  StartBackupJobCommand,
} from '@aws-sdk/client-backup';
import {
  type DBInstance,
  DescribeDBInstancesCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
  StartDBInstanceCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { type BackupInfo, type Progress, type ReplicaStatus, type RestoreTarget, TierError } from '../backend.js';
import type { AwsContext } from './context.js';
import { callAws, toTierError } from './errors.js';
import { need } from './outputs.js';

async function dbIdentifier(ctx: AwsContext): Promise<string> {
  const out = await ctx.outputs();
  return need(out.dbInstanceIdentifier, 'DbInstanceId', out);
}

export async function describeDb(ctx: AwsContext, id: string): Promise<DBInstance> {
  const out = await callAws('rds:DescribeDBInstances', () =>
    ctx.clients.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id })),
  );
  const db = out.DBInstances?.[0];
  if (!db) throw toTierError({ name: 'DBInstanceNotFound', message: id }, 'rds:DescribeDBInstances');
  return db;
}

const DB_HEALTH: Record<string, ReplicaStatus['health']> = {
  available: 'healthy',
  'backing-up': 'healthy',
  modifying: 'healthy',
  'storage-optimization': 'healthy',
  'configuring-enhanced-monitoring': 'healthy',
  'configuring-log-exports': 'healthy',
  maintenance: 'healthy',
  upgrading: 'healthy',
  creating: 'starting',
  starting: 'starting',
  rebooting: 'starting',
  renaming: 'starting',
  'resetting-master-credentials': 'starting',
  stopped: 'stopped',
  stopping: 'stopped',
  failed: 'unhealthy',
  'storage-full': 'unhealthy',
  'inaccessible-encryption-credentials': 'unhealthy',
  'incompatible-parameters': 'unhealthy',
  'incompatible-network': 'unhealthy',
  'incompatible-restore': 'unhealthy',
};

/** The DB as one replica line in `tier status`. */
export async function databaseReplica(ctx: AwsContext, id: string): Promise<ReplicaStatus> {
  const db = await describeDb(ctx, id);
  const endpoint = db.Endpoint?.Address ? `${db.Endpoint.Address}:${db.Endpoint.Port ?? 5432}` : '';
  return {
    tier: 'db',
    name: id,
    version: `${db.Engine ?? 'postgres'} ${db.EngineVersion ?? ''}`.trim(),
    health: DB_HEALTH[db.DBInstanceStatus ?? ''] ?? 'unknown',
    address: endpoint,
  };
}

export async function stopDb(ctx: AwsContext, progress: Progress): Promise<void> {
  const id = await dbIdentifier(ctx);
  progress.step(`stopping database ${id}`);
  await callAws('rds:StopDBInstance', () =>
    ctx.clients.rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: id })),
  );
  progress.done('stopping (takes a few minutes; the API answers 503 meanwhile)');
  // RDS starts a stopped instance again by itself after seven days; say so rather than surprise anyone.
  progress.warn('RDS starts a stopped instance automatically after 7 days');
}

export async function startDb(ctx: AwsContext, progress: Progress): Promise<void> {
  const id = await dbIdentifier(ctx);
  progress.step(`starting database ${id}`);
  await callAws('rds:StartDBInstance', () =>
    ctx.clients.rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: id })),
  );
  progress.done('starting (takes a few minutes; `tier status --target aws` shows when it is available)');
}

// ---- AWS Backup ------------------------------------------------------------------------------

function backupInfo(p: { id: string; type: string; started?: Date; finished?: Date; size?: number }): BackupInfo {
  return {
    id: p.id,
    type: p.type,
    startedAt: p.started?.toISOString() ?? '',
    finishedAt: p.finished?.toISOString() ?? '',
    ...(p.size !== undefined ? { sizeBytes: p.size } : {}),
  };
}

/** Starts an AWS Backup job on the DB and waits until it has a recovery point. */
export async function backupNow(ctx: AwsContext, progress: Progress): Promise<BackupInfo> {
  const out = await ctx.outputs();
  const vault = need(out.backupVaultName, 'BackupVaultName', out);
  const db = await describeDb(ctx, await dbIdentifier(ctx));
  const dbArn = db.DBInstanceArn ?? '';
  // The role the plan's selection uses (data stack): on-demand jobs get exactly the rights scheduled ones have.
  const role = need(out.backupRoleArn, 'BackupRoleArn', out);
  const keepDays = Number(need(out.backupRetentionDays, 'BackupRetentionDays', out));

  progress.step(`backing up ${db.DBInstanceIdentifier} into vault ${vault}`);
  const started = await callAws('backup:StartBackupJob', () =>
    ctx.clients.backup.send(
      new StartBackupJobCommand({
        BackupVaultName: vault,
        ResourceArn: dbArn,
        IamRoleArn: role,
        // Same token within a minute = same job, so a retried command does not start a second one.
        IdempotencyToken: `tier-${ctx.stage}-${Math.floor(ctx.now() / 60_000)}`,
        StartWindowMinutes: 60,
        RecoveryPointTags: { 'tier:taken-by': 'tier backup now' },
        // Without a lifecycle a point in a compliance-locked vault could never be deleted.
        Lifecycle: { DeleteAfterDays: keepDays },
      }),
    ),
  );
  const jobId = started.BackupJobId ?? '';
  const deadline = ctx.now() + ctx.backupTimeoutMs;
  let last = '';
  for (;;) {
    const job = await callAws('backup:DescribeBackupJob', () =>
      ctx.clients.backup.send(new DescribeBackupJobCommand({ BackupJobId: jobId })),
    );
    const line = `job ${jobId}: ${job.State ?? 'UNKNOWN'}${job.PercentDone ? ` ${job.PercentDone}%` : ''}`;
    if (line !== last) progress.info(line);
    last = line;
    if (job.State === 'COMPLETED') {
      progress.done(job.RecoveryPointArn);
      return backupInfo({
        id: job.RecoveryPointArn ?? jobId,
        type: 'on-demand',
        started: job.CreationDate,
        finished: job.CompletionDate,
        ...(job.BackupSizeInBytes !== undefined ? { size: job.BackupSizeInBytes } : {}),
      });
    }
    if (job.State && ['ABORTED', 'FAILED', 'EXPIRED', 'PARTIAL'].includes(job.State)) {
      throw new TierError(
        `backup job ${jobId} ended ${job.State}: ${job.StatusMessage ?? 'no reason given'}`,
        'check the job in the AWS Backup console; the DB must be available and the backup role allowed to snapshot it',
      );
    }
    if (ctx.now() > deadline) {
      throw new TierError(
        `backup job ${jobId} still ${job.State} after ${Math.round(ctx.backupTimeoutMs / 60_000)} min`,
        'AWS Backup keeps going; see `tier backup list --target aws` later',
      );
    }
    await ctx.sleep(ctx.pollIntervalMs);
  }
}

/** Recovery points of the DB in the stage's vault, oldest first (as the CLI lists them). */
export async function backupList(ctx: AwsContext): Promise<BackupInfo[]> {
  const out = await ctx.outputs();
  const vault = need(out.backupVaultName, 'BackupVaultName', out);
  const db = await describeDb(ctx, await dbIdentifier(ctx));
  const points: RecoveryPointByBackupVault[] = [];
  try {
    for await (const page of paginateListRecoveryPointsByBackupVault(
      { client: ctx.clients.backup },
      { BackupVaultName: vault, ByResourceArn: db.DBInstanceArn },
    )) {
      points.push(...(page.RecoveryPoints ?? []));
    }
  } catch (err) {
    throw toTierError(err, 'backup:ListRecoveryPointsByBackupVault');
  }
  return points
    .filter((p) => p.Status !== 'DELETING' && p.Status !== 'EXPIRED')
    .sort((a, b) => (a.CreationDate?.getTime() ?? 0) - (b.CreationDate?.getTime() ?? 0))
    .map((p) =>
      backupInfo({
        id: p.RecoveryPointArn ?? '',
        type: p.CreatedBy?.BackupPlanId ? 'scheduled' : 'on-demand',
        started: p.CreationDate,
        finished: p.CompletionDate,
        ...(p.BackupSizeInBytes !== undefined ? { size: p.BackupSizeInBytes } : {}),
      }),
    );
}

// ---- restore ---------------------------------------------------------------------------------

/** `<live>-restore-YYYYMMDDHHMM`: unique per minute, always different from the live identifier. */
export function restoredIdentifier(live: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 12);
  return `${live.slice(0, 63 - 21)}-restore-${stamp}`;
}

/**
 * Restores into a NEW instance next to the live one (same subnets, security groups, class, parameter
 * group), never over it, and prints the switch-over steps. The live instance is not touched.
 */
export async function restore(ctx: AwsContext, progress: Progress, target: RestoreTarget): Promise<string> {
  const live = await describeDb(ctx, await dbIdentifier(ctx));
  const liveId = live.DBInstanceIdentifier ?? '';
  const newId = restoredIdentifier(liveId, ctx.now());
  const copied = {
    DBInstanceClass: live.DBInstanceClass,
    DBSubnetGroupName: live.DBSubnetGroup?.DBSubnetGroupName,
    VpcSecurityGroupIds: live.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId ?? '').filter(Boolean),
    DBParameterGroupName: live.DBParameterGroups?.[0]?.DBParameterGroupName,
    MultiAZ: live.MultiAZ,
    PubliclyAccessible: false,
    CopyTagsToSnapshot: true,
    DeletionProtection: live.DeletionProtection,
    EnableIAMDatabaseAuthentication: live.IAMDatabaseAuthenticationEnabled,
    EnableCloudwatchLogsExports: live.EnabledCloudwatchLogsExports,
    // Not the live tags: the backup-selection tag would enrol the copy in the plan before anyone decided to keep it.
    Tags: [
      { Key: 'tier:restored-from', Value: liveId },
      { Key: 'tier:stage', Value: ctx.stage },
    ],
  };

  if ('backupId' in target) {
    // AWS Backup recovery points of RDS are DB snapshots; their ARN is a valid snapshot identifier.
    if (!/^arn:aws[\w-]*:rds:[^:]+:\d{12}:snapshot:/.test(target.backupId)) {
      throw new TierError(
        `'${target.backupId}' is not an RDS recovery point ARN`,
        'copy an id (arn:aws:rds:...:snapshot:...) from `tier backup list --target aws`, or use --time / --latest',
      );
    }
    progress.step(`restoring recovery point into new instance ${newId}`);
    await callAws('rds:RestoreDBInstanceFromDBSnapshot', () =>
      ctx.clients.rds.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          ...copied,
          DBInstanceIdentifier: newId,
          DBSnapshotIdentifier: target.backupId,
        }),
      ),
    );
  } else {
    let when: { RestoreTime: Date } | { UseLatestRestorableTime: true } = { UseLatestRestorableTime: true };
    if ('time' in target) {
      const time = new Date(target.time);
      if (Number.isNaN(time.getTime())) {
        throw new TierError(`cannot read time '${target.time}'`, 'use ISO-8601, e.g. 2026-01-31T12:00:00Z');
      }
      const latest = live.LatestRestorableTime;
      if (latest && time > latest) {
        throw new TierError(
          `${time.toISOString()} is after the latest restorable time ${latest.toISOString()}`,
          'pick an earlier time or use --latest',
        );
      }
      when = { RestoreTime: time };
    }
    progress.step(`restoring ${liveId} (${'time' in target ? target.time : 'latest'}) into new instance ${newId}`);
    await callAws('rds:RestoreDBInstanceToPointInTime', () =>
      ctx.clients.rds.send(
        new RestoreDBInstanceToPointInTimeCommand({
          ...copied,
          SourceDBInstanceIdentifier: liveId,
          TargetDBInstanceIdentifier: newId,
          ...when,
        }),
      ),
    );
  }
  progress.done(`${newId} is being created; ${liveId} was not touched`);
  for (const line of switchOverSteps(ctx, liveId, newId)) progress.info(line);
  return newId;
}

export function switchOverSteps(ctx: AwsContext, liveId: string, newId: string): string[] {
  const stage = ctx.stage;
  return [
    'switch-over (when you have checked the restored data):',
    `  1. wait:    aws rds wait db-instance-available --db-instance-identifier ${newId}`,
    `  2. check:   connect through ECS Exec on an api task and query ${newId}`,
    `  3. pause:   tier stop api --target aws --stage ${stage}   (writes after this point would be lost)`,
    `  4. retire:  aws rds modify-db-instance --db-instance-identifier ${liveId} --new-db-instance-identifier ${liveId}-old --apply-immediately`,
    `  5. promote: aws rds modify-db-instance --db-instance-identifier ${newId} --new-db-instance-identifier ${liveId} --apply-immediately`,
    '             (same identifier = same endpoint and secret host; the stack keeps managing it)',
    `  6. resume:  tier start api --target aws --stage ${stage}, then tier status --target aws`,
    `  7. drift:   cd infra/aws && npx cdk diff -c stage=${stage}; keep ${liveId}-old until you are sure,`,
    '             then disable its deletion protection and delete it with a final snapshot',
  ];
}
