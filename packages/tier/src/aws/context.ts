// What every AWS command shares: SDK clients, the stage's stack outputs (read once) and polling.
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { BackupClient } from '@aws-sdk/client-backup';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { stackPrefix as stagePrefix } from '../../../contract/src/index.js';
import { TierError, type TierName } from '../backend.js';
import { need, readStackOutputs, type StackOutputs, serviceOutputKey } from './outputs.js';

export interface AwsClients {
  readonly cloudformation: CloudFormationClient;
  readonly ecs: ECSClient;
  readonly elb: ElasticLoadBalancingV2Client;
  readonly rds: RDSClient;
  readonly backup: BackupClient;
  readonly logs: CloudWatchLogsClient;
  readonly cloudwatch: CloudWatchClient;
  readonly autoscaling: ApplicationAutoScalingClient;
  /** The image tag parameters (`/tier/<stage>/image/<tier>`): what each tier runs. */
  readonly ssm: SSMClient;
  /** The database secrets a restore carries over to the restored instance. */
  readonly secrets: SecretsManagerClient;
}

export interface AwsBackendOptions {
  /** Stage name as in infra/aws/config (dev, prod). */
  readonly stage: string;
  /** Region; default: the SDK's chain (AWS_REGION, profile). */
  readonly region?: string;
  /** Stacks whose names start with this belong to the stage. @default `tier-<stage>-` */
  readonly stackPrefix?: string;
  /** Pre-built clients (tests, custom credentials); the rest are created for `region`. */
  readonly clients?: Partial<AwsClients>;
  /** Wait between polls of a rollout, backup job or query. @default 10000 (logs: 1000) */
  readonly pollIntervalMs?: number;
  /** Give up waiting for a rollout or scale change after this long. @default 30 min */
  readonly rolloutTimeoutMs?: number;
  /** Give up waiting for an on-demand backup after this long. @default 60 min */
  readonly backupTimeoutMs?: number;
  /** Give up waiting for a Logs Insights query after this long. @default 60 s */
  readonly queryTimeoutMs?: number;
  /** Give up waiting for a restored instance (or its modification) after this long. @default 3 h */
  readonly restoreTimeoutMs?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export interface AwsContext {
  readonly stage: string;
  readonly stackPrefix: string;
  readonly clients: AwsClients;
  readonly pollIntervalMs: number;
  readonly rolloutTimeoutMs: number;
  readonly backupTimeoutMs: number;
  readonly queryTimeoutMs: number;
  readonly restoreTimeoutMs: number;
  now(): number;
  outputs(): Promise<StackOutputs>;
  /** Cluster and service name of a tier, from the outputs. */
  service(tier: TierName): Promise<{ cluster: string; service: string }>;
  sleep(ms: number): Promise<void>;
}

export function createAwsContext(opts: AwsBackendOptions): AwsContext {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(opts.stage)) {
    throw new TierError(`stage '${opts.stage}' is not a stage name`, 'use --stage dev or --stage prod');
  }
  const config = opts.region ? { region: opts.region } : {};
  const given = opts.clients ?? {};
  const clients: AwsClients = {
    cloudformation: given.cloudformation ?? new CloudFormationClient(config),
    ecs: given.ecs ?? new ECSClient(config),
    elb: given.elb ?? new ElasticLoadBalancingV2Client(config),
    rds: given.rds ?? new RDSClient(config),
    backup: given.backup ?? new BackupClient(config),
    logs: given.logs ?? new CloudWatchLogsClient(config),
    cloudwatch: given.cloudwatch ?? new CloudWatchClient(config),
    autoscaling: given.autoscaling ?? new ApplicationAutoScalingClient(config),
    ssm: given.ssm ?? new SSMClient(config),
    secrets: given.secrets ?? new SecretsManagerClient(config),
  };
  const stackPrefix = opts.stackPrefix ?? stagePrefix(opts.stage);
  let outputs: Promise<StackOutputs> | undefined;
  const ctx: AwsContext = {
    stage: opts.stage,
    stackPrefix,
    clients,
    pollIntervalMs: opts.pollIntervalMs ?? 10_000,
    rolloutTimeoutMs: opts.rolloutTimeoutMs ?? 30 * 60_000,
    backupTimeoutMs: opts.backupTimeoutMs ?? 60 * 60_000,
    queryTimeoutMs: opts.queryTimeoutMs ?? 60_000,
    restoreTimeoutMs: opts.restoreTimeoutMs ?? 3 * 60 * 60_000,
    now: opts.now ?? Date.now,
    outputs() {
      // One CLI run reads the outputs once; a failed read is not cached so a retry can succeed.
      outputs ??= readStackOutputs(clients.cloudformation, stackPrefix, opts.stage).catch((err: unknown) => {
        outputs = undefined;
        throw err;
      });
      return outputs;
    },
    async service(tier) {
      const out = await ctx.outputs();
      return {
        cluster: need(out.clusterName, 'ClusterName', out),
        service: need(out.serviceNames[tier], serviceOutputKey(tier), out),
      };
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  return ctx;
}

/** Reads `web`/`api` (and, where allowed, `db`) from free text, or names the fix. */
export function parseTierArg<T extends string>(value: string | undefined, allowed: readonly T[]): T {
  if (value !== undefined && (allowed as readonly string[]).includes(value)) return value as T;
  throw new TierError(`unknown tier '${value ?? ''}'`, `use one of: ${allowed.join(', ')}`);
}
