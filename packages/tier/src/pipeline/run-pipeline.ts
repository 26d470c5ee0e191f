// `tier pipeline` orchestration: changes -> test -> images -> deploy -> smoke -> rollback on failure.
// Every effect goes through PipelineDeps, so the order and the rollback rules are unit-tested with fakes.
import {
  type Backend,
  type CanaryOptions,
  DEPLOY_ORDER,
  type DeployRecord,
  type EnvironmentStatus,
  type Progress,
  type TierName,
} from '../backend.js';
import type { ImageRecord } from '../images/build.js';
import type { Git, SourceState } from '../images/git.js';
import { detectChanges } from './changed-tiers.js';
import type { SmokeResult } from './smoke.js';

export const STAGES = ['changes', 'test', 'images', 'deploy', 'smoke', 'rollback'] as const;
export type StageName = (typeof STAGES)[number];
export type StageOutcome = 'ok' | 'failed' | 'skipped';

export interface StageResult {
  readonly stage: StageName;
  readonly result: StageOutcome;
  readonly durationMs: number;
  readonly detail: string;
}

export interface TestPlan {
  /** Workspaces whose tests run (unit + integration), e.g. apps/web. Empty with `full`. */
  readonly workspaces: string[];
  /** Run every workspace's tests and the infra tests (ci:lint + ci:test) instead of the changed ones. */
  readonly full: boolean;
}

export interface PipelineDeps {
  readonly backend: Backend;
  readonly progress: Progress;
  readonly git: Git;
  /** Lint + typecheck + the plan's tests; throws an Error whose message says what failed. */
  runTests(plan: TestPlan): Promise<void>;
  buildImages(version: string, tiers: TierName[]): Promise<ImageRecord[]>;
  smoke(url: string, version: string): Promise<SmokeResult>;
  readonly now?: () => number;
}

export interface PipelineOptions {
  readonly skipTests?: boolean;
  readonly fullTests?: boolean;
  /** Deploy these tiers whatever changed (`--tier`). */
  readonly tiers?: TierName[];
  /** Roll back automatically when deploy or smoke fails (default true). */
  readonly rollback?: boolean;
  /** Smoke-test this URL instead of the environment's edge endpoint. */
  readonly edgeUrl?: string;
  /** Decide and print the plan; change nothing. */
  readonly dryRun?: boolean;
  /** The deploy's canary: one new replica per tier takes this share and bakes first; `false`: a plain rolling deploy. @default PIPELINE_CANARY */
  readonly canary?: CanaryOptions | false;
}

/**
 * The pipeline's canary unless told otherwise: 10 % of a tier's requests for 30 s, judged on 5xx rate
 * and p99 against the old version (a shorter bake than `tier deploy`'s 60 s: the pipeline's smoke
 * test runs after it, and a change goes live in under two minutes).
 */
export const PIPELINE_CANARY: CanaryOptions = { percent: 10, bakeMs: 30_000 };

export interface TierPlan {
  readonly tier: TierName;
  readonly running: string;
  readonly deploy: boolean;
  readonly reason: string;
}

export interface PipelineReport {
  readonly ok: boolean;
  readonly version: string;
  readonly plan: TierPlan[];
  readonly stages: StageResult[];
  readonly deployed: DeployRecord[];
  readonly rolledBack: DeployRecord[];
  readonly smoke?: SmokeResult;
  readonly images: ImageRecord[];
  /** What failed and what to do next, when not ok. */
  readonly failure?: { readonly message: string; readonly hint: string };
  readonly totalMs: number;
}

const WORKSPACE: Record<TierName, string> = { api: 'apps/api', web: 'apps/web' };

class StageFailure extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export async function runPipeline(deps: PipelineDeps, opts: PipelineOptions = {}): Promise<PipelineReport> {
  const now = deps.now ?? Date.now;
  const started = now();
  const { progress, backend } = deps;
  const stages: StageResult[] = [];
  let failure: PipelineReport['failure'];
  let source: SourceState | undefined;
  let plan: TierPlan[] = [];
  let images: ImageRecord[] = [];
  let deployed: DeployRecord[] = [];
  let rolledBack: DeployRecord[] = [];
  let smoke: SmokeResult | undefined;
  let before: EnvironmentStatus | undefined;

  /** Runs one stage: progress line, timing, and the first failure recorded as the pipeline's failure. */
  const stage = async (name: StageName, title: string, body: () => Promise<string>): Promise<boolean> => {
    const at = now();
    progress.step(`[${STAGES.indexOf(name) + 1}/${STAGES.length}] ${name}: ${title}`);
    try {
      const detail = await body();
      progress.done(detail);
      stages.push({ stage: name, result: 'ok', durationMs: now() - at, detail });
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const hint = err instanceof StageFailure ? err.hint : ((err as { hint?: string }).hint ?? 'see the output above');
      progress.warn(`${name} failed: ${message}`);
      stages.push({ stage: name, result: 'failed', durationMs: now() - at, detail: firstLine(message) });
      failure ??= { message: `${name} failed: ${firstLine(message)}`, hint };
      return false;
    }
  };
  const skip = (name: StageName, why: string) =>
    stages.push({ stage: name, result: 'skipped', durationMs: 0, detail: why });
  const deployTiers = () => plan.filter((p) => p.deploy).map((p) => p.tier);
  const finish = (): PipelineReport => ({
    ok: failure === undefined,
    version: source?.version ?? '-',
    plan,
    stages,
    deployed,
    rolledBack,
    smoke,
    images,
    failure,
    totalMs: now() - started,
  });

  // 1. What changed since the running version of each tier.
  const planned = await stage('changes', 'compare the running version with the working tree', async () => {
    [source, before] = await Promise.all([deps.git.state(), backend.status()]);
    if (before.replicas.length === 0) {
      throw new StageFailure(
        'the environment is not running (no replicas)',
        'start it with `npx tier up`, then rerun `tier pipeline`',
      );
    }
    plan = await planTiers(deps.git, source, before, opts.tiers);
    for (const p of plan)
      progress.info(`${p.tier}: ${p.running} -> ${p.deploy ? source.version : 'unchanged'} (${p.reason})`);
    const infra = await infrastructureChanges(deps.git, source, before);
    if (infra.length > 0) {
      progress.warn(
        `local infrastructure changed (${infra.slice(0, 3).join(', ')}${infra.length > 3 ? ', …' : ''}): apply it with \`npx tier up\``,
      );
    }
    const tiers = deployTiers();
    return tiers.length ? `deploy ${tiers.join(' + ')} at ${source.version}` : `nothing to deploy at ${source.version}`;
  });
  if (!planned) {
    for (const s of STAGES.slice(1)) skip(s, 'not reached');
    return finish();
  }
  const version = source!.version;
  const tiers = deployTiers();

  if (opts.dryRun) {
    for (const s of STAGES.slice(1)) skip(s, 'dry run');
    return finish();
  }

  // 2. Tests: lint + typecheck + the changed tiers' tests (or everything with --full-tests).
  let ok = true;
  if (opts.skipTests) skip('test', '--skip-tests');
  else if (tiers.length === 0 && !opts.fullTests) skip('test', 'nothing to deploy');
  else {
    const testPlan: TestPlan = {
      full: opts.fullTests === true,
      workspaces: opts.fullTests ? [] : testWorkspaces(tiers),
    };
    ok = await stage(
      'test',
      testPlan.full ? 'lint, typecheck, every test' : `lint, typecheck, ${testPlan.workspaces.join(', ')}`,
      async () => {
        await deps.runTests(testPlan);
        return 'passed';
      },
    );
    if (!ok && failure)
      failure = {
        ...failure,
        hint: `fix what the test stage reports, commit, and rerun \`tier pipeline\` (${failure.hint})`,
      };
  }

  // 3. Images: one immutable image per changed tier, tagged with the version.
  if (!ok) skip('images', 'tests failed');
  else if (tiers.length === 0) skip('images', 'nothing to deploy');
  else {
    ok = await stage('images', `build ${tiers.join(', ')} at ${version}`, async () => {
      images = await deps.buildImages(version, tiers);
      return images.map((i) => `${i.tier} ${i.id.slice(0, 19)}`).join(', ');
    });
  }

  // 4. Deploy: the backend rolls out start-first and rolls a tier back itself when a replica fails readiness.
  if (!ok) skip('deploy', 'not reached');
  else if (tiers.length === 0) skip('deploy', 'nothing to deploy');
  else {
    const canary = opts.canary === false ? undefined : (opts.canary ?? PIPELINE_CANARY);
    const bake = canary?.bakeMs === undefined ? '' : ` baking ${canary.bakeMs / 1000}s`;
    const how = canary ? `, a ${canary.percent}% canary${bake} first` : '';
    ok = await stage('deploy', `roll out ${tiers.join(', ')}${how}`, async () => {
      try {
        deployed = await backend.deploy(progress, { version, tiers, ...(canary ? { canary } : {}) });
      } catch (err) {
        // Unknown state: only tiers now serving the new version have anything to roll back.
        deployed = await recordsFromStatus(backend, tiers, version, err, plan);
        throw err;
      }
      const bad = deployed.filter((r) => r.outcome !== 'succeeded');
      const summary = deployed.map((r) => `${r.tier} ${r.outcome}`).join(', ');
      if (bad.length) {
        throw new StageFailure(
          `${bad.map((r) => `${r.tier} ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`).join('; ')}`,
          `see \`npx tier logs --since 10m\` and \`npx tier history\`, fix, then rerun \`tier pipeline\``,
        );
      }
      return summary;
    });
  }

  // 5. Smoke test through the edge (also after a no-op run: it proves the environment serves).
  if (!ok) skip('smoke', 'not reached');
  else {
    ok = await stage('smoke', 'page, /api/status and a guestbook write through the edge', async () => {
      const after = await backend.status();
      const stale = after.replicas.filter((r) => tiers.includes(r.tier as TierName) && r.version !== version);
      const url = opts.edgeUrl ?? edgeUrl(after);
      smoke = await deps.smoke(url, version);
      for (const c of smoke.checks) progress.info(`${c.ok ? '✔' : '✖'} ${c.name}: ${c.detail}`);
      const failed = smoke.checks.filter((c) => !c.ok);
      if (stale.length) {
        failed.push({
          name: 'version',
          ok: false,
          detail: `${stale.map((r) => `${r.name} runs ${r.version}`).join(', ')}`,
        });
      }
      if (failed.length) {
        throw new StageFailure(
          failed.map((c) => `${c.name}: ${c.detail}`).join('; '),
          `the new version does not work through the edge (${url}): check \`npx tier logs --since 10m\`, fix, and rerun \`tier pipeline\``,
        );
      }
      return `${smoke.checks.length} checks passed at ${url}`;
    });
  }

  // 6. Rollback: whatever this run changed goes back to the version that ran before it. A tier that already ran the
  // version, or that the backend rolled back by itself, was not changed: rolling it back would go one too far.
  const changed = deployed.filter((r) => r.outcome === 'succeeded' && r.previousVersion !== r.version);
  const toRollBack = changed.map((r) => r.tier);
  if (ok) skip('rollback', 'not needed');
  else if (toRollBack.length === 0) skip('rollback', 'nothing was changed');
  else if (opts.rollback === false) {
    skip('rollback', '--no-rollback');
    failure = {
      message: failure!.message,
      hint: `roll back by hand with \`npx tier rollback --tier ${toRollBack.join(' ')}\``,
    };
  } else {
    const rolled = await stage('rollback', `return ${toRollBack.join(', ')} to the previous version`, async () => {
      rolledBack = await backend.rollback(progress, { tiers: toRollBack });
      const bad = rolledBack.filter((r) => r.outcome !== 'succeeded');
      if (bad.length) throw new StageFailure(`rollback of ${bad.map((r) => r.tier).join(', ')} did not succeed`, '');
      const elsewhere = changed.filter((d) => rolledBack.find((r) => r.tier === d.tier)?.version !== d.previousVersion);
      if (elsewhere.length) {
        const landed = (t: TierName) => rolledBack.find((r) => r.tier === t)?.version ?? 'nothing';
        throw new StageFailure(
          elsewhere.map((d) => `${d.tier} went back to ${landed(d.tier)}, not ${d.previousVersion}`).join('; '),
          '',
        );
      }
      const after = await backend.status();
      const url = opts.edgeUrl ?? edgeUrl(after);
      const check = await deps.smoke(url, version);
      const back = rolledBack.map((r) => `${r.tier} -> ${r.version}`).join(', ');
      if (!check.ok) {
        const failed = check.checks.filter((c) => !c.ok);
        throw new StageFailure(
          `${back}, but the smoke test fails after the rollback: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
          '',
        );
      }
      return `${back}; smoke after rollback passed`;
    });
    if (!rolled) {
      failure = {
        message: failure!.message,
        hint: 'the automatic rollback failed too: run `npx tier status`, then `npx tier rollback` or `npx tier deploy --version <last good>`',
      };
    }
  }
  return finish();
}

/** Per tier: the version running now, and whether its inputs changed between that version and this tree. */
export async function planTiers(
  git: Git,
  source: SourceState,
  status: EnvironmentStatus,
  forced?: TierName[],
): Promise<TierPlan[]> {
  const plan: TierPlan[] = [];
  for (const tier of DEPLOY_ORDER) {
    const versions = [...new Set(status.replicas.filter((r) => r.tier === tier).map((r) => r.version))];
    const running = versions.join(',') || 'none';
    const decide = (deploy: boolean, reason: string) => plan.push({ tier, running, deploy, reason });
    if (forced) {
      decide(forced.includes(tier), forced.includes(tier) ? 'asked for with --tier' : 'not asked for');
    } else if (versions.length === 0) decide(true, 'no replica is running');
    else if (versions.length > 1) decide(true, 'replicas run different versions');
    else if (versions[0] === source.version) decide(false, 'already running this tree');
    else {
      const commit = await git.commitOf(versions[0]!);
      if (!commit) decide(true, `running version '${versions[0]}' is not a commit of this clone`);
      else {
        const paths = [...new Set([...(await git.diff(commit, source.sha)), ...source.dirtyPaths])];
        const affecting = detectChanges(paths, 'local').decisions.filter((d) => d.tiers.includes(tier));
        decide(
          affecting.length > 0,
          affecting.length > 0
            ? `${affecting.length} changed path${affecting.length > 1 ? 's' : ''}, e.g. ${affecting[0]!.path}`
            : `${paths.length} changed path${paths.length === 1 ? '' : 's'}, none of them ${tier}'s`,
        );
      }
    }
  }
  return plan;
}

/** Local infrastructure paths changed since the oldest running version (reported, not applied). */
async function infrastructureChanges(git: Git, source: SourceState, status: EnvironmentStatus): Promise<string[]> {
  const found = new Set<string>();
  for (const version of new Set(status.replicas.map((r) => r.version))) {
    const commit = await git.commitOf(version);
    if (!commit) continue;
    const paths = [...(await git.diff(commit, source.sha)), ...source.dirtyPaths];
    for (const p of detectChanges(paths, 'local').infrastructure) found.add(p);
  }
  return [...found];
}

function testWorkspaces(tiers: TierName[]): string[] {
  const workspaces = tiers.map((t) => WORKSPACE[t]);
  // Both tiers move together when a shared input changed: then the shared runtime's tests matter too.
  if (tiers.length === DEPLOY_ORDER.length) workspaces.unshift('packages/runtime');
  return workspaces;
}

/** The edge endpoint from `status()`: named edge (or cdn/url), else the first one listed. */
export function edgeUrl(status: EnvironmentStatus): string {
  const e = status.endpoints;
  const url = e.edge ?? e.cdn ?? e.url ?? e.web ?? Object.values(e)[0];
  if (!url)
    throw new StageFailure('the environment lists no endpoint to smoke-test', 'pass --edge-url http://host:port');
  return url;
}

async function recordsFromStatus(
  backend: Backend,
  tiers: TierName[],
  version: string,
  err: unknown,
  plan: readonly TierPlan[],
): Promise<DeployRecord[]> {
  const status = await backend.status().catch(() => undefined);
  const at = new Date().toISOString();
  const detail = err instanceof Error ? err.message : String(err);
  return tiers.map((tier) => ({
    id: `pipeline-${tier}-${at}`,
    tier,
    version,
    previousVersion: plan.find((p) => p.tier === tier)?.running ?? '?',
    startedAt: at,
    finishedAt: at,
    outcome: status?.replicas.some((r) => r.tier === tier && r.version === version) ? 'succeeded' : 'failed',
    detail,
  }));
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
