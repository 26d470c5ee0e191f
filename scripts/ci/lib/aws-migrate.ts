// Database migrations on AWS as the one-off ECS task: the migration task definition re-tagged to the release, run, awaited.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { nextRevision } from '../../../packages/tier/src/aws/deploy.js';
import { describeStageStacks } from '../../../packages/tier/src/aws/outputs.js';

export interface MigrationOutputs {
  cluster: string;
  taskDefinition: string;
  securityGroup: string;
  subnets: string[];
}

/** The outputs of the stage's stacks that the migration needs, each stack read by name. */
export async function readMigrationOutputs(cfn: CloudFormationClient, stage: string): Promise<MigrationOutputs> {
  const outputs = new Map<string, string>();
  for (const stack of await describeStageStacks(cfn, `tier-${stage}-`)) {
    for (const o of stack.Outputs ?? []) if (o.OutputKey && o.OutputValue) outputs.set(o.OutputKey, o.OutputValue);
  }
  const find = (key: string) => {
    for (const [k, v] of outputs) if (k === key || k.replace(/[0-9A-F]{8}$/, '').endsWith(key)) return v;
    throw Object.assign(new Error(`stack output ${key} not found in the tier-${stage}-* stacks`), {
      hint: `deploy the stage's stacks first (cdk deploy -c stage=${stage})`,
    });
  };
  return {
    cluster: find('ClusterName'),
    taskDefinition: find('MigrationTaskDefinitionArn'),
    securityGroup: find('MigrationSecurityGroupId'),
    subnets: find('MigrationSubnetIds').split(','),
  };
}

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
  const log = opts.log ?? console.log;
  const out = await readMigrationOutputs(opts.cfn, opts.stage);
  const { taskDefinition, tags } = await opts.ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: out.taskDefinition, include: ['TAGS'] }),
  );
  if (!taskDefinition) throw new Error(`task definition ${out.taskDefinition} not found`);
  // The migration container carries the api image: re-tag it to the release being deployed.
  const revision = await opts.ecs.send(
    new RegisterTaskDefinitionCommand(nextRevision(taskDefinition, tags ?? [], 'api', opts.version)),
  );
  const arn = revision.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new Error('RegisterTaskDefinition returned no ARN');
  log(`migration task definition ${arn.split('/').pop()}`);
  const run = await opts.ecs.send(
    new RunTaskCommand({
      cluster: out.cluster,
      taskDefinition: arn,
      launchType: 'FARGATE',
      count: 1,
      startedBy: `ci-migrate-${opts.version}`.slice(0, 36),
      networkConfiguration: {
        awsvpcConfiguration: { subnets: out.subnets, securityGroups: [out.securityGroup], assignPublicIp: 'DISABLED' },
      },
    }),
  );
  const taskArn = run.tasks?.[0]?.taskArn;
  if (!taskArn) throw new Error(`RunTask started nothing: ${JSON.stringify(run.failures ?? [])}`);
  log(`migration task ${taskArn.split('/').pop()} started`);
  const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
  for (;;) {
    const { tasks } = await opts.ecs.send(new DescribeTasksCommand({ cluster: out.cluster, tasks: [taskArn] }));
    const task = tasks?.[0];
    if (task?.lastStatus === 'STOPPED') {
      const codes = (task.containers ?? []).map((c) => c.exitCode);
      if (codes.length > 0 && codes.every((c) => c === 0)) return { taskArn };
      throw Object.assign(
        new Error(`migration task stopped: ${task.stoppedReason ?? ''} exit codes ${JSON.stringify(codes)}`),
        {
          hint: `read the migrate log group (tier --target aws --stage ${opts.stage} logs --since 30m); nothing was deployed`,
        },
      );
    }
    if (Date.now() > deadline) throw new Error(`migration task still ${task?.lastStatus} after the timeout`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 10_000));
  }
}
