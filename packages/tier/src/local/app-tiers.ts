// What `tier up` does with the app tiers: it keeps what the operations set. Compose gets the replica
// count `tier scale` recorded and the image each tier runs now (what `tier deploy` or `tier rollback`
// pinned), so it recreates and removes nothing and only starts what died; where the working tree has a
// version the last `tier up` did not bring, the tier then rolls to it start-first, as `tier deploy` does.
import { DEPLOY_ORDER, type Progress, TierError, type TierName } from '../backend.js';
import { imageId, imageName } from '../images/build.js';
import { listContainers } from './containers.js';
import type { OpsEnv } from './ops-env.js';
import { deploy, imageVar } from './rollout.js';
import { readEnvFile, type Settings, setEnvValues } from './settings.js';

/** The .env value that keeps a tier's replica count from `tier scale` (compose.yaml's own, 2, until then). */
export const replicasVar = (tier: TierName) => `${tier.toUpperCase()}_REPLICAS`;

export interface AppTiersPlan {
  /** What compose gets: each tier's image (<TIER>_IMAGE) and APP_VERSION, the working tree's once nothing is left to roll. */
  readonly settings: Settings;
  /** `--scale <tier>=<n>` for `compose up`, for each count `tier scale` recorded. */
  readonly scale: string[];
  /** Tiers that roll to the working tree's version once the environment is healthy. */
  readonly roll: TierName[];
}

/** `version`: the working tree's (its images built). */
export async function planAppTiers(env: OpsEnv, version: string): Promise<AppTiersPlan> {
  const current = readEnvFile(env.envFile);
  // A tree the last `tier up` did not bring is what this one ships; else what the operations set stays.
  const treeIsNew = current.APP_VERSION !== version;
  const containers = (await listContainers(env.api)).filter((c) => !c.oneOff);
  const exists = async (image: string | undefined) =>
    image !== undefined && (await imageId(env.engine, image, env.run)) !== undefined;
  const settings: Settings = {};
  const scale: string[] = [];
  const roll: TierName[] = [];
  for (const tier of DEPLOY_ORDER) {
    const tree = imageName(tier, version);
    const pinned = (await exists(current[imageVar(tier)])) ? current[imageVar(tier)] : undefined;
    const target = !treeIsNew && pinned ? pinned : tree;
    const runs = pinned && containers.some((c) => c.service === tier) ? pinned : target;
    settings[imageVar(tier)] = runs;
    if (runs !== target) roll.push(tier);
    const count = current[replicasVar(tier)];
    if (count) scale.push('--scale', `${tier}=${count}`);
  }
  // Written once the roll succeeded: a `tier up` after a failed one tries it again.
  settings.APP_VERSION = roll.length ? (current.APP_VERSION ?? '') : version;
  return { settings, scale, roll };
}

/** Rolls the plan's tiers to `version` start-first; fails, the tier back on what it ran, when one does not land. */
export async function rollAppTiers(
  env: OpsEnv,
  progress: Progress,
  plan: AppTiersPlan,
  version: string,
): Promise<void> {
  if (plan.roll.length === 0) return;
  const records = await deploy(env, progress, { version, tiers: plan.roll });
  const failed = records.filter((r) => r.outcome !== 'succeeded');
  if (failed.length) {
    throw new TierError(
      `${failed.map((r) => `${r.tier} did not roll to ${version} (${r.outcome}: ${r.detail ?? ''})`).join('; ')}`,
      'it runs the version it ran before: see `tier history` and `tier logs --since 10m`, fix, then `tier up` again',
    );
  }
  await setEnvValues(env.envFile, { APP_VERSION: version });
}
