// Types of index.mjs (the function ships as plain JavaScript, no build step).
type Client = { send(command: unknown): Promise<any> };
export interface RestoreValidationClients {
  readonly backup: Client;
  readonly rds: Client;
  readonly ecs: Client;
  readonly ssm: Client;
  readonly cloudformation: Client;
  readonly logs: Client;
}
export type RestoreValidationCommands = Record<string, new (input: object) => unknown>;
export interface RestoreValidationSettings {
  /** The services stack, whose outputs name the cluster, subnets and security group of the one-off tasks. */
  readonly servicesStack: string;
  /** Family of the restore-check task definition. */
  readonly taskFamily: string;
  /** SecureString parameter the throwaway owner password is written to (the task's DBPASS). */
  readonly passwordParameter: string;
  readonly passwordKeyId: string;
  readonly pollMs: number;
  readonly settleTimeoutMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}
export interface RestoreValidationResult {
  readonly status: 'SUCCESSFUL' | 'FAILED' | 'SKIPPED' | 'STARTED';
  readonly message: string;
}
export const GROUP_PREFIX: string;
export function validateRestore(
  event: unknown,
  clients: RestoreValidationClients,
  commands: RestoreValidationCommands,
  settings: RestoreValidationSettings,
): Promise<RestoreValidationResult>;
export function handler(event: unknown): Promise<RestoreValidationResult>;
