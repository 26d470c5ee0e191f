// tier scale / stop / start for the local environment. Scale-up waits until every new replica is in
// its balancer; scale-down and stop always drain (SIGTERM with a timeout: the app turns unready,
// keeps serving SHUTDOWN_DRAIN_MS, then exits), never kill first.
import { type Progress, TIERS, TierError, type TierName } from '../backend.js';
import { replicasVar } from './app-tiers.js';
import { balancer, inRotation, slotFor } from './balancer.js';
import { type Container, inspectContainer, listContainers, STOP_TIMEOUT_S, stopAndRemove } from './containers.js';
import { compose, engineRun, type OpsEnv } from './ops-env.js';
import { replicaReady } from './replica-admin.js';
import { setEnvValues } from './settings.js';

/** Waits until HAProxy has each container UP (the app tiers), or the deadline passes. */
export async function waitInBalancer(env: OpsEnv, tier: string, names: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = env.now() + timeoutMs;
  const pending = new Set(names);
  const lb = await balancer(env, tier);
  while (pending.size > 0) {
    const stats = await lb.stats();
    for (const name of [...pending]) {
      const c = await inspectContainer(env.api, name);
      if (c?.ip && inRotation(slotFor(stats, c.ip)) && (await replicaReady(env, c.ip))) pending.delete(name);
    }
    if (pending.size === 0) return;
    if (env.now() > deadline) {
      throw new TierError(
        `${[...pending].join(', ')} not in the ${tier} balancer after ${timeoutMs / 1000}s`,
        `see \`tier logs ${tier} --since 5m\` and \`tier status\``,
      );
    }
    await env.sleep(250);
  }
}

export async function scale(env: OpsEnv, progress: Progress, counts: Partial<Record<TierName, number>>): Promise<void> {
  for (const [tier, wanted] of Object.entries(counts) as [TierName, number][]) {
    const all = await listContainers(env.api, tier);
    const current = all.filter((c) => c.running);
    progress.step(`${tier}: ${current.length} -> ${wanted} replicas`);
    if (wanted > current.length) {
      const before = new Set(all.map((c) => c.name));
      await compose(env, [
        'up',
        '-d',
        '--no-deps',
        '--no-recreate',
        '--scale',
        `${tier}=${wanted + (all.length - current.length)}`,
        tier,
      ]);
      const added = (await listContainers(env.api, tier)).filter((c) => !before.has(c.name)).map((c) => c.name);
      progress.info(`started ${added.join(', ') || 'nothing'}; waiting until the balancer has them`);
      await waitInBalancer(env, tier, added);
    } else if (wanted < current.length) {
      // Newest first, like compose; each drains in parallel while the others keep serving.
      const victims = [...current].sort((a, b) => b.number - a.number).slice(0, current.length - wanted);
      progress.info(`draining ${victims.map((v) => v.name).join(', ')} (stop timeout ${STOP_TIMEOUT_S}s)`);
      await Promise.all(victims.map((v) => stopAndRemove(env, v.name)));
    }
    // `tier up` keeps it.
    await setEnvValues(env.envFile, { [replicasVar(tier)]: String(wanted) });
    progress.done(`${tier}=${wanted}`);
  }
}

async function services(env: OpsEnv): Promise<string[]> {
  return (await compose(env, ['config', '--services'])).split('\n').filter(Boolean);
}

async function checkService(env: OpsEnv, tier: string): Promise<void> {
  const known = await services(env);
  if (!known.includes(tier)) {
    throw new TierError(`unknown tier '${tier}'`, `use one of: ${known.filter((s) => s !== 'migrate').join(', ')}`);
  }
}

export async function stop(env: OpsEnv, progress: Progress, tier: string): Promise<void> {
  await checkService(env, tier);
  const running = (await listContainers(env.api, tier)).filter((c) => c.running);
  progress.step(`stopping ${tier} (${running.length} container(s), draining)`);
  // compose stop uses each service's stop_grace_period (api/web 15 s, db 30 s): SIGTERM first.
  await compose(env, ['stop', tier], { timeoutMs: 120_000 });
  progress.done();
}

export async function start(env: OpsEnv, progress: Progress, tier: string): Promise<void> {
  await checkService(env, tier);
  const existing: Container[] = await listContainers(env.api, tier);
  progress.step(`starting ${tier}`);
  if (existing.length === 0) await compose(env, ['up', '-d', '--no-deps', tier]);
  else await compose(env, ['start', tier]);
  const names = (await listContainers(env.api, tier)).map((c) => c.name);
  if ((TIERS as readonly string[]).includes(tier)) {
    progress.info('waiting until the balancer has every replica');
    await waitInBalancer(env, tier, names);
  } else {
    await waitRunning(env, names);
  }
  progress.done(`${names.length} container(s)`);
}

async function waitRunning(env: OpsEnv, names: string[], timeoutMs = 90_000): Promise<void> {
  const deadline = env.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      names.map(async (n) => (await inspectContainer(env.api, n)) && (await healthy(env, n))),
    );
    if (states.every(Boolean)) return;
    if (env.now() > deadline) {
      throw new TierError(
        `${names.join(', ')} not running and healthy after ${timeoutMs / 1000}s`,
        'see `tier status`',
      );
    }
    await env.sleep(500);
  }
}

/**
 * Runs the container's healthcheck now (podman keeps a stopped container's last status, so a
 * freshly started db would look healthy at once); Docker runs checks itself: read its status.
 */
async function healthy(env: OpsEnv, name: string): Promise<boolean> {
  const c = await inspectContainer(env.api, name);
  if (!c?.running) return false;
  if (env.engine !== 'podman') return c.health === 'none' || c.health === 'healthy';
  return engineRun(env, ['healthcheck', 'run', name], { timeoutMs: 10_000 }).then(
    () => true,
    (err: Error) => /no defined healthcheck|has no healthcheck/i.test(err.message),
  );
}
