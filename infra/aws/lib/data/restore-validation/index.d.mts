// Types of index.mjs (the function ships as plain JavaScript, no build step).
export interface RestoreValidationClients {
  readonly backup: { send(command: unknown): Promise<any> };
  readonly rds: { send(command: unknown): Promise<any> };
}
export interface RestoreValidationCommands {
  readonly DescribeRestoreJobCommand: new (input: object) => unknown;
  readonly PutRestoreValidationResultCommand: new (input: object) => unknown;
  readonly DescribeDBInstancesCommand: new (input: object) => unknown;
}
export interface RestoreValidationResult {
  readonly status: 'SUCCESSFUL' | 'FAILED' | 'SKIPPED';
  readonly message: string;
}
export function validateRestore(
  event: { detail?: { restoreJobId?: string; status?: string; restoreTestingPlanArn?: string } },
  clients: RestoreValidationClients,
  commands: RestoreValidationCommands,
): Promise<RestoreValidationResult>;
export function handler(event: unknown): Promise<RestoreValidationResult>;
