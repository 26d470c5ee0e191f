// The operations of the local target, attached to the local backend: rolling deploys,
// rollback and history, scale/stop/start, hitless reloads, backups and restore, logs, metrics.
// Kept apart from index.ts (up/down/status): createLocalBackend wraps the backend with these.
import type { Backend, Progress } from '../backend.js';
import * as backup from './backup.js';
import { rotateApiCredentials } from './credentials.js';
import type { Engine } from './engine.js';
import { queryLogs } from './logs.js';
import { metrics } from './metrics.js';
import { type OpsEnv, opsEnvFor } from './ops-env.js';
import type { LocalPaths } from './paths.js';
import { type Reloadable, reload } from './reload.js';
import { deploy, history, rollback } from './rollout.js';
import { scale, start, stop } from './scale.js';

export interface LocalOperations {
  reload(progress: Progress, what: Reloadable): Promise<void>;
  rotateCredentials(progress: Progress): Promise<{ user: string }>;
}

/** Adds the operations to the lifecycle part (up/down/status), making a whole Backend. */
export function withOperations<
  B extends Pick<Backend, 'target' | 'up' | 'down' | 'status'> & {
    readonly paths: LocalPaths;
    engine(): Promise<Engine>;
  },
>(backend: B): B & Backend & LocalOperations {
  let ops: Promise<OpsEnv> | undefined;
  const env = () => {
    ops ??= backend.engine().then((engine) => opsEnvFor(backend.paths, engine));
    return ops;
  };
  return Object.assign(backend, {
    deploy: async (progress: Progress, opts: Parameters<Backend['deploy']>[1]) => deploy(await env(), progress, opts),
    rollback: async (progress: Progress, opts: Parameters<Backend['rollback']>[1]) =>
      rollback(await env(), progress, opts),
    history: async () => history(await env()),
    scale: async (progress: Progress, counts: Parameters<Backend['scale']>[1]) => scale(await env(), progress, counts),
    stop: async (progress: Progress, tier: string) => stop(await env(), progress, tier),
    start: async (progress: Progress, tier: string) => start(await env(), progress, tier),
    backupNow: async (progress: Progress) => backup.backupNow(await env(), progress),
    backupList: async () => backup.backupList(await env()),
    backupVerify: async (progress: Progress) => backup.backupVerify(await env(), progress),
    restore: async (progress: Progress, target: Parameters<Backend['restore']>[1]) => {
      await backup.restore(await env(), progress, target);
    },
    logs: async (query: Parameters<Backend['logs']>[0]) => queryLogs(await env(), query),
    metrics: async (opts: { windowSeconds: number }) => metrics(await env(), opts),
    reload: async (progress: Progress, what: Reloadable) => reload(await env(), progress, what),
    rotateCredentials: async (progress: Progress) => rotateApiCredentials(await env(), progress),
  });
}
