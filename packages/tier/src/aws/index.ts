// The AWS target of tier: the Backend contract on ECS, RDS, AWS Backup and CloudWatch, driven by the stage's stack outputs.
import { type Backend, type DeployRecord, type Progress, TierError, type TierName } from '../backend.js';
import { type AwsBackendOptions, createAwsContext, parseTierArg } from './context.js';
import { backupList, backupNow, startDb, stopDb } from './database.js';
import { deploy, history, type RunningRevision, rollback, rollbackTo, running } from './deploy.js';
import { logs } from './logs.js';
import { metrics } from './metrics.js';
import { type RestoreRequest, type RestoreState, restoreDatabase } from './restore.js';
import { type AwsEnvironmentStatus, type ScaleBounds, scale, startTier, status, stopTier } from './services.js';

export type { AwsBackendOptions, AwsClients } from './context.js';
export type { RunningRevision } from './deploy.js';
export type { OutputKey, StackOutputs } from './outputs.js';
export type { RestoreRequest, RestoreState, RestoreStep } from './restore.js';
export type { AwsEnvironmentStatus, ScaleBounds, ServiceSummary } from './services.js';

export interface AwsBackend extends Backend {
  readonly target: 'aws';
  status(): Promise<AwsEnvironmentStatus>;
  /** As the contract, plus optional explicit autoscaling bounds per tier (default: min = count, max kept). */
  scale(
    progress: Progress,
    counts: Partial<Record<TierName, number>>,
    bounds?: Partial<Record<TierName, ScaleBounds>>,
  ): Promise<void>;
  /** The revision each tier's service runs now: the base of change detection, and what a rollback returns to. */
  running(tiers?: readonly TierName[]): Promise<Record<string, RunningRevision>>;
  /** Returns tiers to the revisions captured before a deploy; a tier already there is left alone. */
  rollbackTo(progress: Progress, before: Partial<Record<TierName, RunningRevision>>): Promise<DeployRecord[]>;
  /** Restore, verify and switch to the restored database; resumes a recorded restore; a dry run changes nothing. */
  restoreDatabase(progress: Progress, request: RestoreRequest): Promise<RestoreState>;
}

/** The cdk commands `up`/`down` stand for on AWS, for the given stage. */
export function cdkCommand(verb: 'deploy' | 'destroy', stage: string): string {
  return `cd infra/aws && npx cdk ${verb} --all -c stage=${stage}`;
}

const STOPPABLE = ['web', 'api', 'db'] as const;

export function createAwsBackend(opts: AwsBackendOptions): AwsBackend {
  const ctx = createAwsContext(opts);
  return {
    target: 'aws',
    // Provisioning is CDK's job (and the pipeline's): tier names the exact command rather than
    // running a second, partial deployment tool with the operator's credentials.
    async up() {
      throw new TierError(
        `'tier up' does not provision AWS; the stage ${ctx.stage} is deployed with CDK`,
        `run: ${cdkCommand('deploy', ctx.stage)}   (then: tier status --target aws)`,
      );
    },
    async down() {
      throw new TierError(
        `'tier down' does not delete AWS stacks; the stage ${ctx.stage} is removed with CDK`,
        `run: ${cdkCommand('destroy', ctx.stage)}   (the data stack has termination and deletion protection: see packages/tier/README-aws.md)`,
      );
    },
    status: () => status(ctx),
    deploy: (progress, o) => deploy(ctx, progress, o),
    rollback: (progress, o) => rollback(ctx, progress, o),
    history: () => history(ctx),
    running: (tiers) => running(ctx, tiers),
    rollbackTo: (progress, before) => rollbackTo(ctx, progress, before),
    scale: (progress, counts, bounds) => scale(ctx, progress, counts, bounds),
    async stop(progress, tier) {
      const which = parseTierArg(tier, STOPPABLE);
      return which === 'db' ? stopDb(ctx, progress) : stopTier(ctx, progress, which);
    },
    async start(progress, tier) {
      const which = parseTierArg(tier, STOPPABLE);
      return which === 'db' ? startDb(ctx, progress) : startTier(ctx, progress, which);
    },
    backupNow: (progress) => backupNow(ctx, progress),
    backupList: () => backupList(ctx),
    async backupVerify() {
      throw new TierError(
        "'tier backup verify' is not available for the aws target",
        'the weekly AWS Backup restore test restores and validates the latest recovery point (infra/aws/README.md); `tier restore --target aws --latest --dry-run` shows what a restore would do',
      );
    },
    async restore(progress, target) {
      await restoreDatabase(ctx, progress, { target });
    },
    restoreDatabase: (progress, request) => restoreDatabase(ctx, progress, request),
    logs: (query) => logs(ctx, query),
    metrics: (o) => metrics(ctx, o),
  };
}
