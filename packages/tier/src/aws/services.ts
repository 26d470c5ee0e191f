// The ECS side of tier on AWS: status of both tiers, scaling (desired count and autoscaling bounds), stop/start.
import {
  DescribeScalableTargetsCommand,
  RegisterScalableTargetCommand,
  type ScalableTarget,
} from '@aws-sdk/client-application-auto-scaling';
import {
  type ContainerDefinition,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  type Service,
  TagResourceCommand,
  type Task,
  type TaskDefinition,
  UntagResourceCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, type TargetHealthStateEnum } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  type EnvironmentStatus,
  type Progress,
  type ReplicaStatus,
  TIERS,
  TierError,
  type TierName,
} from '../backend.js';
import type { AwsContext } from './context.js';
import { databaseReplica } from './database.js';
import { callAws } from './errors.js';

export const MAX_TASKS = 50;

/** Tags on the ECS service that remember what `tier stop` changed, so `tier start` can undo it. */
export const STOPPED_TAGS = {
  desired: 'tier:stopped-desired',
  min: 'tier:stopped-min',
  max: 'tier:stopped-max',
} as const;

export interface ServiceSummary {
  readonly tier: TierName;
  readonly service: string;
  readonly version: string;
  readonly desired: number;
  readonly running: number;
  readonly pending: number;
  readonly rolloutState: string;
  readonly minTasks?: number;
  readonly maxTasks?: number;
}

/** `tier status` on AWS: the contract's replicas and endpoints, plus one summary line per ECS service. */
export interface AwsEnvironmentStatus extends EnvironmentStatus {
  readonly services: ServiceSummary[];
}

// ---- images and task definitions -------------------------------------------------------------

/** The tag of an image reference (`repo:tag`, `host:5000/repo:tag`, `repo@sha256:...`). */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1);
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : 'latest';
}

/** The same repository with another tag (a digest is dropped). */
export function withTag(image: string, tag: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  return `${colon > slash ? base.slice(0, colon) : base}:${tag}`;
}

/** The application container: the one named after the tier, else the first essential one. */
export function appContainer(td: TaskDefinition, tier: TierName): ContainerDefinition {
  const containers = td.containerDefinitions ?? [];
  const found =
    containers.find((c) => c.name === tier) ?? containers.find((c) => c.essential !== false) ?? containers[0];
  if (!found?.image) {
    throw new TierError(
      `task definition ${td.taskDefinitionArn ?? ''} has no container image for ${tier}`,
      `name the ${tier} container '${tier}' in infra/aws`,
    );
  }
  return found;
}

export function versionOf(td: TaskDefinition, tier: TierName): string {
  return imageTag(appContainer(td, tier).image ?? '');
}

/** Describes task definitions once per run (status and history ask for the same ones repeatedly). */
export function taskDefinitionReader(ctx: AwsContext) {
  const cache = new Map<
    string,
    Promise<{ taskDefinition: TaskDefinition; tags: { key?: string; value?: string }[] }>
  >();
  return (arn: string) => {
    let hit = cache.get(arn);
    if (!hit) {
      hit = callAws('ecs:DescribeTaskDefinition', () =>
        ctx.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })),
      ).then((r) => {
        if (!r.taskDefinition) throw new TierError(`task definition ${arn} not found`, 'redeploy the services stack');
        return { taskDefinition: r.taskDefinition, tags: r.tags ?? [] };
      });
      cache.set(arn, hit);
    }
    return hit;
  };
}

// ---- services --------------------------------------------------------------------------------

export async function describeService(
  ctx: AwsContext,
  tier: TierName,
  opts: { tags?: boolean } = {},
): Promise<{ cluster: string; service: Service }> {
  const { cluster, service: name } = await ctx.service(tier);
  const out = await callAws('ecs:DescribeServices', () =>
    ctx.clients.ecs.send(
      new DescribeServicesCommand({ cluster, services: [name], ...(opts.tags ? { include: ['TAGS'] } : {}) }),
    ),
  );
  const service = out.services?.find((s) => s.serviceName === name || s.serviceArn?.endsWith(`/${name}`));
  if (!service || service.status === 'INACTIVE') {
    throw new TierError(
      `ECS service ${name} (${tier}) not found in cluster ${cluster}`,
      'the stacks and the cluster disagree: redeploy with cdk deploy, or check --stage/--region',
    );
  }
  return { cluster, service };
}

const scalableResource = (cluster: string, service: string) => `service/${cluster}/${service}`;

async function scalableTarget(ctx: AwsContext, cluster: string, service: string): Promise<ScalableTarget | undefined> {
  const out = await callAws('application-autoscaling:DescribeScalableTargets', () =>
    ctx.clients.autoscaling.send(
      new DescribeScalableTargetsCommand({
        ServiceNamespace: 'ecs',
        ScalableDimension: 'ecs:service:DesiredCount',
        ResourceIds: [scalableResource(cluster, service)],
      }),
    ),
  );
  return out.ScalableTargets?.[0];
}

async function setBounds(ctx: AwsContext, cluster: string, service: string, min: number, max: number): Promise<void> {
  await callAws('application-autoscaling:RegisterScalableTarget', () =>
    ctx.clients.autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'ecs',
        ScalableDimension: 'ecs:service:DesiredCount',
        ResourceId: scalableResource(cluster, service),
        MinCapacity: min,
        MaxCapacity: max,
      }),
    ),
  );
}

async function setDesired(ctx: AwsContext, cluster: string, service: string, desiredCount: number): Promise<void> {
  await callAws('ecs:UpdateService', () =>
    ctx.clients.ecs.send(new UpdateServiceCommand({ cluster, service, desiredCount })),
  );
}

/** Polls until the service runs exactly `desired` tasks, printing each change of the counts. */
export async function waitForCount(
  ctx: AwsContext,
  progress: Progress,
  tier: TierName,
  desired: number,
): Promise<void> {
  const deadline = ctx.now() + ctx.rolloutTimeoutMs;
  let last = '';
  for (;;) {
    const { service } = await describeService(ctx, tier);
    const running = service.runningCount ?? 0;
    const pending = service.pendingCount ?? 0;
    const line = `${tier}: ${running}/${desired} running, ${pending} pending`;
    if (line !== last) progress.info(line);
    last = line;
    if (running === desired && pending === 0) return;
    if (ctx.now() > deadline) {
      throw new TierError(
        `${tier} still has ${running}/${desired} tasks running after ${Math.round(ctx.rolloutTimeoutMs / 60_000)} min`,
        `ECS keeps trying; see \`tier status --target aws\` and the latest service event: ${service.events?.[0]?.message ?? 'none'}`,
      );
    }
    await ctx.sleep(ctx.pollIntervalMs);
  }
}

function checkCount(tier: string, n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_TASKS) {
    throw new TierError(
      `${tier} ${what} ${String(n)} is out of range`,
      `use a whole number from 1 to ${MAX_TASKS} (to stop a tier, run \`tier stop ${tier}\`)`,
    );
  }
  return n;
}

export interface ScaleBounds {
  readonly min: number;
  readonly max: number;
}

/**
 * Sets the desired count and the autoscaling bounds together, so autoscaling does not undo the change.
 * Without explicit bounds the minimum becomes the count and the maximum stays (raised to the count if lower).
 */
export async function scale(
  ctx: AwsContext,
  progress: Progress,
  counts: Partial<Record<TierName, number>>,
  bounds: Partial<Record<TierName, ScaleBounds>> = {},
): Promise<void> {
  const plan: { tier: TierName; desired: number; bounds?: ScaleBounds }[] = [];
  for (const [tier, n] of Object.entries(counts)) {
    if (!TIERS.includes(tier as TierName)) throw new TierError(`unknown tier '${tier}'`, 'scale web or api');
    const desired = checkCount(tier, n, 'count');
    const b = bounds[tier as TierName];
    if (b) {
      checkCount(tier, b.min, 'minimum');
      checkCount(tier, b.max, 'maximum');
      if (!(b.min <= desired && desired <= b.max)) {
        throw new TierError(`${tier}: count ${desired} is outside ${b.min}..${b.max}`, 'choose min <= count <= max');
      }
    }
    plan.push({ tier: tier as TierName, desired, ...(b ? { bounds: b } : {}) });
  }
  if (plan.length === 0) throw new TierError('nothing to scale', 'example: tier scale web=3 api=2');

  for (const { tier, desired, bounds: b } of plan) {
    const { cluster, service } = await ctx.service(tier);
    progress.step(`scaling ${tier} to ${desired}`);
    const current = await scalableTarget(ctx, cluster, service);
    const min = b?.min ?? desired;
    const max = b?.max ?? Math.max(current?.MaxCapacity ?? desired, desired);
    // Bounds first: with the old minimum above the new count, autoscaling would scale straight back up.
    await setBounds(ctx, cluster, service, min, max);
    await setDesired(ctx, cluster, service, desired);
    await waitForCount(ctx, progress, tier, desired);
    progress.done(`${tier}: ${desired} tasks (autoscaling ${min}..${max})`);
  }
}

/** Scales a tier to 0, pinning autoscaling to 0..0 and remembering the old values in service tags. */
export async function stopTier(ctx: AwsContext, progress: Progress, tier: TierName): Promise<void> {
  const { cluster, service } = await describeService(ctx, tier);
  const name = service.serviceName ?? '';
  progress.step(`stopping ${tier}`);
  if ((service.desiredCount ?? 0) === 0) {
    progress.done(`${tier} is already stopped`);
    return;
  }
  const target = await scalableTarget(ctx, cluster, name);
  const desired = service.desiredCount ?? 0;
  await callAws('ecs:TagResource', () =>
    ctx.clients.ecs.send(
      new TagResourceCommand({
        resourceArn: service.serviceArn,
        tags: [
          { key: STOPPED_TAGS.desired, value: String(desired) },
          { key: STOPPED_TAGS.min, value: String(target?.MinCapacity ?? desired) },
          { key: STOPPED_TAGS.max, value: String(target?.MaxCapacity ?? desired) },
        ],
      }),
    ),
  );
  if (target) await setBounds(ctx, cluster, name, 0, 0);
  await setDesired(ctx, cluster, name, 0);
  await waitForCount(ctx, progress, tier, 0);
  progress.done(`${tier} stopped (was ${desired} tasks; \`tier start ${tier}\` restores them)`);
}

/** Undoes stopTier: restores the autoscaling bounds and desired count remembered in the service tags. */
export async function startTier(ctx: AwsContext, progress: Progress, tier: TierName): Promise<void> {
  const { cluster, service } = await describeService(ctx, tier, { tags: true });
  const name = service.serviceName ?? '';
  const tag = (key: string) => {
    const value = Number(service.tags?.find((t) => t.key === key)?.value);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };
  progress.step(`starting ${tier}`);
  const remembered = tag(STOPPED_TAGS.desired);
  if (remembered === undefined && (service.desiredCount ?? 0) > 0) {
    progress.done(`${tier} is already running (${service.desiredCount} tasks)`);
    return;
  }
  const desired = remembered ?? 2;
  if (remembered === undefined) {
    progress.warn(`${tier}: no count remembered by \`tier stop\`; starting ${desired} tasks`);
  }
  const min = tag(STOPPED_TAGS.min) ?? desired;
  const max = Math.max(tag(STOPPED_TAGS.max) ?? desired, min);
  // stopTier pinned autoscaling to 0..0 only where a scalable target existed; only then is there anything to undo.
  const pinned = (await scalableTarget(ctx, cluster, name))?.MaxCapacity === 0;
  if (pinned) await setBounds(ctx, cluster, name, min, max);
  await setDesired(ctx, cluster, name, desired);
  if (remembered !== undefined) {
    await callAws('ecs:UntagResource', () =>
      ctx.clients.ecs.send(
        new UntagResourceCommand({ resourceArn: service.serviceArn, tagKeys: Object.values(STOPPED_TAGS) }),
      ),
    );
  }
  await waitForCount(ctx, progress, tier, desired);
  progress.done(`${tier} started: ${desired} tasks${pinned ? ` (autoscaling ${min}..${max})` : ''}`);
}

// ---- status ----------------------------------------------------------------------------------

const TARGET_HEALTH: Record<TargetHealthStateEnum, ReplicaStatus['health']> = {
  healthy: 'healthy',
  unhealthy: 'unhealthy',
  'unhealthy.draining': 'unhealthy',
  initial: 'starting',
  draining: 'stopped',
  unused: 'unknown',
  unavailable: 'unknown',
};

function taskHealth(task: Task, target: TargetHealthStateEnum | undefined): ReplicaStatus['health'] {
  if (target) return TARGET_HEALTH[target] ?? 'unknown';
  const last = task.lastStatus ?? '';
  if (['PROVISIONING', 'PENDING', 'ACTIVATING'].includes(last)) return 'starting';
  if (['DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'].includes(last)) return 'stopped';
  if (task.healthStatus === 'HEALTHY') return 'healthy';
  if (task.healthStatus === 'UNHEALTHY') return 'unhealthy';
  return 'unknown';
}

function taskAddress(task: Task): string {
  const eni = task.attachments?.find((a) => a.type === 'ElasticNetworkInterface');
  return (
    eni?.details?.find((d) => d.name === 'privateIPv4Address')?.value ??
    task.containers?.[0]?.networkInterfaces?.[0]?.privateIpv4Address ??
    ''
  );
}

async function tierStatus(
  ctx: AwsContext,
  tier: TierName,
  service: Service,
  cluster: string,
  readTaskDefinition: ReturnType<typeof taskDefinitionReader>,
): Promise<{ summary: ServiceSummary; replicas: ReplicaStatus[] }> {
  const name = service.serviceName ?? '';
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  const tdArn = primary?.taskDefinition ?? service.taskDefinition ?? '';
  const version = tdArn ? versionOf((await readTaskDefinition(tdArn)).taskDefinition, tier) : 'unknown';

  const targets = new Map<string, TargetHealthStateEnum>();
  for (const lb of service.loadBalancers ?? []) {
    if (!lb.targetGroupArn) continue;
    const health = await callAws('elasticloadbalancing:DescribeTargetHealth', () =>
      ctx.clients.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: lb.targetGroupArn })),
    );
    for (const d of health.TargetHealthDescriptions ?? []) {
      if (d.Target?.Id && d.TargetHealth?.State) targets.set(d.Target.Id, d.TargetHealth.State);
    }
  }

  const listed = await callAws('ecs:ListTasks', () =>
    ctx.clients.ecs.send(new ListTasksCommand({ cluster, serviceName: name })),
  );
  const taskArns = listed.taskArns ?? [];
  const tasks = taskArns.length
    ? ((
        await callAws('ecs:DescribeTasks', () =>
          ctx.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: taskArns })),
        )
      ).tasks ?? [])
    : [];
  const replicas: ReplicaStatus[] = [];
  for (const task of tasks) {
    const address = taskAddress(task);
    const td = task.taskDefinitionArn ? (await readTaskDefinition(task.taskDefinitionArn)).taskDefinition : undefined;
    replicas.push({
      tier,
      name: task.taskArn?.split('/').pop() ?? '',
      version: td ? versionOf(td, tier) : 'unknown',
      health: taskHealth(task, targets.get(address)),
      address,
    });
  }

  const target = await scalableTarget(ctx, cluster, name);
  return {
    summary: {
      tier,
      service: name,
      version,
      desired: service.desiredCount ?? 0,
      running: service.runningCount ?? 0,
      pending: service.pendingCount ?? 0,
      rolloutState: primary?.rolloutState ?? 'UNKNOWN',
      ...(target ? { minTasks: target.MinCapacity, maxTasks: target.MaxCapacity } : {}),
    },
    replicas,
  };
}

export async function status(ctx: AwsContext): Promise<AwsEnvironmentStatus> {
  const out = await ctx.outputs();
  const readTaskDefinition = taskDefinitionReader(ctx);
  const services: ServiceSummary[] = [];
  const replicas: ReplicaStatus[] = [];
  for (const tier of TIERS) {
    const { cluster, service } = await describeService(ctx, tier);
    const result = await tierStatus(ctx, tier, service, cluster, readTaskDefinition);
    services.push(result.summary);
    replicas.push(...result.replicas);
  }
  if (out.dbInstanceIdentifier) replicas.push(await databaseReplica(ctx, out.dbInstanceIdentifier));

  const endpoints: Record<string, string> = {};
  if (out.distributionDomain) endpoints.edge = `https://${out.distributionDomain}`;
  for (const tier of TIERS) {
    const dns = out.loadBalancerDns[tier];
    // The ALBs only answer CloudFront (secret header / prefix list): listed as origins, not as URLs to open.
    if (dns) endpoints[`${tier}-origin`] = dns;
  }
  return { replicas, endpoints, services };
}
