// Database migrations on AWS for ci:migrate: the same one-off ECS task `tier deploy` runs before the API rolls out.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { createAwsContext, runMigration as runMigrationTask } from '@tier/cli';

export interface MigrateOptions {
  readonly ecs: ECSClient;
  readonly cfn: CloudFormationClient;
  readonly stage: string;
  readonly version: string;
  readonly pollMs?: number;
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** Runs the migration task with the api image at `version`; resolves when it exited 0, throws otherwise. */
export async function runMigration(opts: MigrateOptions): Promise<{ taskArn: string }> {
  const ctx = createAwsContext({
    stage: opts.stage,
    clients: { ecs: opts.ecs, cloudformation: opts.cfn },
    pollIntervalMs: opts.pollMs ?? 10_000,
  });
  return runMigrationTask(ctx, opts.version, opts.log ?? console.log, opts.timeoutMs);
}
