// Database migrations on AWS as the one-off ECS task: the migration task definition re-tagged to the release, run in the
// stage's cluster, awaited to exit 0. The gate before any new API task takes traffic (tier deploy and the pipeline).
import { DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { TierError } from '../backend.js';
import type { AwsContext } from './context.js';
import { nextRevision } from './deploy.js';
import { callAws } from './errors.js';
import { need } from './outputs.js';
import { describeStop, exitedZero, startTask, taskId, waitForTask } from './tasks.js';

/** Runs the migrations of the api image at `version`; resolves with the task ARN when it exited 0, throws otherwise. */
export async function runMigration(
  ctx: AwsContext,
  version: string,
  log: (line: string) => void,
  timeoutMs = 15 * 60_000,
): Promise<{ taskArn: string }> {
  const out = await ctx.outputs();
  const cluster = need(out.clusterName, 'ClusterName', out);
  const family = need(out.migration.taskDefinition, 'MigrationTaskDefinitionArn', out);
  const securityGroup = need(out.migration.securityGroup, 'MigrationSecurityGroupId', out);
  const subnets = need(out.migration.subnets, 'MigrationSubnetIds', out).split(',');
  const { taskDefinition, tags } = await callAws('ecs:DescribeTaskDefinition', () =>
    ctx.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: family, include: ['TAGS'] })),
  );
  if (!taskDefinition) throw new TierError(`task definition ${family} not found`, 'redeploy the services stack');
  // The migration container carries the api image: re-tag it to the release being deployed.
  const revision = await callAws('ecs:RegisterTaskDefinition', () =>
    ctx.clients.ecs.send(new RegisterTaskDefinitionCommand(nextRevision(taskDefinition, tags ?? [], 'api', version))),
  );
  const arn = revision.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new TierError('RegisterTaskDefinition returned no ARN', 'retry; ECS did not register the revision');
  log(`migration task definition ${arn.split('/').pop()}`);
  const taskArn = await startTask(ctx, {
    cluster,
    taskDefinition: arn,
    subnets,
    securityGroup,
    startedBy: `tier-migrate-${version}`,
  });
  log(`migration task ${taskId(taskArn)} started`);
  const task = await waitForTask(ctx, cluster, taskArn, timeoutMs, 'see the ECS console; nothing was deployed');
  if (exitedZero(task)) return { taskArn };
  throw new TierError(
    `migration task stopped: ${describeStop(task)}`,
    `read the migrate log group (tier --target aws --stage ${ctx.stage} logs --since 30m); nothing was deployed`,
  );
}
