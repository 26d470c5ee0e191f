// The contract every target implements; commands are thin layers over it.
import type { TierName } from '../../contract/src/index.js';

export { DEPLOY_ORDER, TIERS, type TierName } from '../../contract/src/index.js';

export interface Progress {
  /** A step started (shown as a spinner line on a TTY, a plain line otherwise). */
  step(message: string): void;
  /** Extra detail for the current step. */
  info(message: string): void;
  /** The current step finished. */
  done(message?: string): void;
  warn(message: string): void;
}

export interface ReplicaStatus {
  readonly tier: string;
  readonly name: string;
  readonly version: string;
  readonly health: 'healthy' | 'unhealthy' | 'starting' | 'stopped' | 'unknown';
  readonly address: string;
}

export interface EnvironmentStatus {
  readonly replicas: ReplicaStatus[];
  readonly endpoints: Record<string, string>;
}

export interface DeployOptions {
  readonly version?: string;
  readonly tiers: TierName[];
  /** First one replica of the new version takes a share of the traffic and is judged. @default none: a plain rolling deploy */
  readonly canary?: CanaryOptions;
  /** Aborting it while a canary is judged (Ctrl-C) removes the canary and keeps the old version. */
  readonly signal?: AbortSignal;
}

export interface CanaryOptions {
  /** Share of the tier's requests the canary takes while it bakes, in percent (more than 0, less than 100). */
  readonly percent: number;
  /** How long the canary's 5xx rate and p99 latency are compared with the old replicas' before the rest rolls. @default 60 s */
  readonly bakeMs?: number;
  /** The canary fails when its p99 over the bake is above this many times the old replicas'. @default 1.5 */
  readonly maxP99Ratio?: number;
  /** The canary fails when its p99 over the bake is above this, whatever the old replicas'. @default none */
  readonly maxP99Ms?: number;
}

export interface DeployRecord {
  readonly id: string;
  readonly tier: TierName;
  readonly version: string;
  readonly previousVersion: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly outcome: 'succeeded' | 'rolled-back' | 'failed';
  readonly detail?: string;
}

export interface BackupInfo {
  readonly id: string;
  readonly type: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly sizeBytes?: number;
}

export type RestoreTarget = { latest: true } | { backupId: string } | { time: string };

export interface LogQuery {
  readonly tier?: string;
  readonly since?: string;
  readonly grep?: string;
  readonly requestId?: string;
  readonly limit?: number;
}

export interface TierMetrics {
  readonly tier: string;
  readonly requestRate: number;
  readonly errorRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Requests per second over the window, oldest first, for the terminal chart. */
  readonly series: number[];
}

export interface Backend {
  readonly target: 'local' | 'aws';
  up(progress: Progress): Promise<EnvironmentStatus>;
  down(progress: Progress, opts: { volumes: boolean }): Promise<void>;
  status(): Promise<EnvironmentStatus>;
  deploy(progress: Progress, opts: DeployOptions): Promise<DeployRecord[]>;
  rollback(progress: Progress, opts: { tiers: TierName[] }): Promise<DeployRecord[]>;
  history(): Promise<DeployRecord[]>;
  scale(progress: Progress, counts: Partial<Record<TierName, number>>): Promise<void>;
  stop(progress: Progress, tier: string): Promise<void>;
  start(progress: Progress, tier: string): Promise<void>;
  backupNow(progress: Progress): Promise<BackupInfo>;
  backupList(): Promise<BackupInfo[]>;
  backupVerify(progress: Progress): Promise<{ backup: BackupInfo; rows: number }>;
  restore(progress: Progress, target: RestoreTarget): Promise<void>;
  logs(query: LogQuery): Promise<Record<string, unknown>[]>;
  metrics(opts: { windowSeconds: number }): Promise<TierMetrics[]>;
}

/** A failure the user can act on: what failed and what to do next. No stack trace is shown. */
export class TierError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'TierError';
  }
}
