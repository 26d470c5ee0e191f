// Deployment history of the local environment: one JSON file in its state directory (.tier/local), newest last.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeployRecord, TierName } from '../backend.js';
import { stateDir } from '../state.js';
import type { OpsEnv } from './ops-env.js';

const FILE = 'deployments.json';

export async function readHistory(env: OpsEnv): Promise<DeployRecord[]> {
  // Until its first new record, an environment's history is where it was kept before: .tier/deployments.json.
  const file = [join(env.stateDir, FILE), join(stateDir(env.root), FILE)].find((f) => existsSync(f));
  if (!file) return [];
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { deployments?: DeployRecord[] };
    return parsed.deployments ?? [];
  } catch {
    // A damaged history must not block a deploy; it is only a record.
    return [];
  }
}

export async function appendHistory(env: OpsEnv, record: DeployRecord): Promise<void> {
  const list = [...(await readHistory(env)), record].slice(-500);
  await mkdir(env.stateDir, { recursive: true });
  const file = join(env.stateDir, FILE);
  // Write then rename: a crash mid-write never leaves half a file.
  await writeFile(`${file}.tmp`, `${JSON.stringify({ deployments: list }, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/**
 * The version to roll back to: the version that ran before the tier's latest successful deploy
 * (a rollback itself counts as a deploy, so rolling back twice returns to where you started).
 */
export function previousVersion(history: DeployRecord[], tier: TierName): string | undefined {
  const last = [...history].reverse().find((r) => r.tier === tier && r.outcome === 'succeeded');
  return last?.previousVersion;
}
