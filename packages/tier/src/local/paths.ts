// Where the local environment's files live: the compose project, its generated .env and the
// machine-local state directory (supervisor pid, log-store container map, caches).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localStateDir } from '../state.js';

export interface LocalPaths {
  readonly root: string;
  /** infra/local: compose.yaml, configs, image sources. */
  readonly localDir: string;
  readonly composeFile: string;
  /** infra/local/.env: image tags, ports and generated passwords (gitignored, mode 0600). */
  readonly envFile: string;
  /** .tier/local (gitignored, ../state.ts): deploy history, build logs, pid files, logs of background processes, caches. */
  readonly stateDir: string;
  /** Mounted into the log store: container id -> "service|name". */
  readonly logMapFile: string;
}

export function localPaths(
  root = process.env.TIER_ROOT ?? fileURLToPath(new URL('../../../../', import.meta.url)),
): LocalPaths {
  const localDir = join(root, 'infra/local');
  const stateDir = localStateDir(root);
  mkdirSync(join(stateDir, 'logmap'), { recursive: true });
  return {
    root,
    localDir,
    composeFile: join(localDir, 'compose.yaml'),
    envFile: join(localDir, '.env'),
    stateDir,
    logMapFile: join(stateDir, 'logmap/containers.json'),
  };
}

/** Compose project name; every container and volume carries it. */
export const PROJECT = process.env.TIER_PROJECT ?? 'tier';
