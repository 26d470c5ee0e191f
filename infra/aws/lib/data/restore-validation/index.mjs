// Validates what a restore test restored and reports it to AWS Backup (PutRestoreValidationResult): the restored
// RDS instance exists, is available, encrypted and not public. App-level checks (row counts, the API's status query)
// need a network path and credentials into the restored copy: the next step (infra/aws/README.md).

/**
 * @param {{ detail?: { restoreJobId?: string, status?: string, restoreTestingPlanArn?: string } }} event
 * @param {{ backup: { send: (command: unknown) => Promise<any> }, rds: { send: (command: unknown) => Promise<any> } }} clients
 * @param {{ DescribeRestoreJobCommand: any, PutRestoreValidationResultCommand: any, DescribeDBInstancesCommand: any }} commands
 * @returns {Promise<{ status: 'SUCCESSFUL' | 'FAILED' | 'SKIPPED', message: string }>}
 */
export async function validateRestore(event, clients, commands) {
  const jobId = event.detail?.restoreJobId;
  if (!jobId || !event.detail?.restoreTestingPlanArn) return { status: 'SKIPPED', message: 'not a restore test job' };
  const job = await clients.backup.send(new commands.DescribeRestoreJobCommand({ RestoreJobId: jobId }));
  const arn = job.CreatedResourceArn ?? '';
  const id = arn.split(':db:')[1];
  let status = 'FAILED';
  let message;
  if (!id) {
    message = `restore job ${jobId} created no RDS instance (${arn || 'no resource'})`;
  } else {
    const found = await clients.rds.send(new commands.DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    const db = found.DBInstances?.[0];
    const problems = [];
    if (db?.DBInstanceStatus !== 'available') problems.push(`status ${db?.DBInstanceStatus ?? 'missing'}`);
    if (db && db.StorageEncrypted !== true) problems.push('storage not encrypted');
    if (db?.PubliclyAccessible) problems.push('publicly accessible');
    status = problems.length === 0 ? 'SUCCESSFUL' : 'FAILED';
    message = problems.length === 0 ? `${id} available, encrypted, private` : `${id}: ${problems.join(', ')}`;
  }
  await clients.backup.send(
    new commands.PutRestoreValidationResultCommand({
      RestoreJobId: jobId,
      ValidationStatus: status,
      ValidationStatusMessage: message,
    }),
  );
  return { status, message };
}

/** Lambda entry point: the SDK v3 clients the Node.js runtime ships. */
export async function handler(event) {
  const backup = await import('@aws-sdk/client-backup');
  const rds = await import('@aws-sdk/client-rds');
  const result = await validateRestore(
    event,
    { backup: new backup.BackupClient({}), rds: new rds.RDSClient({}) },
    {
      DescribeRestoreJobCommand: backup.DescribeRestoreJobCommand,
      PutRestoreValidationResultCommand: backup.PutRestoreValidationResultCommand,
      DescribeDBInstancesCommand: rds.DescribeDBInstancesCommand,
    },
  );
  console.log(JSON.stringify({ event: 'restore-validation', restoreJobId: event.detail?.restoreJobId, ...result }));
  return result;
}
