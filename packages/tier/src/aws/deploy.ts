// Rollouts on ECS: a new task definition revision per image tag, followed as an ECS service deployment (canary, bake)
// to SUCCESSFUL or rolled back; rollback and history.

import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type ServiceDeployment,
  type ServiceDeploymentStatus,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import {
  DEPLOY_ORDER,
  type DeployOptions,
  type DeployRecord,
  type Progress,
  TIERS,
  TierError,
  type TierName,
} from '../backend.js';
import type { AwsContext } from './context.js';
import { callAws } from './errors.js';
import { runMigration } from './migrate.js';
import { appContainer, describeService, imageTag, taskDefinitionReader, versionOf, withTag } from './services.js';

/** Docker's tag grammar: what ECR accepts. */
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** A copy of a task definition that RegisterTaskDefinition accepts, with the tier's image re-tagged. */
export function nextRevision(
  td: TaskDefinition,
  tags: { key?: string; value?: string }[],
  tier: TierName,
  version: string,
): RegisterTaskDefinitionCommandInput {
  const app = appContainer(td, tier);
  // The version the container reports (APP_VERSION) is the tag it runs.
  const containers = (td.containerDefinitions ?? []).map((c) =>
    c === app
      ? {
          ...c,
          image: withTag(c.image ?? '', version),
          environment: c.environment?.map((e) => (e.name === 'APP_VERSION' ? { ...e, value: version } : e)),
        }
      : c,
  );
  // `aws:` tags (CloudFormation's own) are reserved: RegisterTaskDefinition rejects them.
  const userTags = tags.filter((t) => t.key && !t.key.startsWith('aws:'));
  const input: RegisterTaskDefinitionCommandInput = {
    family: td.family,
    taskRoleArn: td.taskRoleArn,
    executionRoleArn: td.executionRoleArn,
    networkMode: td.networkMode,
    containerDefinitions: containers,
    volumes: td.volumes,
    placementConstraints: td.placementConstraints,
    requiresCompatibilities: td.requiresCompatibilities,
    cpu: td.cpu,
    memory: td.memory,
    pidMode: td.pidMode,
    ipcMode: td.ipcMode,
    proxyConfiguration: td.proxyConfiguration,
    ephemeralStorage: td.ephemeralStorage,
    runtimePlatform: td.runtimePlatform,
    enableFaultInjection: td.enableFaultInjection,
    ...(userTags.length ? { tags: userTags } : {}),
  };
  // Drop absent fields so the request carries exactly what the old revision had.
  return Object.fromEntries(
    Object.entries(input).filter(([, v]) => v !== undefined),
  ) as RegisterTaskDefinitionCommandInput;
}

/** `/tier/<stage>/image/<tier>`: the tag the services stack resolves at every cdk deploy (infra/aws registry stack). */
export function imageTagParameter(stage: string, tier: TierName): string {
  return `/tier/${stage}/image/${tier}`;
}

/** Records what a tier now runs, so the next `cdk deploy` keeps it instead of resetting to the template's tag. */
async function recordRunningTag(ctx: AwsContext, tier: TierName, version: string): Promise<void> {
  await callAws('ssm:PutParameter', () =>
    ctx.clients.ssm.send(
      new PutParameterCommand({
        Name: imageTagParameter(ctx.stage, tier),
        Value: version,
        Type: 'String',
        Overwrite: true,
      }),
    ),
  );
}

interface RolloutResult {
  outcome: DeployRecord['outcome'];
  detail?: string;
}

/** What a tier's deploy or rollback did, for the history; it finished now unless said otherwise. */
function recordOf(
  ctx: AwsContext,
  what: Pick<DeployRecord, 'id' | 'tier' | 'version' | 'previousVersion' | 'startedAt'>,
  result: { readonly outcome: DeployRecord['outcome']; readonly detail?: string },
  finishedAt = new Date(ctx.now()).toISOString(),
): DeployRecord {
  return { ...what, finishedAt, outcome: result.outcome, ...(result.detail ? { detail: result.detail } : {}) };
}

const ALREADY_RUNNING = { outcome: 'succeeded', detail: 'already running' } as const;

/** Why ECS stopped or rolled back a service deployment, from what it records: alarms, hooks, circuit breaker. */
export function whyRolledBack(d: ServiceDeployment): string {
  const reasons: string[] = [];
  const alarms = d.alarms?.triggeredAlarmNames ?? [];
  if (alarms.length) reasons.push(`alarm ${alarms.join(', ')} fired`);
  for (const hook of d.lifecycleHookDetails ?? []) {
    if (hook.status === 'FAILED' || hook.status === 'TIMED_OUT') {
      const name = hook.targetArn?.split(':').pop() ?? hook.targetType ?? 'a hook';
      reasons.push(
        `lifecycle hook ${name} (the pre-traffic smoke test) ${hook.status === 'FAILED' ? 'failed' : 'timed out'}`,
      );
    }
  }
  const breaker = d.deploymentCircuitBreaker;
  if (breaker?.status === 'TRIGGERED') {
    reasons.push(
      `the circuit breaker stopped it (${breaker.failureCount ?? '?'} of ${breaker.threshold ?? '?'} tasks failed)`,
    );
  }
  const said = d.rollback?.reason ?? d.statusReason;
  if (said) reasons.push(said);
  return reasons.join('; ') || `ECS ended the deployment ${d.status ?? 'without a status'}`;
}

/** `api: PRODUCTION_TRAFFIC_SHIFT, new version 2/2 running, 10% of production traffic`. */
function progressLine(tier: TierName, d: ServiceDeployment | undefined): string {
  const target = d?.targetServiceRevision;
  const weight = target?.requestedProductionTrafficWeight;
  return [
    `${tier}: ${d?.status ?? 'UNKNOWN'}${d?.lifecycleStage ? ` ${d.lifecycleStage}` : ''}`,
    `new version ${target?.runningTaskCount ?? 0}/${target?.requestedTaskCount ?? 0} running`,
    ...(weight !== undefined ? [`${weight}% of production traffic`] : []),
  ].join(', ');
}

/**
 * Points the service at `taskDefinition` and follows the service deployment ECS starts (DescribeServiceDeployments)
 * through its stages, canary and bake included, to SUCCESSFUL; a rollback by an alarm, the smoke test hook or the
 * circuit breaker is awaited and reported with what triggered it.
 */
async function rollout(
  ctx: AwsContext,
  progress: Progress,
  tier: TierName,
  taskDefinition: string,
): Promise<RolloutResult> {
  const { cluster, service } = await ctx.service(tier);
  const updated = await callAws('ecs:UpdateService', () =>
    ctx.clients.ecs.send(new UpdateServiceCommand({ cluster, service, taskDefinition })),
  );
  const arn = updated.service?.currentServiceDeployment;
  if (!arn) {
    throw new TierError(
      `ECS reported no service deployment for ${tier} after pointing it at ${taskDefinition.split('/').pop()}`,
      'see the service in `tier status --target aws` and `tier history --target aws`',
    );
  }
  const deadline = ctx.now() + ctx.rolloutTimeoutMs;
  let last = '';
  let warned = false;
  for (;;) {
    const described = await callAws('ecs:DescribeServiceDeployments', () =>
      ctx.clients.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })),
    );
    const d = described.serviceDeployments?.[0];
    const line = progressLine(tier, d);
    if (line !== last) progress.info(line);
    last = line;
    switch (d?.status) {
      case 'SUCCESSFUL':
        return { outcome: 'succeeded' };
      case 'ROLLBACK_REQUESTED':
      case 'ROLLBACK_IN_PROGRESS':
        if (!warned) progress.warn(`${tier}: ECS is rolling the deployment back: ${whyRolledBack(d)}`);
        warned = true;
        break;
      case 'ROLLBACK_SUCCESSFUL':
        if (!warned) progress.warn(`${tier}: ECS rolled the deployment back: ${whyRolledBack(d)}`);
        return { outcome: 'rolled-back', detail: whyRolledBack(d) };
      case 'ROLLBACK_FAILED':
        return { outcome: 'failed', detail: `${whyRolledBack(d)}; the rollback failed too` };
      case 'STOPPED':
        return { outcome: 'failed', detail: `stopped: ${whyRolledBack(d)}` };
    }
    if (ctx.now() > deadline) {
      throw new TierError(
        `${tier} rollout not finished after ${Math.round(ctx.rolloutTimeoutMs / 60_000)} min`,
        'ECS keeps going: watch it with `tier status --target aws`; `tier history --target aws` shows the outcome',
      );
    }
    await ctx.sleep(ctx.pollIntervalMs);
  }
}

export async function deploy(ctx: AwsContext, progress: Progress, opts: DeployOptions): Promise<DeployRecord[]> {
  const version = opts.version;
  if (opts.canary) {
    throw new TierError(
      'on AWS every deploy is already an ECS canary, with the share and bake the services stack sets',
      'drop --canary and --bake: `tier deploy --target aws --version <tag>`; change them in infra/aws (SERVICE_DEFAULTS)',
    );
  }
  if (version === undefined) {
    throw new TierError(
      'deploy on AWS needs --version <image tag>',
      'the pipeline pushes images tagged with the git sha to ECR; run `tier deploy --target aws --version <sha>`',
    );
  }
  if (!IMAGE_TAG.test(version)) {
    throw new TierError(
      `'${version}' is not a valid image tag`,
      'use letters, digits, _ . - (at most 128), e.g. a git sha',
    );
  }
  const readTaskDefinition = taskDefinitionReader(ctx);
  const records: DeployRecord[] = [];
  for (const tier of DEPLOY_ORDER.filter((t) => opts.tiers.includes(t))) {
    const startedAt = new Date(ctx.now()).toISOString();
    const { service } = await describeService(ctx, tier);
    const current = await readTaskDefinition(service.taskDefinition ?? '');
    const previousVersion = versionOf(current.taskDefinition, tier);
    progress.step(`deploying ${tier} ${previousVersion} -> ${version}`);
    if (previousVersion === version) {
      progress.done(`${tier} already runs ${version}`);
      const what = { id: service.taskDefinition ?? '', tier, version, previousVersion, startedAt };
      records.push(recordOf(ctx, what, ALREADY_RUNNING, startedAt));
      continue;
    }
    if (tier === 'api') {
      // Expand-only migrations, once, before any new API task starts: the same gate as the pipeline's.
      progress.info('api: running the migrations of the new version');
      await runMigration(ctx, version, (line) => progress.info(`api: ${line}`));
    }
    const registered = await callAws('ecs:RegisterTaskDefinition', () =>
      ctx.clients.ecs.send(
        new RegisterTaskDefinitionCommand(nextRevision(current.taskDefinition, current.tags, tier, version)),
      ),
    );
    const arn = registered.taskDefinition?.taskDefinitionArn ?? '';
    progress.info(`${tier}: registered ${arn.split('/').pop()}`);
    const result = await rollout(ctx, progress, tier, arn);
    records.push(recordOf(ctx, { id: arn, tier, version, previousVersion, startedAt }, result));
    if (result.outcome !== 'succeeded') {
      progress.done(`${tier}: ${result.outcome}`);
      const rest = DEPLOY_ORDER.filter((t) => opts.tiers.includes(t) && !records.some((r) => r.tier === t));
      if (rest.length) progress.warn(`not deploying ${rest.join(', ')}: ${tier} did not roll out`);
      break;
    }
    await recordRunningTag(ctx, tier, version);
    progress.done(`${tier} runs ${version}`);
  }
  return records;
}

// ---- history and rollback --------------------------------------------------------------------

const OUTCOME: Partial<Record<ServiceDeploymentStatus, DeployRecord['outcome']>> = {
  SUCCESSFUL: 'succeeded',
  ROLLBACK_SUCCESSFUL: 'rolled-back',
  ROLLBACK_FAILED: 'failed',
  STOPPED: 'failed',
};

async function serviceDeployments(ctx: AwsContext, tier: TierName, status?: ServiceDeploymentStatus[]) {
  const { cluster, service } = await ctx.service(tier);
  const listed = await callAws('ecs:ListServiceDeployments', () =>
    ctx.clients.ecs.send(
      new ListServiceDeploymentsCommand({ cluster, service, maxResults: 20, ...(status ? { status } : {}) }),
    ),
  );
  return listed.serviceDeployments ?? [];
}

/** Service revision ARN -> task definition and image tag of the tier's container. */
async function revisions(ctx: AwsContext, tier: TierName, arns: string[]) {
  const unique = [...new Set(arns.filter(Boolean))];
  const found = new Map<string, { taskDefinition: string; version: string }>();
  for (let i = 0; i < unique.length; i += 20) {
    const batch = unique.slice(i, i + 20);
    const out = await callAws('ecs:DescribeServiceRevisions', () =>
      ctx.clients.ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: batch })),
    );
    for (const r of out.serviceRevisions ?? []) {
      const images = r.containerImages ?? [];
      const image = (images.find((c) => c.containerName === tier) ?? images[0])?.image;
      found.set(r.serviceRevisionArn ?? '', {
        taskDefinition: r.taskDefinition ?? '',
        version: image ? imageTag(image) : (r.taskDefinition?.split('/').pop() ?? 'unknown'),
      });
    }
  }
  return found;
}

/** Finished deployments of both tiers from ECS's own record (kept 90 days), oldest first. */
export async function history(ctx: AwsContext): Promise<DeployRecord[]> {
  const records: DeployRecord[] = [];
  for (const tier of TIERS) {
    const briefs = await serviceDeployments(ctx, tier);
    const arns = briefs.map((b) => b.serviceDeploymentArn ?? '').filter(Boolean);
    if (arns.length === 0) continue;
    const described = await callAws('ecs:DescribeServiceDeployments', () =>
      ctx.clients.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: arns })),
    );
    const deployments: ServiceDeployment[] = described.serviceDeployments ?? [];
    const revs = await revisions(
      ctx,
      tier,
      deployments.flatMap((d) => [d.targetServiceRevision?.arn ?? '', d.sourceServiceRevisions?.[0]?.arn ?? '']),
    );
    for (const d of deployments) {
      const outcome = d.status ? OUTCOME[d.status] : undefined;
      if (!outcome) continue; // still running: not history yet
      const started = d.startedAt ?? d.createdAt;
      const finished = d.finishedAt ?? d.stoppedAt ?? d.updatedAt ?? started;
      const detail = d.rollback?.reason ?? d.statusReason;
      records.push({
        id: d.serviceDeploymentArn?.split('/').pop() ?? '',
        tier,
        version: revs.get(d.targetServiceRevision?.arn ?? '')?.version ?? 'unknown',
        previousVersion: revs.get(d.sourceServiceRevisions?.[0]?.arn ?? '')?.version ?? '',
        startedAt: started?.toISOString() ?? '',
        finishedAt: finished?.toISOString() ?? '',
        outcome,
        ...(detail ? { detail } : {}),
      });
    }
  }
  return records.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** The task definition that ran before the current one: the newest successful deployment of another revision. */
async function previousTaskDefinition(ctx: AwsContext, tier: TierName, current: string): Promise<string> {
  const briefs = (await serviceDeployments(ctx, tier, ['SUCCESSFUL'])).sort(
    (a, b) => (b.startedAt?.getTime() ?? 0) - (a.startedAt?.getTime() ?? 0),
  );
  const revs = await revisions(
    ctx,
    tier,
    briefs.map((b) => b.targetServiceRevisionArn ?? ''),
  );
  for (const b of briefs) {
    const td = revs.get(b.targetServiceRevisionArn ?? '')?.taskDefinition;
    if (td && td !== current) return td;
  }
  throw new TierError(
    `no earlier successful deployment of ${tier} to roll back to`,
    'see `tier history --target aws`; deploy a known-good version with `tier deploy --target aws --version <tag>`',
  );
}

/** Rolls each tier back to the task definition of its previous successful deployment (web first: reverse of deploy). */
export async function rollback(
  ctx: AwsContext,
  progress: Progress,
  opts: { tiers: TierName[] },
): Promise<DeployRecord[]> {
  const readTaskDefinition = taskDefinitionReader(ctx);
  const records: DeployRecord[] = [];
  for (const tier of [...DEPLOY_ORDER].reverse().filter((t) => opts.tiers.includes(t))) {
    const startedAt = new Date(ctx.now()).toISOString();
    const { service } = await describeService(ctx, tier);
    const current = service.taskDefinition ?? '';
    const previous = await previousTaskDefinition(ctx, tier, current);
    const from = versionOf((await readTaskDefinition(current)).taskDefinition, tier);
    const to = versionOf((await readTaskDefinition(previous)).taskDefinition, tier);
    progress.step(`rolling ${tier} back ${from} -> ${to}`);
    const result = await rollout(ctx, progress, tier, previous);
    records.push(recordOf(ctx, { id: previous, tier, version: to, previousVersion: from, startedAt }, result));
    if (result.outcome === 'succeeded') await recordRunningTag(ctx, tier, to);
    progress.done(`${tier}: ${result.outcome}`);
    if (result.outcome !== 'succeeded') break;
  }
  return records;
}

// ---- what runs, and going back to it -----------------------------------------------------------

/** What a tier's service runs: its current task definition and the image tag of the tier's container. */
export interface RunningRevision {
  readonly taskDefinition: string;
  readonly version: string;
}

/** The revision each tier's service runs now (its task definition: what ECS keeps or restores). */
export async function running(
  ctx: AwsContext,
  tiers: readonly TierName[] = TIERS,
): Promise<Record<string, RunningRevision>> {
  const readTaskDefinition = taskDefinitionReader(ctx);
  const found: Record<string, RunningRevision> = {};
  for (const tier of tiers) {
    const { service } = await describeService(ctx, tier);
    const taskDefinition = service.taskDefinition ?? '';
    found[tier] = {
      taskDefinition,
      version: versionOf((await readTaskDefinition(taskDefinition)).taskDefinition, tier),
    };
  }
  return found;
}

/**
 * Returns each given tier to the revision it ran before (captured with `running` before a deploy), web first. A tier
 * that already runs it (never rolled out, or ECS's circuit breaker restored it) is left alone: going back further
 * would be one version too far.
 */
export async function rollbackTo(
  ctx: AwsContext,
  progress: Progress,
  before: Readonly<Partial<Record<TierName, RunningRevision>>>,
): Promise<DeployRecord[]> {
  const now = await running(
    ctx,
    TIERS.filter((t) => before[t]),
  );
  const records: DeployRecord[] = [];
  for (const tier of [...DEPLOY_ORDER].reverse().filter((t) => before[t])) {
    const target = before[tier]!;
    const current = now[tier]!;
    const startedAt = new Date(ctx.now()).toISOString();
    const what = {
      id: target.taskDefinition,
      tier,
      version: target.version,
      previousVersion: current.version,
      startedAt,
    };
    if (current.taskDefinition === target.taskDefinition) {
      progress.done(`${tier} already runs ${target.version}: nothing to roll back`);
      records.push(recordOf(ctx, what, ALREADY_RUNNING, startedAt));
      continue;
    }
    progress.step(`rolling ${tier} back ${current.version} -> ${target.version}`);
    const result = await rollout(ctx, progress, tier, target.taskDefinition);
    records.push(recordOf(ctx, what, result));
    if (result.outcome === 'succeeded') await recordRunningTag(ctx, tier, target.version);
    progress.done(`${tier}: ${result.outcome}`);
    if (result.outcome !== 'succeeded') break;
  }
  return records;
}
