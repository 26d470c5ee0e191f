// tier restore --target aws: restores the database into a new instance, verifies it with the application's own
// migration job and data check, then makes it the live one through configuration (the SSM parameters the services stack reads),
// carrying over credentials and their rotation, tags and backup membership. Every step is recorded, so an interrupted
// restore resumes where it stopped, from any machine.
import {
  DescribeStacksCommand,
  type Stack,
  type Parameter as StackParameter,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import {
  AddTagsToResourceCommand,
  type DBInstance,
  DescribeDBInstancesCommand,
  ListTagsForResourceCommand,
  ModifyDBInstanceCommand,
  RemoveTagsFromResourceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import {
  APP_NAME,
  LIVE_DATABASE_FIELDS,
  type LiveDatabaseField,
  liveDatabaseParameter,
  restoreStateParameter,
} from '../../../contract/src/index.js';
import { type Progress, type RestoreTarget, TierError } from '../backend.js';
import type { AwsContext } from './context.js';
import { callAws } from './errors.js';
import { need } from './outputs.js';
import { describeStop, exitedZero, startTask, taskId, taskLogLines, waitForTask } from './tasks.js';

/** The steps in order; the state names the next one to run. */
export const RESTORE_STEPS = ['restore', 'configure', 'verify', 'own-credentials', 'switch', 'follow', 'done'] as const;
export type RestoreStep = (typeof RESTORE_STEPS)[number];

const WHAT: Record<RestoreStep, string> = {
  restore: 'restore into a new instance beside the live one (the live one is not touched)',
  configure:
    'give it what a restore does not carry: storage autoscaling, Performance Insights, enhanced monitoring, maintenance window, the current owner password',
  verify:
    "run the release's migration task against it (it must answer over TLS as the owner, migrate, and accept the API user's current password), then the admin task's data check: the row count of every application table and the API's status query",
  'own-credentials': 'let RDS manage and rotate its owner password in a secret of its own (the data key)',
  switch:
    'point the live-database parameters at it and update the services and monitoring stacks with their deployed templates, so new api tasks connect to it and the database alarms watch it',
  follow:
    "move the API user's rotation (host, owner secret), the tags and the backup selection to it; untag the replaced instance",
  done: 'done',
};

export interface RestoreState {
  readonly version: 1;
  readonly target: RestoreTarget;
  readonly startedAt: string;
  /** The instance that was live when the restore began: the source, and the one it replaces. */
  readonly liveId: string;
  readonly newId: string;
  /** The next step to run. */
  readonly step: RestoreStep;
  /** The migration task against the copy, once started: a resumed verify waits for it rather than starting another. */
  readonly verifyTaskArn?: string;
  /** The migration task exited 0. */
  readonly migrated?: boolean;
  /** The admin task's data check against the copy, once started. */
  readonly dataCheckTaskArn?: string;
  /** What the live-database parameters held before the switch: written back if the stack update fails. */
  readonly previous?: Readonly<Record<LiveDatabaseField, string>>;
}

export interface RestoreRequest {
  /** Where to restore to; not needed to resume. */
  readonly target?: RestoreTarget;
  /** Continue the recorded restore. */
  readonly resume?: boolean;
  /** Print what would happen and change nothing. */
  readonly dryRun?: boolean;
}

/** `<base>-YYYYMMDDHHMM`: unique per minute, never the base itself; the base is the stack's own identifier. */
export function restoredIdentifier(base: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 12);
  return `${base.slice(0, 63 - 13)}-${stamp}`;
}

function describeTarget(t: RestoreTarget): string {
  if ('time' in t) return `time ${t.time}`;
  if ('backupId' in t) return `recovery point ${t.backupId}`;
  return 'the latest restorable time';
}

function sameTarget(a: RestoreTarget, b: RestoreTarget): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---- state -----------------------------------------------------------------------------------

async function readParameter(ctx: AwsContext, name: string): Promise<string | undefined> {
  try {
    const out = await ctx.clients.ssm.send(new GetParameterCommand({ Name: name }));
    return out.Parameter?.Value;
  } catch (err) {
    if ((err as { name?: string }).name === 'ParameterNotFound') return undefined;
    return callAws('ssm:GetParameter', () => Promise.reject(err));
  }
}

async function writeParameter(ctx: AwsContext, name: string, value: string): Promise<void> {
  await callAws('ssm:PutParameter', () =>
    ctx.clients.ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true })),
  );
}

export async function readRestoreState(ctx: AwsContext): Promise<RestoreState | undefined> {
  const text = await readParameter(ctx, restoreStateParameter(ctx.stage));
  if (text === undefined) return undefined;
  const state = JSON.parse(text) as RestoreState;
  if (state.version !== 1 || !RESTORE_STEPS.includes(state.step)) {
    throw new TierError(
      `${restoreStateParameter(ctx.stage)} holds a restore state this CLI does not know`,
      'update tier, or finish that restore with the CLI version that started it',
    );
  }
  return state;
}

/** The live instance: the parameter a restore switches, or (before the first deployment that creates it) the output. */
export async function liveInstanceId(ctx: AwsContext): Promise<string> {
  const live = await readParameter(ctx, liveDatabaseParameter(ctx.stage, 'instance-id'));
  if (live) return live;
  const out = await ctx.outputs();
  return need(out.dbInstanceIdentifier, 'DbInstanceId', out);
}

// ---- RDS -------------------------------------------------------------------------------------

async function findDb(ctx: AwsContext, id: string): Promise<DBInstance | undefined> {
  try {
    const out = await ctx.clients.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return out.DBInstances?.[0];
  } catch (err) {
    if (/DBInstanceNotFound/.test((err as { name?: string }).name ?? '')) return undefined;
    return callAws('rds:DescribeDBInstances', () => Promise.reject(err));
  }
}

async function getDb(ctx: AwsContext, id: string): Promise<DBInstance> {
  const db = await findDb(ctx, id);
  if (!db) throw new TierError(`database instance ${id} does not exist`, 'check --stage/--region');
  return db;
}

/** Waits until the instance is available with nothing pending (a modification applied, a password reset done). */
async function settled(
  ctx: AwsContext,
  progress: Progress,
  id: string,
  ready: (db: DBInstance) => boolean = () => true,
): Promise<DBInstance> {
  const deadline = ctx.now() + ctx.restoreTimeoutMs;
  let last = '';
  for (;;) {
    const db = await getDb(ctx, id);
    const pending = Object.keys(db.PendingModifiedValues ?? {});
    const line = `${id}: ${db.DBInstanceStatus ?? 'unknown'}${pending.length ? ` (pending ${pending.join(', ')})` : ''}`;
    if (line !== last) progress.info(line);
    last = line;
    if (db.DBInstanceStatus === 'available' && pending.length === 0 && ready(db)) return db;
    if (
      ['failed', 'incompatible-restore', 'incompatible-parameters', 'storage-full'].includes(db.DBInstanceStatus ?? '')
    ) {
      throw new TierError(
        `${id} is ${db.DBInstanceStatus}`,
        'see its events in the RDS console; the live database was not touched, delete this instance and restore again',
      );
    }
    if (ctx.now() > deadline) {
      throw new TierError(
        `${id} still ${db.DBInstanceStatus} after ${Math.round(ctx.restoreTimeoutMs / 60_000)} min`,
        'RDS keeps going: run `tier restore --target aws --resume` later',
      );
    }
    await ctx.sleep(ctx.pollIntervalMs);
  }
}

/** User tags only: `aws:` tags are reserved, CloudFormation's own and may not be set. */
function userTags(tags: Tag[] | undefined): Tag[] {
  return (tags ?? []).filter((t) => t.Key && !t.Key.startsWith('aws:'));
}

// ---- the steps -------------------------------------------------------------------------------

interface Facts {
  readonly live: DBInstance;
}

async function stepRestore(ctx: AwsContext, progress: Progress, state: RestoreState, { live }: Facts): Promise<void> {
  if (await findDb(ctx, state.newId)) {
    progress.info(`${state.newId} exists already (an earlier run started it)`);
    return;
  }
  const settings = {
    DBInstanceClass: live.DBInstanceClass,
    DBSubnetGroupName: live.DBSubnetGroup?.DBSubnetGroupName,
    VpcSecurityGroupIds: live.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId ?? '').filter(Boolean),
    DBParameterGroupName: live.DBParameterGroups?.[0]?.DBParameterGroupName,
    MultiAZ: live.MultiAZ,
    Port: live.Endpoint?.Port,
    PubliclyAccessible: false,
    StorageType: live.StorageType,
    Iops: live.StorageType === 'gp3' || live.StorageType?.startsWith('io') ? live.Iops : undefined,
    StorageThroughput: live.StorageType === 'gp3' ? live.StorageThroughput : undefined,
    CopyTagsToSnapshot: live.CopyTagsToSnapshot,
    DeletionProtection: live.DeletionProtection,
    AutoMinorVersionUpgrade: live.AutoMinorVersionUpgrade,
    BackupRetentionPeriod: live.BackupRetentionPeriod,
    PreferredBackupWindow: live.PreferredBackupWindow,
    CACertificateIdentifier: live.CACertificateIdentifier,
    EnableIAMDatabaseAuthentication: live.IAMDatabaseAuthenticationEnabled,
    EnableCloudwatchLogsExports: live.EnabledCloudwatchLogsExports,
    // Not the backup-selection tag yet: the copy joins the plan when it becomes the live one (step follow).
    Tags: [
      { Key: 'tier:restored-from', Value: state.liveId },
      { Key: 'tier:stage', Value: ctx.stage },
    ],
  };
  const target = state.target;
  if ('backupId' in target) {
    await callAws('rds:RestoreDBInstanceFromDBSnapshot', () =>
      ctx.clients.rds.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          ...settings,
          DBInstanceIdentifier: state.newId,
          DBSnapshotIdentifier: target.backupId,
        }),
      ),
    );
  } else {
    await callAws('rds:RestoreDBInstanceToPointInTime', () =>
      ctx.clients.rds.send(
        new RestoreDBInstanceToPointInTimeCommand({
          ...settings,
          SourceDBInstanceIdentifier: state.liveId,
          TargetDBInstanceIdentifier: state.newId,
          ...('time' in target ? { RestoreTime: new Date(target.time) } : { UseLatestRestorableTime: true }),
        }),
      ),
    );
  }
}

async function ownerPassword(ctx: AwsContext, live: DBInstance): Promise<string> {
  const arn = live.MasterUserSecret?.SecretArn;
  if (!arn) {
    throw new TierError(
      `${live.DBInstanceIdentifier} has no RDS-managed owner secret`,
      'the data stack manages the owner password (manageMasterUserPassword); redeploy it',
    );
  }
  const out = await callAws('secretsmanager:GetSecretValue', () =>
    ctx.clients.secrets.send(new GetSecretValueCommand({ SecretId: arn })),
  );
  const password = (JSON.parse(out.SecretString ?? '{}') as { password?: string }).password;
  if (!password) throw new TierError(`the owner secret ${arn} has no password`, 'check the secret in the console');
  return password;
}

async function stepConfigure(ctx: AwsContext, progress: Progress, state: RestoreState, { live }: Facts) {
  await settled(ctx, progress, state.newId);
  // The owner password of the snapshot is an old one (RDS rotates it): the migration task logs in with the current.
  const password = await ownerPassword(ctx, live);
  await callAws('rds:ModifyDBInstance', () =>
    ctx.clients.rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: state.newId,
        ApplyImmediately: true,
        MasterUserPassword: password,
        MaxAllocatedStorage: live.MaxAllocatedStorage,
        PreferredMaintenanceWindow: live.PreferredMaintenanceWindow,
        ...(live.PerformanceInsightsEnabled
          ? {
              EnablePerformanceInsights: true,
              PerformanceInsightsKMSKeyId: live.PerformanceInsightsKMSKeyId,
              PerformanceInsightsRetentionPeriod: live.PerformanceInsightsRetentionPeriod,
            }
          : {}),
        ...(live.MonitoringInterval
          ? { MonitoringInterval: live.MonitoringInterval, MonitoringRoleArn: live.MonitoringRoleArn }
          : {}),
      }),
    ),
  );
  await settled(ctx, progress, state.newId);
}

/** The admin task: the api image's one-off operator program (apps/api/src/inspect.ts), run as the owner. */
export function adminTaskFamily(stage: string): string {
  return `${APP_NAME}-${stage}-admin`;
}

/** What `inspect.js verify` printed (its one JSON line). */
interface DataCheck {
  readonly ok?: boolean;
  readonly tables?: Record<string, number>;
  readonly status?: { time?: string };
  readonly problems?: string[];
}

/** Container `name` of a task definition, the one that reads DBHOST (the task's database). */
async function databaseContainer(ctx: AwsContext, family: string, what: string) {
  const { taskDefinition } = await callAws('ecs:DescribeTaskDefinition', () =>
    ctx.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: family })),
  );
  const container = taskDefinition?.containerDefinitions?.find((c) => c.environment?.some((e) => e.name === 'DBHOST'));
  if (!taskDefinition?.taskDefinitionArn || !container?.name) {
    throw new TierError(
      `the ${what} task definition ${family} has no container with DBHOST`,
      'redeploy the services stack',
    );
  }
  return { arn: taskDefinition.taskDefinitionArn, container: { ...container, name: container.name } };
}

// Two one-off tasks against the copy, each recorded once started (a resumed verify waits for it rather than starting
// another) and forgotten when it failed (the next run starts a new one): the release's migration, then the data check.
async function stepVerify(ctx: AwsContext, progress: Progress, state: RestoreState, save: Save): Promise<void> {
  const db = await settled(ctx, progress, state.newId);
  const host = db.Endpoint?.Address;
  if (!host) throw new TierError(`${state.newId} has no endpoint yet`, 'run `tier restore --target aws --resume`');
  const out = await ctx.outputs();
  const cluster = need(out.clusterName, 'ClusterName', out);
  const network = {
    cluster,
    subnets: need(out.migration.subnets, 'MigrationSubnetIds', out).split(','),
    securityGroup: need(out.migration.securityGroup, 'MigrationSecurityGroupId', out),
  };
  const resume = 'run `tier restore --target aws --resume` later';
  const nothingSwitched = (log: string) =>
    `nothing was switched; read the ${log} log group (tier --target aws --stage ${ctx.stage} logs --since 30m), fix, then --resume`;

  if (!state.migrated) {
    let taskArn = state.verifyTaskArn;
    if (!taskArn) {
      const family = need(out.migration.taskDefinition, 'MigrationTaskDefinitionArn', out);
      const { arn, container } = await databaseContainer(ctx, family, 'migration');
      taskArn = await startTask(ctx, {
        ...network,
        taskDefinition: arn,
        startedBy: 'tier-restore-verify',
        container: { name: container.name, environment: { DBHOST: host } },
      });
      await save({ verifyTaskArn: taskArn });
    }
    progress.info(`migration task ${taskId(taskArn)} against ${host}`);
    const task = await waitForTask(ctx, cluster, taskArn, ctx.rolloutTimeoutMs, resume);
    if (!exitedZero(task)) {
      await save({ verifyTaskArn: undefined });
      throw new TierError(
        `the restored database failed verification: the migration task stopped: ${describeStop(task)}`,
        nothingSwitched('migrate'),
      );
    }
    await save({ migrated: true });
  }

  // The admin task's own program in its verification mode, as the owner, against the copy.
  const { arn, container } = await databaseContainer(ctx, adminTaskFamily(ctx.stage), 'admin');
  let taskArn = state.dataCheckTaskArn;
  if (!taskArn) {
    if (!container.command?.length) {
      throw new TierError(`the admin task definition ${arn} has no command`, 'redeploy the services stack');
    }
    taskArn = await startTask(ctx, {
      ...network,
      taskDefinition: arn,
      startedBy: 'tier-restore-data-check',
      container: { name: container.name, command: [...container.command, 'verify'], environment: { DBHOST: host } },
    });
    await save({ dataCheckTaskArn: taskArn });
  }
  progress.info(`data check ${taskId(taskArn)} against ${host}`);
  const task = await waitForTask(ctx, cluster, taskArn, ctx.rolloutTimeoutMs, resume);
  const check = (await taskLogLines(ctx, container, taskArn, (l) => l.msg === 'verify')) as DataCheck | undefined;
  const counts = Object.entries(check?.tables ?? {})
    .map(([table, rows]) => `${table} ${rows}`)
    .join(', ');
  if (!exitedZero(task) || check?.ok === false) {
    await save({ dataCheckTaskArn: undefined });
    const why = check?.problems?.length ? check.problems.join('; ') : describeStop(task);
    throw new TierError(
      `the restored database failed verification: ${why}${counts ? ` (rows: ${counts})` : ''}`,
      nothingSwitched('exec'),
    );
  }
  // The exit code is the verdict; the line is the report, and a late or unreadable log does not fail a good copy.
  if (check)
    progress.info(`restored data: ${counts || 'no tables'}; status query answered ${check.status?.time ?? '?'}`);
  else progress.warn(`the data check passed (exit 0) but its log line could not be read: see the exec log group`);
}

async function stepOwnCredentials(ctx: AwsContext, progress: Progress, state: RestoreState, { live }: Facts) {
  const db = await settled(ctx, progress, state.newId);
  if (!db.MasterUserSecret?.SecretArn) {
    await callAws('rds:ModifyDBInstance', () =>
      ctx.clients.rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: state.newId,
          ApplyImmediately: true,
          ManageMasterUserPassword: true,
          MasterUserSecretKmsKeyId: live.MasterUserSecret?.KmsKeyId,
        }),
      ),
    );
  }
  await settled(ctx, progress, state.newId, (d) => d.MasterUserSecret?.SecretStatus === 'active');
}

/** The stacks that read the live database from its parameters, and the parameter each must have resolved anew. */
const FOLLOWERS = [
  { concern: 'services', field: 'host', why: 'new api tasks connect to it' },
  { concern: 'monitoring', field: 'instance-id', why: 'the database alarms watch it' },
] as const satisfies ReadonlyArray<{ concern: string; field: LiveDatabaseField; why: string }>;
type Follower = (typeof FOLLOWERS)[number];

async function describeStack(ctx: AwsContext, concern: Follower['concern']): Promise<Stack> {
  const name = `${ctx.stackPrefix}${concern}`;
  const out = await callAws('cloudformation:DescribeStacks', () =>
    ctx.clients.cloudformation.send(new DescribeStacksCommand({ StackName: name })),
  );
  const stack = out.Stacks?.[0];
  if (!stack) throw new TierError(`stack ${name} not found`, 'deploy the stage first (cdk deploy)');
  return stack;
}

/** The stack's SSM-typed parameter that reads `name`, and the value CloudFormation resolved at its last update. */
function resolvedParameter(stack: Stack, name: string): StackParameter | undefined {
  return stack.Parameters?.find((p) => p.ParameterValue === name);
}

async function settledStack(ctx: AwsContext, progress: Progress, concern: Follower['concern']): Promise<Stack> {
  const deadline = ctx.now() + ctx.rolloutTimeoutMs;
  let last = '';
  for (;;) {
    const stack = await describeStack(ctx, concern);
    const status = stack.StackStatus ?? 'UNKNOWN';
    if (status !== last) progress.info(`${stack.StackName}: ${status}`);
    last = status;
    if (!status.endsWith('_IN_PROGRESS')) return stack;
    if (ctx.now() > deadline) throw new TierError(`${stack.StackName} still ${status}`, 'run --resume later');
    await ctx.sleep(ctx.pollIntervalMs);
  }
}

/**
 * Updates the stack with its deployed template, so CloudFormation reads the SSM-typed parameters' current values
 * (it re-reads them on every update; an unchanged `{{resolve:ssm}}` reference would not be). Resolves with the
 * stack's final state; an update an earlier run already completed is not repeated.
 */
async function followParameters(
  ctx: AwsContext,
  progress: Progress,
  state: RestoreState,
  follower: Follower,
  expected: string,
): Promise<Stack> {
  let stack = await settledStack(ctx, progress, follower.concern);
  const resolved = resolvedParameter(stack, liveDatabaseParameter(ctx.stage, follower.field));
  if (resolved?.ResolvedValue === expected && stack.StackStatus === 'UPDATE_COMPLETE') return stack;
  // One token per attempt: a retry of this call is recognised, an update after a rolled-back one is a new request.
  const since = (stack.LastUpdatedTime ?? stack.CreationTime ?? new Date(0)).getTime();
  await callAws('cloudformation:UpdateStack', () =>
    ctx.clients.cloudformation.send(
      new UpdateStackCommand({
        StackName: stack.StackName,
        UsePreviousTemplate: true,
        Parameters: (stack.Parameters ?? []).map((p) => ({ ParameterKey: p.ParameterKey, UsePreviousValue: true })),
        Capabilities: stack.Capabilities,
        RoleARN: stack.RoleARN,
        ClientRequestToken: `tier-restore-${state.newId}-${follower.concern}-${since}`.slice(0, 128),
      }),
    ),
  );
  stack = await settledStack(ctx, progress, follower.concern);
  return stack;
}

async function stepSwitch(ctx: AwsContext, progress: Progress, state: RestoreState, save: Save): Promise<void> {
  const db = await getDb(ctx, state.newId);
  const next: Record<LiveDatabaseField, string> = {
    'instance-id': state.newId,
    host: db.Endpoint?.Address ?? '',
    'master-secret-arn': db.MasterUserSecret?.SecretArn ?? '',
  };
  if (!next.host || !next['master-secret-arn']) {
    throw new TierError(
      `${state.newId} has no endpoint or owner secret yet`,
      'run `tier restore --target aws --resume`',
    );
  }
  // Both stacks must read the parameters before any is switched: a stack that does not would keep the old instance.
  for (const follower of FOLLOWERS) {
    const stack = await describeStack(ctx, follower.concern);
    if (!resolvedParameter(stack, liveDatabaseParameter(ctx.stage, follower.field))) {
      throw new TierError(
        `${stack.StackName} does not read ${liveDatabaseParameter(ctx.stage, follower.field)}`,
        `deploy the ${follower.concern} stack of this CLI version first (cdk deploy), then --resume; nothing was switched`,
      );
    }
  }
  // Recorded before anything changes: a resumed switch must not take its own new values for the old ones.
  let previous = state.previous;
  if (!previous) {
    const values = {} as Record<LiveDatabaseField, string>;
    for (const field of LIVE_DATABASE_FIELDS) {
      const value = await readParameter(ctx, liveDatabaseParameter(ctx.stage, field));
      if (value === undefined) {
        throw new TierError(
          `${liveDatabaseParameter(ctx.stage, field)} does not exist`,
          'deploy the data and services stacks of this CLI version first (cdk deploy): they read the live database from it',
        );
      }
      values[field] = value;
    }
    previous = values;
    await save({ previous });
  }
  for (const field of LIVE_DATABASE_FIELDS)
    await writeParameter(ctx, liveDatabaseParameter(ctx.stage, field), next[field]);

  const [services, monitoring] = FOLLOWERS;
  const app = await followParameters(ctx, progress, state, services, next[services.field]);
  if (app.StackStatus !== 'UPDATE_COMPLETE') {
    for (const field of LIVE_DATABASE_FIELDS)
      await writeParameter(ctx, liveDatabaseParameter(ctx.stage, field), previous[field]);
    throw new TierError(
      `${app.StackName} ended ${app.StackStatus}: ${app.StackStatusReason ?? ''}; the application stays on ${state.liveId}`,
      'read the stack events, fix, then `tier restore --target aws --resume` (the restored instance is kept)',
    );
  }
  // The application runs on the copy now: the parameters stay switched whatever the alarms' stack does.
  const alarms = await followParameters(ctx, progress, state, monitoring, next[monitoring.field]);
  if (alarms.StackStatus !== 'UPDATE_COMPLETE') {
    throw new TierError(
      `${alarms.StackName} ended ${alarms.StackStatus}: ${alarms.StackStatusReason ?? ''}; the application runs on ${state.newId}, the database alarms still watch ${state.liveId}`,
      'read the stack events, fix, then `tier restore --target aws --resume` (it updates only what is left)',
    );
  }
}

async function apiUserSecretArn(ctx: AwsContext): Promise<string> {
  const { cluster, service } = await ctx.service('api');
  const { services } = await callAws('ecs:DescribeServices', () =>
    ctx.clients.ecs.send(new DescribeServicesCommand({ cluster, services: [service] })),
  );
  const { taskDefinition } = await callAws('ecs:DescribeTaskDefinition', () =>
    ctx.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: services?.[0]?.taskDefinition })),
  );
  const arn = taskDefinition?.containerDefinitions
    ?.flatMap((c) => c.environment ?? [])
    .find((e) => e.name === 'DBCREDENTIALS_ARN')?.value;
  if (!arn) throw new TierError('the api task definition has no DBCREDENTIALS_ARN', 'redeploy the services stack');
  return arn;
}

async function stepFollow(ctx: AwsContext, progress: Progress, state: RestoreState, { live }: Facts): Promise<void> {
  const db = await getDb(ctx, state.newId);
  // The API user's secret tells its rotation function where to log in and with which owner secret.
  const secretId = await apiUserSecretArn(ctx);
  const meta = await callAws('secretsmanager:DescribeSecret', () =>
    ctx.clients.secrets.send(new DescribeSecretCommand({ SecretId: secretId })),
  );
  const pending = Object.values(meta.VersionIdsToStages ?? {}).some(
    (s) => s.includes('AWSPENDING') && !s.includes('AWSCURRENT'),
  );
  if (pending) {
    throw new TierError(
      `a rotation of ${meta.Name ?? secretId} is in progress`,
      'wait until it finishes (a few minutes), then `tier restore --target aws --resume`',
    );
  }
  const current = await callAws('secretsmanager:GetSecretValue', () =>
    ctx.clients.secrets.send(new GetSecretValueCommand({ SecretId: secretId })),
  );
  const value = JSON.parse(current.SecretString ?? '{}') as Record<string, unknown>;
  const moved = {
    ...value,
    host: db.Endpoint?.Address,
    port: db.Endpoint?.Port ?? value.port,
    dbInstanceIdentifier: state.newId,
    masterarn: db.MasterUserSecret?.SecretArn,
  };
  if (JSON.stringify(moved) !== JSON.stringify(value)) {
    await callAws('secretsmanager:PutSecretValue', () =>
      ctx.clients.secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(moved) })),
    );
  }

  const liveArn = live.DBInstanceArn ?? '';
  const { TagList } = await callAws('rds:ListTagsForResource', () =>
    ctx.clients.rds.send(new ListTagsForResourceCommand({ ResourceName: liveArn })),
  );
  const carried = userTags(TagList).filter((t) => t.Key !== 'tier:replaced-by');
  // The backup plan selects by tag: the instance that carries the stack's tags is the one backed up from now on.
  const selection = carried.filter((t) => t.Key === 'backup');
  if (selection.length === 0) progress.warn(`${state.liveId} carried no backup tag: check the backup plan's selection`);
  await callAws('rds:AddTagsToResource', () =>
    ctx.clients.rds.send(new AddTagsToResourceCommand({ ResourceName: db.DBInstanceArn, Tags: carried })),
  );
  if (selection.length > 0) {
    await callAws('rds:RemoveTagsFromResource', () =>
      ctx.clients.rds.send(new RemoveTagsFromResourceCommand({ ResourceName: liveArn, TagKeys: ['backup'] })),
    );
  }
  await callAws('rds:AddTagsToResource', () =>
    ctx.clients.rds.send(
      new AddTagsToResourceCommand({ ResourceName: liveArn, Tags: [{ Key: 'tier:replaced-by', Value: state.newId }] }),
    ),
  );
  // The data stack has no read replica (RDS cannot replicate an instance whose owner password it manages); one made
  // by hand keeps following the replaced instance, and RDS cannot re-point it.
  for (const replica of live.ReadReplicaDBInstanceIdentifiers ?? [])
    progress.warn(`read replica ${replica} still follows ${state.liveId}: create a new one from ${state.newId}`);
}

type Save = (change: Partial<RestoreState>) => Promise<void>;

function planLines(ctx: AwsContext, state: RestoreState): string[] {
  const from = RESTORE_STEPS.indexOf(state.step);
  return [
    `restore ${state.liveId} (${describeTarget(state.target)}) into ${state.newId}, then switch stage ${ctx.stage} to it:`,
    ...RESTORE_STEPS.slice(from, -1).map((s, i) => `  ${from + i + 1}. ${s}: ${WHAT[s]}`),
    `  state: ${restoreStateParameter(ctx.stage)} (an interrupted restore continues with --resume)`,
  ];
}

/** Runs (or, with dryRun, describes) a restore from its recorded step to the end; returns the final state. */
export async function restoreDatabase(ctx: AwsContext, progress: Progress, req: RestoreRequest): Promise<RestoreState> {
  let state = await readRestoreState(ctx);
  if (state && state.step !== 'done') {
    if (!req.resume && !(req.target && sameTarget(state.target, req.target))) {
      throw new TierError(
        `a restore to ${describeTarget(state.target)} (${state.newId}) stopped before step ${state.step}`,
        `continue it with \`tier restore --target aws --resume\`; to abandon it, delete ${restoreStateParameter(ctx.stage)} and the instance ${state.newId}`,
      );
    }
    progress.info(`resuming the restore into ${state.newId} at step ${state.step}`);
  } else {
    if (req.resume)
      throw new TierError('there is no unfinished restore to resume', 'start one with --latest, --time or --backup');
    if (!req.target)
      throw new TierError('choose a restore point', 'use --latest, --backup ID or --time 2026-01-31T12:00:00Z');
    state = await newState(ctx, req.target);
  }

  const live = await getDb(ctx, state.liveId);
  if (req.dryRun) {
    for (const line of planLines(ctx, state)) progress.info(line);
    progress.done('dry run: nothing was changed');
    return state;
  }
  if (state.step === 'restore') await writeParameter(ctx, restoreStateParameter(ctx.stage), JSON.stringify(state));

  let current: RestoreState = state;
  const save: Save = async (change) => {
    current = { ...current, ...change };
    await writeParameter(ctx, restoreStateParameter(ctx.stage), JSON.stringify(current));
  };
  const facts = { live };
  const run: Record<Exclude<RestoreStep, 'done'>, () => Promise<void>> = {
    restore: () => stepRestore(ctx, progress, current, facts),
    configure: () => stepConfigure(ctx, progress, current, facts),
    verify: () => stepVerify(ctx, progress, current, save),
    'own-credentials': () => stepOwnCredentials(ctx, progress, current, facts),
    switch: () => stepSwitch(ctx, progress, current, save),
    follow: () => stepFollow(ctx, progress, current, facts),
  };
  while (current.step !== 'done') {
    const step = current.step;
    progress.step(`${RESTORE_STEPS.indexOf(step) + 1}/${RESTORE_STEPS.length - 1} ${step}: ${WHAT[step]}`);
    await run[step]();
    progress.done();
    await save({ step: RESTORE_STEPS[RESTORE_STEPS.indexOf(step) + 1] });
  }
  progress.info(
    `${current.newId} is the live database of ${ctx.stage}; ${current.liveId} is kept (deletion protection on)`,
  );
  progress.info(
    `when sure: aws rds modify-db-instance --db-instance-identifier ${current.liveId} --no-deletion-protection --apply-immediately, then aws rds delete-db-instance --db-instance-identifier ${current.liveId} --final-db-snapshot-identifier ${current.liveId}-final`,
  );
  return current;
}

async function newState(ctx: AwsContext, target: RestoreTarget): Promise<RestoreState> {
  const liveId = await liveInstanceId(ctx);
  const live = await getDb(ctx, liveId);
  if ('backupId' in target) {
    // AWS Backup recovery points of RDS are DB snapshots; their ARN is a valid snapshot identifier.
    if (!/^arn:aws[\w-]*:rds:[^:]+:\d{12}:snapshot:/.test(target.backupId)) {
      throw new TierError(
        `'${target.backupId}' is not an RDS recovery point ARN`,
        'copy an id (arn:aws:rds:...:snapshot:...) from `tier backup list --target aws`, or use --time / --latest',
      );
    }
  } else if ('time' in target) {
    const time = new Date(target.time);
    if (Number.isNaN(time.getTime())) {
      throw new TierError(`cannot read time '${target.time}'`, 'use ISO-8601, e.g. 2026-01-31T12:00:00Z');
    }
    if (live.LatestRestorableTime && time > live.LatestRestorableTime) {
      throw new TierError(
        `${time.toISOString()} is after the latest restorable time ${live.LatestRestorableTime.toISOString()}`,
        'pick an earlier time or use --latest',
      );
    }
  }
  const out = await ctx.outputs();
  const base = need(out.dbInstanceIdentifier, 'DbInstanceId', out);
  return {
    version: 1,
    target,
    startedAt: new Date(ctx.now()).toISOString(),
    liveId,
    newId: restoredIdentifier(base, ctx.now()),
    step: 'restore',
  };
}
