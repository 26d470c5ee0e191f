// One-off ECS tasks (the migration, the admin task's data check): started on Fargate in the stage's cluster, awaited
// until they stop, and the JSON lines they logged read back from their awslogs stream.
import { GetLogEventsCommand, type OutputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { type ContainerDefinition, DescribeTasksCommand, RunTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { TierError } from '../backend.js';
import type { AwsContext } from './context.js';
import { callAws } from './errors.js';

export interface OneOffTask {
  readonly cluster: string;
  /** A task definition ARN (pinned revision) or family. */
  readonly taskDefinition: string;
  readonly subnets: readonly string[];
  readonly securityGroup: string;
  /** Who started it, as ECS shows it (at most 36 characters). */
  readonly startedBy: string;
  readonly container?: { name: string; command?: string[]; environment?: Record<string, string> };
}

/** Starts the task; resolves with its ARN. */
export async function startTask(ctx: AwsContext, task: OneOffTask): Promise<string> {
  const { container } = task;
  const run = await callAws('ecs:RunTask', () =>
    ctx.clients.ecs.send(
      new RunTaskCommand({
        cluster: task.cluster,
        taskDefinition: task.taskDefinition,
        launchType: 'FARGATE',
        count: 1,
        startedBy: task.startedBy.slice(0, 36),
        ...(container
          ? {
              overrides: {
                containerOverrides: [
                  {
                    name: container.name,
                    ...(container.command ? { command: container.command } : {}),
                    environment: Object.entries(container.environment ?? {}).map(([name, value]) => ({ name, value })),
                  },
                ],
              },
            }
          : {}),
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: [...task.subnets],
            securityGroups: [task.securityGroup],
            assignPublicIp: 'DISABLED',
          },
        },
      }),
    ),
  );
  const taskArn = run.tasks?.[0]?.taskArn;
  if (!taskArn) {
    throw new TierError(
      `RunTask started nothing: ${JSON.stringify(run.failures ?? [])}`,
      'check the cluster capacity and subnets, then retry',
    );
  }
  return taskArn;
}

/**
 * Polls until the task has stopped and resolves with it. Throws when it is still running at the deadline, or when
 * ECS no longer knows it (a stopped task stays visible for about an hour): `whatNext` says how to go on.
 */
export async function waitForTask(
  ctx: AwsContext,
  cluster: string,
  taskArn: string,
  timeoutMs: number,
  whatNext: string,
): Promise<Task> {
  const deadline = ctx.now() + timeoutMs;
  for (;;) {
    const { tasks, failures } = await callAws('ecs:DescribeTasks', () =>
      ctx.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] })),
    );
    const task = tasks?.[0];
    if (!task && failures?.length) {
      throw new TierError(`task ${taskId(taskArn)} is unknown to ECS (${failures[0]?.reason ?? 'missing'})`, whatNext);
    }
    if (task?.lastStatus === 'STOPPED') return task;
    if (ctx.now() > deadline) throw new TierError(`task ${taskId(taskArn)} still ${task?.lastStatus}`, whatNext);
    await ctx.sleep(ctx.pollIntervalMs);
  }
}

/** Every essential container exited 0 (a task that never started its containers did not). */
export function exitedZero(task: Task): boolean {
  const codes = (task.containers ?? []).map((c) => c.exitCode);
  return codes.length > 0 && codes.every((c) => c === 0);
}

export function describeStop(task: Task): string {
  return `${task.stoppedReason ?? 'stopped'}, exit codes ${JSON.stringify((task.containers ?? []).map((c) => c.exitCode))}`;
}

export function taskId(taskArn: string): string {
  return taskArn.split('/').pop() ?? taskArn;
}

/**
 * The JSON lines the container logged through awslogs (stream `<prefix>/<container>/<task id>`). The driver ships
 * the last lines shortly after the container exits, so a missing line is looked for a few times.
 */
export async function taskLogLines(
  ctx: AwsContext,
  container: ContainerDefinition,
  taskArn: string,
  wanted: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown> | undefined> {
  const options = container.logConfiguration?.options ?? {};
  const group = options['awslogs-group'];
  const prefix = options['awslogs-stream-prefix'];
  if (container.logConfiguration?.logDriver !== 'awslogs' || !group || !prefix) return undefined;
  const logStreamName = `${prefix}/${container.name}/${taskId(taskArn)}`;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (attempt > 0) await ctx.sleep(ctx.pollIntervalMs);
    let events: OutputLogEvent[] = [];
    try {
      const out = await ctx.clients.logs.send(
        new GetLogEventsCommand({ logGroupName: group, logStreamName, startFromHead: true }),
      );
      events = out.events ?? [];
    } catch (err) {
      // No stream yet: the driver has not shipped the first line.
      if ((err as { name?: string }).name !== 'ResourceNotFoundException') {
        await callAws('logs:GetLogEvents', () => Promise.reject(err));
      }
    }
    for (const event of events) {
      const line = parseJson(event.message ?? '');
      if (line && wanted(line)) return line;
    }
  }
  return undefined;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
