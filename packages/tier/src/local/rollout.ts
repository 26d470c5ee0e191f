// Rolling deploys of the app tiers, start-first and one replica at a time:
//   add a replica of the new version (compose --scale N+1 --no-recreate, the image from <TIER>_IMAGE)
//   -> wait until HAProxy has it UP (its check is /readyz) -> stop one old replica with a drain
//   timeout (SIGTERM: readiness 503, keeps serving SHUTDOWN_DRAIN_MS, exits) -> repeat.
// Aborts and rolls back by itself when a new replica is not in rotation by the deadline (crash,
// failing readiness) or the balancer's 5xx rate rises during the rollout. Migrations run once,
// as a one-off container of the new api image, before the first new api replica starts.
// With a canary, the first new replica takes a share of the requests by HAProxy weight and bakes,
// judged against the old replicas, before the rest rolls; a failing canary is removed by itself.
import { join } from 'node:path';
import {
  DEPLOY_ORDER,
  type DeployOptions,
  type DeployRecord,
  type Progress,
  TierError,
  type TierName,
} from '../backend.js';
import { ensureImages, imageId, imageName } from '../images/build.js';
import { appVersion } from '../images/git.js';
import { type Balancer, balancer, inRotation, type ServerStat, slotFor, totals } from './balancer.js';
import {
  CANARY_DEFAULTS,
  CanaryJudge,
  canaryWeights,
  describeFigures,
  describeLatency,
  HeldWeights,
  LatencyJudge,
  type ResolvedCanary,
  resolveCanary,
} from './canary.js';
import {
  type Container,
  inspectContainer,
  lastLogLines,
  listContainers,
  stopAndRemove,
  versionOf,
} from './containers.js';
import { appendHistory, previousVersion, readHistory } from './history.js';
import { type ComposeOptions, compose, engineRun, type OpsEnv } from './ops-env.js';
import { latencyOf, replicaReadiness, replicaReady, smokeReplica } from './replica-admin.js';
import { readEnvFile, setEnvValues } from './settings.js';

export interface RolloutSettings {
  /** A new replica must be ready and in the balancer within this time. */
  readonly readyTimeoutMs: number;
  /** Abort when the balancer's 5xx share over the rollout exceeds this (with at least minErrors). */
  readonly maxErrorRate: number;
  readonly minErrors: number;
  /** Replicas replaced per step (default 1: one at a time). */
  readonly batch: number;
}

export function rolloutSettings(envVars: NodeJS.ProcessEnv = process.env): RolloutSettings {
  const num = (name: string, fallback: number) => {
    const v = Number(envVars[name]);
    return envVars[name] !== undefined && Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  return {
    readyTimeoutMs: num('TIER_READY_TIMEOUT_S', 30) * 1000,
    maxErrorRate: num('TIER_MAX_ERROR_RATE', 0.02),
    minErrors: num('TIER_MIN_ERRORS', 5),
    batch: Math.max(1, Math.floor(num('TIER_ROLLOUT_BATCH', 1))),
  };
}

/** The compose variable that holds a tier's image (infra/local/compose.yaml: image: ${API_IMAGE}). */
export const imageVar = (tier: TierName) => `${tier.toUpperCase()}_IMAGE`;

class RolloutFailure extends Error {
  constructor(
    message: string,
    readonly failed?: Container,
  ) {
    super(message);
  }
}

/** Watches the balancer's 5xx counters from the start of a rollout. */
class ErrorGuard {
  private base: { responses: number; errors5xx: number } | undefined;
  constructor(
    private readonly tier: TierName,
    private readonly settings: RolloutSettings,
  ) {}

  check(stats: ServerStat[]): void {
    const now = totals(stats);
    // Counters restart with a balancer reload: start counting again from there.
    if (!this.base || now.responses < this.base.responses) {
      this.base = now;
      return;
    }
    const responses = now.responses - this.base.responses;
    const errors = now.errors5xx - this.base.errors5xx;
    if (errors >= this.settings.minErrors && errors / Math.max(responses, 1) > this.settings.maxErrorRate) {
      throw new RolloutFailure(
        `error rate through ${this.tier}-lb rose to ${((100 * errors) / Math.max(responses, 1)).toFixed(1)}% (${errors} 5xx of ${responses} responses)`,
      );
    }
  }
}

/** Sets <TIER>_IMAGE in infra/local/.env, so a later `compose up` keeps the deployed version. */
export const pinImage = (env: OpsEnv, tier: TierName, image: string) =>
  setEnvValues(env.envFile, { [imageVar(tier)]: image });

/** The version a tier runs now: its replicas' (most common) image tag, else the pinned one. */
async function runningVersion(env: OpsEnv, tier: TierName, replicas: Container[]): Promise<string> {
  const counts = new Map<string, number>();
  for (const r of replicas) counts.set(r.version, (counts.get(r.version) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (top) return top;
  const pinned = readEnvFile(env.envFile)[imageVar(tier)];
  return pinned ? versionOf(pinned) : 'unknown';
}

/**
 * Runs the api image's migrations once: the compose `migrate` job (its networks and settings)
 * recreated on the new image, then waited for. (`compose run` against podman's API raced with
 * its own --rm and took a minute; `up` of the one-shot service is quick and reliable.)
 */
export async function runMigrations(env: OpsEnv, apiImage: string, progress: Progress): Promise<void> {
  progress.step(`migrations: ${apiImage} (one-off job, before any new replica)`);
  try {
    await composeRetry(env, ['up', '-d', '--no-deps', '--force-recreate', 'migrate'], { env: { API_IMAGE: apiImage } });
    const job = (await listContainers(env.api, 'migrate')).at(-1);
    if (!job) throw new Error('compose did not create the migrate container');
    const code = (await engineRun(env, ['wait', job.name], { timeoutMs: 600_000 })).trim().split('\n').pop();
    if (code !== '0') throw new Error(`exit ${code}: ${await lastLogLines(env, job.name)}`);
  } catch (err) {
    throw new RolloutFailure(`migrations failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  progress.done();
}

/** compose, once more after a transient race (a container removed while compose listed it). */
async function composeRetry(env: OpsEnv, args: string[], opts: ComposeOptions): Promise<string> {
  try {
    return await compose(env, args, opts);
  } catch (err) {
    if (!/no such container|no container with name or ID/i.test(String(err instanceof Error ? err.message : err)))
      throw err;
    await env.sleep(500);
    return compose(env, args, opts);
  }
}

/**
 * Starts `count` more replicas with `image` beside `before` (the tier's containers now); resolves
 * with the containers compose created and the tier's containers after.
 */
async function addReplicas(
  env: OpsEnv,
  tier: TierName,
  image: string,
  count: number,
  before: readonly Container[],
): Promise<{ added: Container[]; all: Container[] }> {
  const names = new Set(before.map((c) => c.name));
  await composeRetry(
    env,
    ['up', '-d', '--no-deps', '--no-recreate', '--scale', `${tier}=${before.length + count}`, tier],
    { env: { [imageVar(tier)]: image } },
  );
  const all = await listContainers(env.api, tier);
  const added = all.filter((c) => !names.has(c.name));
  if (added.length === 0) throw new RolloutFailure(`compose did not start a new ${tier} replica`);
  return { added, all };
}

/** What is left of `all` once `removed` are gone. */
const without = (all: readonly Container[], removed: readonly Container[]) =>
  all.filter((c) => !removed.some((r) => r.name === c.name));

/** The container as it is now; fails when it is gone, crashed or unhealthy. */
async function aliveContainer(env: OpsEnv, name: string, while_: string): Promise<Container> {
  const c = await inspectContainer(env.api, name);
  if (!c) throw new RolloutFailure(`${name} disappeared while ${while_}`);
  const crashed = (!c.running && c.state !== 'created') || c.restarts > 0;
  if (crashed || c.health === 'unhealthy') {
    const why = crashed ? `exited (code ${c.exitCode}, ${c.restarts} restarts)` : 'failed its health check';
    throw new RolloutFailure(`${name} ${why}: ${await lastLogLines(env, name)}`, c);
  }
  return c;
}

/**
 * Waits until the balancer has the container UP; fails fast when it crashes or turns unhealthy.
 * `watch` sees every read of the balancer's counters (the error guard, the canary's weights).
 */
async function waitInRotation(
  env: OpsEnv,
  lb: Balancer,
  name: string,
  settings: RolloutSettings,
  watch: ((stats: ServerStat[], c: Container) => void | Promise<void>) | undefined,
): Promise<number> {
  const started = env.now();
  const deadline = started + settings.readyTimeoutMs;
  for (;;) {
    const c = await aliveContainer(env, name, 'starting');
    const stats = await lb.stats();
    await watch?.(stats, c);
    if (c.ip && inRotation(slotFor(stats, c.ip)) && (await replicaReady(env, c.ip))) return env.now() - started;
    if (env.now() > deadline) {
      throw new RolloutFailure(
        `${name} was not ready and in the balancer within ${settings.readyTimeoutMs / 1000}s: ${await lastLogLines(env, name)}`,
        c,
      );
    }
    await env.sleep(250);
  }
}

/**
 * Waits until the canary says it is ready (its weight held at 0 by `watch`), then smoke-tests it
 * directly, read-only, before the balancer sends it any user request. A second try absorbs one slow
 * first answer; a failure is final.
 */
async function smokeBeforeTraffic(
  env: OpsEnv,
  lb: Balancer,
  tier: TierName,
  name: string,
  settings: RolloutSettings,
  watch: (stats: ServerStat[], c: Container) => Promise<void>,
): Promise<void> {
  const deadline = env.now() + settings.readyTimeoutMs;
  for (;;) {
    const c = await aliveContainer(env, name, 'starting');
    await watch(await lb.stats(), c);
    if (c.ip && (await replicaReady(env, c.ip))) {
      let failed = await smokeReplica(env, tier, c.ip);
      if (failed) {
        await env.sleep(1000);
        failed = await smokeReplica(env, tier, c.ip);
      }
      if (failed) throw new RolloutFailure(`canary ${name} failed its smoke test before any traffic: ${failed}`, c);
      return;
    }
    if (env.now() > deadline) {
      throw new RolloutFailure(
        `${name} was not ready within ${settings.readyTimeoutMs / 1000}s: ${await lastLogLines(env, name)}`,
        c,
      );
    }
    await env.sleep(250);
  }
}

/**
 * Replaces every replica of `current` (the tier's containers now) not running `image`, one batch at
 * a time. Keeps the replica count. Throws a RolloutFailure (with the failing container, if one)
 * when a check fails.
 */
async function replaceAll(
  env: OpsEnv,
  lb: Balancer,
  tier: TierName,
  image: string,
  current: readonly Container[],
  progress: Progress,
  settings: RolloutSettings,
  guard: ErrorGuard | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const old = current.filter((c) => c.image !== image);
  let known = current;
  const version = versionOf(image);
  for (let i = 0; i < old.length; i += settings.batch) {
    if (signal?.aborted) throw new RolloutFailure(`interrupted after ${i} of ${old.length} replica(s)`);
    const chunk = old.slice(i, i + settings.batch);
    const label = chunk.length === 1 ? `${i + 1}/${old.length}` : `${i + 1}-${i + chunk.length}/${old.length}`;
    progress.step(`${tier} ${label}: start ${chunk.length} ${version} replica(s)`);
    const { added: fresh, all } = await addReplicas(env, tier, image, chunk.length, known);
    progress.info(`${fresh.map((f) => f.name).join(', ')} created; waiting for /readyz and the balancer`);
    const watch = guard ? (stats: ServerStat[]) => guard.check(stats) : undefined;
    const times = await Promise.all(fresh.map((f) => waitInRotation(env, lb, f.name, settings, watch)));
    progress.info(
      `in rotation after ${(Math.max(...times) / 1000).toFixed(1)}s; draining ${chunk.map((o) => o.name).join(', ')}`,
    );
    await Promise.all(chunk.map((o) => stopAndRemove(env, o.name)));
    known = without(all, chunk);
    if (guard) guard.check(await lb.stats());
    progress.done(`${fresh.map((f) => f.name).join(', ')} replaced ${chunk.map((o) => o.name).join(', ')}`);
  }
}

/**
 * Starts one replica of `image` with `percent` of the tier's requests (HAProxy weights) and judges
 * it for the bake against the old replicas. Passed: the weights go back and the canary takes the
 * place of one old replica (drained now; the rest roll as usual). Failed or interrupted: the canary
 * stops taking requests (weight 0), is drained and removed, the weights go back, and the failure is
 * thrown. Resolves with the figures of the bake and the tier's containers after it.
 */
async function bakeCanary(
  env: OpsEnv,
  lb: Balancer,
  tier: TierName,
  image: string,
  current: readonly Container[],
  canary: ResolvedCanary,
  progress: Progress,
  settings: RolloutSettings,
  signal: AbortSignal | undefined,
): Promise<{ figures: string; replicas: Container[] }> {
  const baseline = current.filter((c) => c.running);
  const version = versionOf(image);
  const weights = canaryWeights(canary.percent, baseline.length);
  progress.step(`${tier} canary: start 1 ${version} replica for ${canary.percent}% of the requests`);
  const { added, all } = await addReplicas(env, tier, image, 1, current);
  const created = added[0]!;
  let canaryIp = created.ip;
  const held = new HeldWeights(lb);
  for (const b of baseline) held.hold(b.ip, weights.baseline);
  const judge = new CanaryJudge(
    () => canaryIp,
    baseline.map((b) => b.ip),
    settings,
  );
  const latency = new LatencyJudge(
    () => canaryIp,
    baseline.map((b) => b.ip),
    canary,
  );
  const histograms = () => latencyOf(env, [canaryIp, ...baseline.map((b) => b.ip)]);
  let latencyNote = '';
  // The canary's weight is set as soon as DNS puts it in a slot, before HAProxy sends it anything:
  // 0 until it passed its smoke test, then its share.
  let admitted = false;
  const watch = async (stats: ServerStat[], c: Container) => {
    if (signal?.aborted) throw new RolloutFailure(`interrupted while the canary ${c.name} was judged`, c);
    if (c.ip) canaryIp = c.ip;
    held.hold(canaryIp, admitted ? weights.canary : 0);
    await held.apply(stats);
    const why = judge.observe(stats);
    if (why) throw new RolloutFailure(`canary ${c.name} failed: ${why}`, c);
  };
  try {
    await smokeBeforeTraffic(env, lb, tier, created.name, settings, watch);
    admitted = true;
    const took = await waitInRotation(env, lb, created.name, settings, watch);
    progress.info(
      `${created.name} in rotation after ${(took / 1000).toFixed(1)}s at weight ${weights.canary} (old replicas ${weights.baseline}); baking ${canary.bakeMs / 1000}s`,
    );
    const bakeEnd = env.now() + canary.bakeMs;
    const latencyFrom = env.now() + Math.min(CANARY_DEFAULTS.latencyWarmupMs, canary.bakeMs / 4);
    let latencyStarted = false;
    let report = env.now() + CANARY_DEFAULTS.reportMs;
    for (;;) {
      const c = await aliveContainer(env, created.name, 'baking');
      await watch(await lb.stats(), c);
      if (env.now() >= bakeEnd) break;
      if (!latencyStarted && env.now() >= latencyFrom) {
        latency.start(await histograms());
        latencyStarted = true;
      }
      if (env.now() >= report) {
        if (latencyStarted) latency.read(await histograms());
        progress.info(
          `${describeFigures(judge.current)}; ${describeLatency(latency.current)}; ${Math.ceil((bakeEnd - env.now()) / 1000)}s left`,
        );
        report += CANARY_DEFAULTS.reportMs;
      }
      await env.sleep(Math.min(CANARY_DEFAULTS.pollMs, Math.max(bakeEnd - env.now(), 1)));
    }
    if (latencyStarted) latency.read(await histograms());
    const verdict = latency.verdict();
    if (verdict.failed) throw new RolloutFailure(`canary ${created.name} failed: ${verdict.failed}`, created);
    latencyNote = `${describeLatency(latency.current)}${verdict.judged ? '' : ` (p99 not judged: fewer than ${CANARY_DEFAULTS.minLatencyRequests} requests)`}`;
    await held.restore();
  } catch (err) {
    progress.warn(`${tier} canary: ${err instanceof Error ? err.message : String(err)}; removing ${created.name}`);
    // Out of the traffic first, so only in-flight requests reach it while it drains.
    held.hold(canaryIp, 0);
    await held
      .apply(await lb.stats())
      .catch((e: Error) => progress.warn(`could not take ${created.name} out of the traffic: ${e.message}`));
    await stopAndRemove(env, created.name);
    await held.restore().catch((e: Error) => progress.warn(`${tier}-lb weights not restored: ${e.message}`));
    throw err instanceof RolloutFailure ? err : new RolloutFailure(err instanceof Error ? err.message : String(err));
  }
  const figures = `${describeFigures(judge.current)}; ${latencyNote}`;
  const old = baseline.filter((b) => b.image !== image);
  progress.info(`canary passed (${figures}); draining ${old[0]?.name ?? 'nothing'}`);
  if (old[0]) await stopAndRemove(env, old[0].name);
  progress.done(`${created.name} baked ${canary.bakeMs / 1000}s and replaced ${old[0]?.name ?? 'nothing'}`);
  return {
    figures: `canary ${canary.percent}% for ${canary.bakeMs / 1000}s: ${figures}`,
    replicas: without(all, old.slice(0, 1)),
  };
}

/**
 * Puts a failed rollout back to `count` replicas of `previousImage`: removes the failing replica at
 * once, drains the new replicas the tier has beyond its count, then rolls the rest back start-first.
 */
async function rollBack(
  env: OpsEnv,
  lb: Balancer,
  tier: TierName,
  previousImage: string,
  count: number,
  failed: Container | undefined,
  progress: Progress,
  settings: RolloutSettings,
): Promise<void> {
  progress.warn(`rolling ${tier} back to ${previousImage}`);
  // New replicas that are not in rotation never took traffic: remove them at once.
  const stats = await lb.stats().catch(() => []);
  const all = await listContainers(env.api, tier);
  const idle = all.filter(
    (c) => c.image !== previousImage && (c.name === failed?.name || !c.running || !inRotation(slotFor(stats, c.ip))),
  );
  await Promise.all(idle.map((c) => stopAndRemove(env, c.name, 5)));
  // A new replica that joined before its old one was drained is one more than the tier had:
  // replacing it would leave the tier larger. Drain it instead; the old ones still serve `count`.
  const left = without(all, idle);
  const fresh = left.filter((c) => c.image !== previousImage);
  const surplus = fresh.slice(Math.max(0, fresh.length - Math.max(0, left.length - count)));
  if (surplus.length) progress.info(`draining ${surplus.map((c) => c.name).join(', ')} (beyond ${count} replica(s))`);
  await Promise.all(surplus.map((c) => stopAndRemove(env, c.name)));
  // Keep the replica count the tier had: add old-version replicas for any the rollout removed.
  await replaceAll(
    env,
    lb,
    tier,
    previousImage,
    without(left, surplus),
    progress,
    { ...settings, readyTimeoutMs: settings.readyTimeoutMs * 2 },
    undefined,
  );
  await pinImage(env, tier, previousImage);
}

/**
 * Fails unless every replica of the tier runs the image's content (its image id) and says it runs
 * `version` on its /readyz: a tag moved to another build, or a build given another APP_VERSION,
 * would otherwise be recorded as deployed.
 */
async function verifyTier(env: OpsEnv, tier: TierName, version: string, wantedId: string): Promise<void> {
  const replicas = (await listContainers(env.api, tier)).filter((c) => c.running && !c.oneOff);
  const wrong = await Promise.all(
    replicas.map(async (c) => {
      if (c.imageId && c.imageId !== wantedId)
        return `${c.name} runs image ${short(c.imageId)}, not ${short(wantedId)}`;
      let ready = await replicaReadiness(env, c.ip);
      // A loaded machine can miss the second; an answer with another version is final.
      for (let attempt = 1; !ready && attempt < 3; attempt++) {
        await env.sleep(1000);
        ready = await replicaReadiness(env, c.ip);
      }
      if (!ready) return `${c.name} does not answer on its admin port's /readyz`;
      if (ready.version !== version) return `${c.name} reports version ${ready.version ?? '(none)'}, not ${version}`;
      return undefined;
    }),
  );
  const found = wrong.filter((w): w is string => w !== undefined);
  if (found.length) throw new RolloutFailure(`not every ${tier} replica runs ${version}: ${found.join('; ')}`);
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** The working tree's images (built where missing), as `tier up` and `tier pipeline` build them. */
async function buildWorkingTree(env: OpsEnv, tiers: TierName[], progress: Progress): Promise<string> {
  const version = await appVersion(env);
  let building = false;
  await ensureImages({
    root: env.root,
    version,
    tiers,
    logDir: join(env.stateDir, 'builds', version),
    engine: env.engine === 'docker' ? 'docker' : 'podman',
    run: env.run,
    onBuild: (missing) => {
      building = true;
      progress.step(`building ${missing.join(', ')} image(s) at ${version}`);
    },
    onImage: (r) => progress.info(`built ${r.image}`),
  });
  if (building) progress.done();
  return version;
}

interface TierRollout {
  /** Says what kind of deploy this was in the record (`rollback`). @default none */
  readonly detailPrefix?: string;
  /** Rollbacks skip them. @default true */
  readonly migrate?: boolean;
  /** @default none: every replica rolls at once, one batch after the other */
  readonly canary?: ResolvedCanary;
  readonly signal?: AbortSignal;
}

async function deployTier(
  env: OpsEnv,
  tier: TierName,
  version: string,
  progress: Progress,
  settings: RolloutSettings,
  { detailPrefix = '', migrate = true, canary, signal }: TierRollout = {},
): Promise<DeployRecord> {
  const startedAt = new Date(env.now()).toISOString();
  const image = imageName(tier, version);
  const replicas = await listContainers(env.api, tier);
  const from = await runningVersion(env, tier, replicas);
  const previousImage = replicas.find((r) => r.version === from)?.image ?? imageName(tier, from);
  const record = (outcome: DeployRecord['outcome'], detail?: string): DeployRecord => ({
    id: `${startedAt.replace(/[-:.TZ]/g, '')}-${tier}`,
    tier,
    version,
    previousVersion: from,
    startedAt,
    finishedAt: new Date(env.now()).toISOString(),
    outcome,
    detail: [detailPrefix, detail].filter(Boolean).join('; ') || undefined,
  });

  const wantedId = await imageId(env.engine, image, env.run);
  if (!wantedId) {
    throw new TierError(
      `image ${image} does not exist`,
      `build it (\`tier deploy\` without --version builds the working tree) or pick a version from \`tier history\``,
    );
  }
  if (replicas.length === 0) {
    // Stopped tier: nothing to roll; the next `tier start` runs the new version.
    await pinImage(env, tier, image);
    progress.info(`${tier} has no replicas; ${image} will run on the next \`tier start ${tier}\``);
    const r = record('succeeded', 'tier stopped: pinned only');
    await appendHistory(env, r);
    return r;
  }

  const guard = new ErrorGuard(tier, settings);
  let lb: Balancer | undefined;
  try {
    lb = await balancer(env, tier);
    guard.check(await lb.stats());
    // Rollbacks skip migrations: the schema stays expanded, which the older version tolerates (docs/operations.md).
    if (tier === 'api' && migrate) await runMigrations(env, image, progress);
    // The canary's share is judged by its own counters: the tier's guard starts again after it.
    const baked =
      canary && replicas.some((c) => c.image !== image)
        ? await bakeCanary(env, lb, tier, image, replicas, canary, progress, settings, signal)
        : undefined;
    await replaceAll(
      env,
      lb,
      tier,
      image,
      baked?.replicas ?? replicas,
      progress,
      settings,
      baked ? new ErrorGuard(tier, settings) : guard,
      signal,
    );
    await verifyTier(env, tier, version, wantedId);
    await pinImage(env, tier, image);
    const r = record('succeeded', [baked?.figures, `${replicas.length} replica(s)`].filter(Boolean).join('; '));
    await appendHistory(env, r);
    return r;
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    progress.warn(`${tier}: ${cause}`);
    if (err instanceof RolloutFailure && /^migrations failed/.test(cause)) {
      const r = record('failed', `${cause}; nothing was changed`);
      await appendHistory(env, r);
      return r;
    }
    try {
      await rollBack(
        env,
        lb ?? (await balancer(env, tier)),
        tier,
        previousImage,
        replicas.length,
        err instanceof RolloutFailure ? err.failed : undefined,
        progress,
        settings,
      );
    } catch (rbErr) {
      const r = record(
        'failed',
        `${cause}; rollback also failed: ${rbErr instanceof Error ? rbErr.message : String(rbErr)}`,
      );
      await appendHistory(env, r);
      return r;
    }
    const r = record('rolled-back', cause);
    await appendHistory(env, r);
    return r;
  }
}

export async function deploy(
  env: OpsEnv,
  progress: Progress,
  opts: DeployOptions,
  settings = rolloutSettings(),
): Promise<DeployRecord[]> {
  const tiers = DEPLOY_ORDER.filter((t) => opts.tiers.includes(t));
  let canary: ResolvedCanary | undefined;
  try {
    canary = opts.canary && resolveCanary(opts.canary);
  } catch (err) {
    throw new TierError((err as Error).message, 'e.g. `tier deploy --canary 10% --bake 60s`');
  }
  const version = opts.version ?? (await buildWorkingTree(env, tiers, progress));
  const records: DeployRecord[] = [];
  for (const tier of tiers) {
    const r = await deployTier(env, tier, version, progress, settings, { canary, signal: opts.signal });
    records.push(r);
    progress.info(`${tier}: ${r.previousVersion} -> ${r.version} ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`);
    // A failed tier stops the deploy: the next tier may depend on it.
    if (r.outcome !== 'succeeded') break;
  }
  return records;
}

export async function rollback(
  env: OpsEnv,
  progress: Progress,
  opts: { tiers: TierName[] },
  settings = rolloutSettings(),
): Promise<DeployRecord[]> {
  const history = await readHistory(env);
  const records: DeployRecord[] = [];
  // Reverse order of deploy: web first, so it never runs against an API older than it expects.
  for (const tier of [...DEPLOY_ORDER].reverse().filter((t) => opts.tiers.includes(t))) {
    const target = previousVersion(history, tier);
    if (!target) {
      throw new TierError(
        `no earlier ${tier} version to roll back to`,
        'see `tier history`; deploy a version with `tier deploy --version V`',
      );
    }
    const r = await deployTier(env, tier, target, progress, settings, { detailPrefix: 'rollback', migrate: false });
    records.push(r);
    if (r.outcome !== 'succeeded') break;
  }
  return records;
}

export const history = (env: OpsEnv) => readHistory(env);
