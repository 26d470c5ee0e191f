// Validates what a restore test restored, at the application level, and reports it to AWS Backup
// (PutRestoreValidationResult). Two events drive it:
// 1. the restore job COMPLETED: the restored RDS instance must be available, encrypted and private; then its owner
//    gets a fresh throwaway password (the copy keeps the snapshot's, which the RDS-managed secret has rotated away
//    from), written where only the restore-check task reads it, and that task starts against the copy: the admin
//    task's program in its verification mode (apps/api/src/inspect.ts `verify`), grouped `restore-test:<job id>`;
// 2. that task STOPPED: its exit code is the verdict, its JSON line (row counts, status query) the message.
// Any failure on the way reports FAILED, so a restore test never ends without a result.
import { randomBytes } from 'node:crypto';

export const GROUP_PREFIX = 'restore-test:';

/**
 * Validation statuses that are a verdict. EventBridge and Lambda's asynchronous invocation deliver an event at least
 * once ("your function may receive the same event multiple times, even if no error occurs", Lambda Invoke API
 * reference): a second delivery of either event, once the job has its verdict, must neither start another check (a
 * new password under a running one) nor report again.
 */
const VERDICTS = ['SUCCESSFUL', 'FAILED', 'TIMED_OUT'];

/**
 * @typedef {{ send: (command: unknown) => Promise<any> }} Client
 * @typedef {{ backup: Client, rds: Client, ecs: Client, ssm: Client, cloudformation: Client, logs: Client }} Clients
 * @typedef {Record<string, new (input: object) => unknown>} Commands
 * @typedef {{ servicesStack: string, taskFamily: string, passwordParameter: string, passwordKeyId: string,
 *   pollMs: number, settleTimeoutMs: number, sleep?: (ms: number) => Promise<void> }} Settings
 * @typedef {{ status: 'SUCCESSFUL' | 'FAILED' | 'SKIPPED' | 'STARTED', message: string }} Result
 */

/** @param {any} event @param {Clients} clients @param {Commands} commands @param {Settings} settings @returns {Promise<Result>} */
export async function validateRestore(event, clients, commands, settings) {
  if (event.source === 'aws.ecs') return reportCheck(event, clients, commands);
  const jobId = event.detail?.restoreJobId;
  if (!jobId || !event.detail?.restoreTestingPlanArn) return { status: 'SKIPPED', message: 'not a restore test job' };
  try {
    const job = await describeJob(clients, commands, jobId);
    if (VERDICTS.includes(job.ValidationStatus)) return alreadyValidated(jobId, job);
    const problem = await startCheck(job, jobId, clients, commands, settings);
    if (problem === undefined) return { status: 'STARTED', message: `data check started for restore job ${jobId}` };
    return report(clients, commands, jobId, 'FAILED', problem);
  } catch (err) {
    return report(
      clients,
      commands,
      jobId,
      'FAILED',
      `validation could not run: ${err?.name ?? 'Error'}: ${err?.message}`,
    );
  }
}

/** Starts the data check against the job's instance; returns why it cannot, if it cannot. */
async function startCheck(job, jobId, clients, commands, settings) {
  const arn = job.CreatedResourceArn ?? '';
  const id = arn.split(':db:')[1];
  if (!id) return `restore job ${jobId} created no RDS instance (${arn || 'no resource'})`;
  const describe = async () =>
    (await clients.rds.send(new commands.DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
  const db = await describe();
  const problems = [];
  if (db?.DBInstanceStatus !== 'available') problems.push(`status ${db?.DBInstanceStatus ?? 'missing'}`);
  if (db && db.StorageEncrypted !== true) problems.push('storage not encrypted');
  if (db?.PubliclyAccessible) problems.push('publicly accessible');
  if (problems.length > 0) return `${id}: ${problems.join(', ')}`;

  const outputs = await stackOutputs(clients, commands, settings.servicesStack);
  const needed = ['ClusterName', 'MigrationSubnetIds', 'MigrationSecurityGroupId'];
  const missing = needed.filter((k) => !outputs[k]);
  if (missing.length > 0)
    return `${settings.servicesStack} has no output ${missing.join(', ')}: deploy the services stack`;
  const { taskDefinition } = await clients.ecs.send(
    new commands.DescribeTaskDefinitionCommand({ taskDefinition: settings.taskFamily }),
  );
  const container = taskDefinition?.containerDefinitions?.find((c) => c.environment?.some((e) => e.name === 'DBHOST'));
  if (!taskDefinition?.taskDefinitionArn || !container?.name) {
    return `task definition ${settings.taskFamily} has no container with DBHOST: deploy the services stack`;
  }

  // A throwaway password for a throwaway copy: the live owner's secret is never read here.
  const password = randomBytes(24).toString('base64url');
  await clients.ssm.send(
    new commands.PutParameterCommand({
      Name: settings.passwordParameter,
      Value: password,
      Type: 'SecureString',
      KeyId: settings.passwordKeyId,
      Overwrite: true,
    }),
  );
  await clients.rds.send(
    new commands.ModifyDBInstanceCommand({
      DBInstanceIdentifier: id,
      MasterUserPassword: password,
      ApplyImmediately: true,
    }),
  );
  // The reset takes effect asynchronously: wait until nothing is pending, so the task logs in with the new one.
  const sleep = settings.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + settings.settleTimeoutMs;
  let settled;
  for (;;) {
    await sleep(settings.pollMs);
    settled = await describe();
    if (settled?.DBInstanceStatus === 'available' && !settled.PendingModifiedValues?.MasterUserPassword) break;
    if (Date.now() > deadline) return `${id}: owner password reset still pending (${settled?.DBInstanceStatus})`;
  }
  const host = settled.Endpoint?.Address;
  if (!host) return `${id} has no endpoint`;

  const run = await clients.ecs.send(
    new commands.RunTaskCommand({
      cluster: outputs.ClusterName,
      taskDefinition: taskDefinition.taskDefinitionArn,
      launchType: 'FARGATE',
      count: 1,
      group: `${GROUP_PREFIX}${jobId}`,
      startedBy: 'tier-restore-test',
      overrides: { containerOverrides: [{ name: container.name, environment: [{ name: 'DBHOST', value: host }] }] },
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: outputs.MigrationSubnetIds.split(','),
          securityGroups: [outputs.MigrationSecurityGroupId],
          assignPublicIp: 'DISABLED',
        },
      },
    }),
  );
  if (!run.tasks?.[0]?.taskArn) return `RunTask started nothing: ${JSON.stringify(run.failures ?? [])}`;
  return undefined;
}

async function stackOutputs(clients, commands, stackName) {
  const { Stacks } = await clients.cloudformation.send(new commands.DescribeStacksCommand({ StackName: stackName }));
  return Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
}

/** The data check stopped: report its verdict (exit code) with what it printed. */
async function reportCheck(event, clients, commands) {
  const task = event.detail ?? {};
  const group = task.group ?? '';
  if (!group.startsWith(GROUP_PREFIX) || task.lastStatus !== 'STOPPED') {
    return { status: 'SKIPPED', message: 'not a restore test data check' };
  }
  const jobId = group.slice(GROUP_PREFIX.length);
  const job = await describeJob(clients, commands, jobId);
  if (VERDICTS.includes(job.ValidationStatus)) return alreadyValidated(jobId, job);
  const codes = (task.containers ?? []).map((c) => c.exitCode);
  const exitedZero = codes.length > 0 && codes.every((c) => c === 0);
  let check;
  try {
    check = await checkLine(task, clients, commands);
  } catch (err) {
    check = { problems: [`its log could not be read: ${err?.name ?? 'Error'}`] };
  }
  const counts = Object.entries(check?.tables ?? {})
    .map(([table, rows]) => `${table} ${rows}`)
    .join(', ');
  const ok = exitedZero && check?.ok === true;
  const message = ok
    ? `data check passed: rows ${counts}; status query answered ${check.status?.time}`
    : `data check failed: ${check?.problems?.join('; ') || `${task.stoppedReason ?? 'stopped'}, exit codes ${JSON.stringify(codes)}`}${counts ? ` (rows ${counts})` : ''}`;
  return report(clients, commands, jobId, ok ? 'SUCCESSFUL' : 'FAILED', message);
}

/** The `verify` JSON line in the task's awslogs stream (`<prefix>/<container>/<task id>`). */
async function checkLine(task, clients, commands) {
  const { taskDefinition } = await clients.ecs.send(
    new commands.DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn }),
  );
  const container = taskDefinition?.containerDefinitions?.find((c) => c.logConfiguration?.logDriver === 'awslogs');
  const options = container?.logConfiguration?.options ?? {};
  if (!container) return undefined;
  const { events } = await clients.logs.send(
    new commands.GetLogEventsCommand({
      logGroupName: options['awslogs-group'],
      logStreamName: `${options['awslogs-stream-prefix']}/${container.name}/${task.taskArn.split('/').pop()}`,
      startFromHead: true,
    }),
  );
  for (const event of events ?? []) {
    try {
      const line = JSON.parse(event.message ?? '');
      if (line?.msg === 'verify') return line;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

async function describeJob(clients, commands, jobId) {
  return clients.backup.send(new commands.DescribeRestoreJobCommand({ RestoreJobId: jobId }));
}

function alreadyValidated(jobId, job) {
  return { status: 'SKIPPED', message: `restore job ${jobId} already validated: ${job.ValidationStatus}` };
}

async function report(clients, commands, jobId, status, message) {
  await clients.backup.send(
    new commands.PutRestoreValidationResultCommand({
      RestoreJobId: jobId,
      ValidationStatus: status,
      ValidationStatusMessage: message,
    }),
  );
  return { status, message };
}

/** Lambda entry point: the SDK v3 clients the Node.js runtime ships; settings from the function's environment. */
export async function handler(event) {
  const [backup, rds, ecs, ssm, cloudformation, logs] = await Promise.all([
    import('@aws-sdk/client-backup'),
    import('@aws-sdk/client-rds'),
    import('@aws-sdk/client-ecs'),
    import('@aws-sdk/client-ssm'),
    import('@aws-sdk/client-cloudformation'),
    import('@aws-sdk/client-cloudwatch-logs'),
  ]);
  const env = process.env;
  const result = await validateRestore(
    event,
    {
      backup: new backup.BackupClient({}),
      rds: new rds.RDSClient({}),
      ecs: new ecs.ECSClient({}),
      ssm: new ssm.SSMClient({}),
      cloudformation: new cloudformation.CloudFormationClient({}),
      logs: new logs.CloudWatchLogsClient({}),
    },
    { ...backup, ...rds, ...ecs, ...ssm, ...cloudformation, ...logs },
    {
      servicesStack: env.SERVICES_STACK,
      taskFamily: env.TASK_FAMILY,
      passwordParameter: env.PASSWORD_PARAMETER,
      passwordKeyId: env.PASSWORD_KEY_ID,
      pollMs: 15_000,
      settleTimeoutMs: 10 * 60_000,
    },
  );
  console.log(JSON.stringify({ event: 'restore-validation', source: event.source, ...result }));
  return result;
}
