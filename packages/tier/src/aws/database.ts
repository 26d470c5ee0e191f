// The database on AWS: RDS stop/start, AWS Backup on-demand jobs and recovery points (restore: restore.ts).
import {
  DescribeBackupJobCommand,
  paginateListRecoveryPointsByBackupVault,
  type RecoveryPointByBackupVault,
  StartBackupJobCommand,
} from '@aws-sdk/client-backup';
import {
  type DBInstance,
  DescribeDBInstancesCommand,
  StartDBInstanceCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { type BackupInfo, type Progress, type ReplicaStatus, TierError } from '../backend.js';
import type { AwsContext } from './context.js';
import { callAws, toTierError } from './errors.js';
import { need } from './outputs.js';
import { liveInstanceId } from './restore.js';

/** The live instance: after a restore, the one it switched to. */
const dbIdentifier = liveInstanceId;

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
