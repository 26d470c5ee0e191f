// `tier pipeline` orchestration against a fake Backend and a fake git: which tiers ship, when tests gate, when it rolls back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  Backend,
  DeployOptions,
  DeployRecord,
  EnvironmentStatus,
  Progress,
  ReplicaStatus,
  TierName,
} from '../src/backend.js';
import type { Git, SourceState } from '../src/images/git.js';
import { type PipelineDeps, type PipelineOptions, runPipeline, type TestPlan } from '../src/pipeline/run-pipeline.js';
import type { SmokeResult } from '../src/pipeline/smoke.js';
import { renderSummary } from '../src/pipeline/summary.js';

const OLD = 'aaaaaaaaaaaa';
const NEW_SHA = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const NEW = NEW_SHA.slice(0, 12);

interface World {
  versions: Record<TierName, string>;
  calls: string[];
  changed: string[];
  dirty: string[];
  deployOutcome?: Partial<Record<TierName, DeployRecord['outcome']>>;
  /** The detail of a deploy record that did not succeed. */
  deployDetail?: string;
  /** What each deploy was asked for. */
  asked: DeployOptions[];
  deployThrows?: boolean;
  smokeOk?: (versions: Record<TierName, string>) => boolean;
  testsFail?: boolean;
  replicas?: boolean;
  /** The version a rollback lands on instead of the one before (a backend that goes too far). */
  rollbackLandsOn?: Partial<Record<TierName, string>>;
}

function world(overrides: Partial<World> = {}): World {
  return { versions: { web: OLD, api: OLD }, calls: [], changed: [], dirty: [], asked: [], ...overrides };
}

const quiet: Progress = { step() {}, info() {}, done() {}, warn() {} };

function fakeBackend(w: World): Backend {
  const status = async (): Promise<EnvironmentStatus> => ({
    replicas:
      w.replicas === false
        ? []
        : (['web', 'api'] as const).flatMap((tier) =>
            [1, 2].map(
              (n): ReplicaStatus => ({
                tier,
                name: `${tier}-${n}`,
                version: w.versions[tier],
                health: 'healthy',
                address: '-',
              }),
            ),
          ),
    endpoints: { edge: 'http://127.0.0.1:8080' },
  });
  const record = (tier: TierName, version: string, previousVersion: string, outcome: DeployRecord['outcome']) => ({
    id: `${tier}-${version}`,
    tier,
    version,
    previousVersion,
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:00:10Z',
    outcome,
  });
  const history: Record<TierName, string[]> = { web: [], api: [] };
  const unused = async () => {
    throw new Error('not used by the pipeline');
  };
  return {
    target: 'local',
    status,
    async deploy(_p, opts) {
      const { version, tiers } = opts;
      w.asked.push(opts);
      w.calls.push(`deploy ${tiers.join(',')} ${version}`);
      if (w.deployThrows) {
        history.api.push(w.versions.api);
        w.versions.api = version!;
        throw new Error('compose exploded');
      }
      // As the backends do: a tier that did not succeed stops the deploy.
      const records: DeployRecord[] = [];
      for (const tier of tiers) {
        const outcome = w.deployOutcome?.[tier] ?? 'succeeded';
        const previous = w.versions[tier];
        if (outcome === 'succeeded') {
          history[tier].push(previous);
          w.versions[tier] = version!;
        }
        const detail = outcome === 'succeeded' ? undefined : w.deployDetail;
        records.push({ ...record(tier, version!, previous, outcome), ...(detail ? { detail } : {}) });
        if (outcome !== 'succeeded') break;
      }
      return records;
    },
    async rollback(_p, { tiers }) {
      w.calls.push(`rollback ${tiers.join(',')}`);
      return tiers.map((tier) => {
        const previous = w.rollbackLandsOn?.[tier] ?? history[tier].pop() ?? w.versions[tier];
        const from = w.versions[tier];
        w.versions[tier] = previous;
        return record(tier, previous, from, 'succeeded');
      });
    },
    up: unused,
    down: unused,
    history: unused,
    scale: unused,
    stop: unused,
    start: unused,
    backupNow: unused,
    backupList: unused,
    backupVerify: unused,
    restore: unused,
    logs: unused,
    metrics: unused,
  };
}

function fakeGit(w: World): Git {
  return {
    async state(): Promise<SourceState> {
      return {
        root: '/repo',
        sha: NEW_SHA,
        dirtyPaths: w.dirty,
        version: w.dirty.length ? `${NEW}-dirty-0000abcd` : NEW,
      };
    },
    async commitOf(version) {
      return /^[0-9a-f]{12}/.test(version) ? `${version.slice(0, 12)}${'0'.repeat(28)}` : undefined;
    },
    async diff() {
      return w.changed;
    },
  };
}

function deps(w: World): PipelineDeps {
  let clock = 0;
  return {
    backend: fakeBackend(w),
    progress: quiet,
    git: fakeGit(w),
    now: () => (clock += 1000),
    async runTests(plan: TestPlan) {
      w.calls.push(`test ${plan.full ? 'full' : plan.workspaces.join(',')}`);
      if (w.testsFail) throw new Error('apps/web: 1 test failed');
    },
    async buildImages(version, tiers) {
      w.calls.push(`images ${tiers.join(',')} ${version}`);
      return tiers.map((tier) => ({
        tier,
        image: `localhost/tier-${tier}:${version}`,
        version,
        id: 'sha256:1234',
        builtAt: 'now',
      }));
    },
    async smoke(url): Promise<SmokeResult> {
      w.calls.push('smoke');
      const ok = w.smokeOk ? w.smokeOk(w.versions) : true;
      return {
        ok,
        url,
        checks: [{ name: 'page renders with the time', ok, detail: ok ? '200' : 'no "Welcome" text' }],
      };
    },
  };
}

const run = (w: World, opts: PipelineOptions = {}) => runPipeline(deps(w), opts);
const results = (r: Awaited<ReturnType<typeof run>>) => Object.fromEntries(r.stages.map((s) => [s.stage, s.result]));

describe('tier pipeline', () => {
  it('a web-only change tests, builds and deploys web alone, then smoke-tests', async () => {
    const w = world({ changed: ['apps/web/src/views/pages.ts', 'docs/pipeline.md'] });
    const report = await run(w);
    assert.equal(report.ok, true);
    assert.deepEqual(w.calls, ['test apps/web', `images web ${NEW}`, `deploy web ${NEW}`, 'smoke']);
    assert.deepEqual(w.versions, { web: NEW, api: OLD });
    assert.deepEqual(results(report), {
      changes: 'ok',
      test: 'ok',
      images: 'ok',
      deploy: 'ok',
      smoke: 'ok',
      rollback: 'skipped',
    });
    assert.equal(report.plan.find((p) => p.tier === 'api')?.deploy, false);
  });

  it('a shared change deploys api before web and runs the runtime tests too', async () => {
    const w = world({ changed: ['packages/runtime/src/index.ts'] });
    await run(w);
    assert.deepEqual(w.calls, [
      'test packages/runtime,apps/api,apps/web',
      `images api,web ${NEW}`,
      `deploy api,web ${NEW}`,
      'smoke',
    ]);
  });

  it('uncommitted changes count as changed and get their own version', async () => {
    const w = world({ dirty: ['apps/api/src/routes/status.ts'] });
    const report = await run(w, { skipTests: true });
    assert.equal(report.version, `${NEW}-dirty-0000abcd`);
    assert.deepEqual(w.calls, [`images api ${NEW}-dirty-0000abcd`, `deploy api ${NEW}-dirty-0000abcd`, 'smoke']);
    assert.equal(results(report).test, 'skipped');
  });

  it('nothing changed: no build, no deploy, still a smoke test of what runs', async () => {
    const w = world({ versions: { web: NEW, api: NEW } });
    const report = await run(w);
    assert.equal(report.ok, true);
    assert.deepEqual(w.calls, ['smoke']);
  });

  it('a running version git does not know (e.g. "dev") is redeployed', async () => {
    const w = world({ versions: { web: 'dev', api: NEW } });
    const report = await run(w, { skipTests: true });
    assert.deepEqual(w.calls, [`images web ${NEW}`, `deploy web ${NEW}`, 'smoke']);
    assert.match(report.plan[1]!.reason, /not a commit/);
  });

  it('a failing smoke test rolls back exactly what this run deployed and fails with the next step', async () => {
    const w = world({ changed: ['apps/web/src/app.ts'], smokeOk: (v) => v.web !== NEW });
    const report = await run(w, { skipTests: true });
    assert.equal(report.ok, false);
    assert.deepEqual(w.calls, [`images web ${NEW}`, `deploy web ${NEW}`, 'smoke', 'rollback web', 'smoke']);
    assert.deepEqual(w.versions, { web: OLD, api: OLD });
    assert.equal(results(report).smoke, 'failed');
    assert.equal(results(report).rollback, 'ok');
    assert.match(report.failure!.message, /smoke failed/);
    assert.match(report.failure!.hint, /tier logs/);
    assert.match(renderSummary(report), /rolled back web -> a{12}/);
  });

  it('a smoke test that still fails after the rollback fails the rollback stage', async () => {
    const w = world({ changed: ['apps/web/src/app.ts'], smokeOk: () => false });
    const report = await run(w, { skipTests: true });
    assert.deepEqual(w.calls.slice(-2), ['rollback web', 'smoke']);
    assert.equal(results(report).rollback, 'failed');
    assert.match(report.failure!.hint, /the automatic rollback failed too/);
  });

  it('a tier that already ran the version is not rolled back (it would go one version too far)', async () => {
    const w = world({ versions: { web: OLD, api: NEW }, smokeOk: (v) => v.web !== NEW });
    const report = await run(w, { skipTests: true, tiers: ['web', 'api'] });
    assert.deepEqual(w.calls.slice(-3), ['smoke', 'rollback web', 'smoke']);
    assert.deepEqual(w.versions, { web: OLD, api: NEW });
    assert.equal(results(report).rollback, 'ok');
  });

  it('a rollback that lands on another version than the one before this run fails the stage', async () => {
    const w = world({
      changed: ['apps/web/src/app.ts'],
      smokeOk: (v) => v.web !== NEW,
      rollbackLandsOn: { web: 'cccccccccccc' },
    });
    const report = await run(w, { skipTests: true });
    assert.equal(results(report).rollback, 'failed');
    assert.match(report.stages.find((st) => st.stage === 'rollback')!.detail, /web went back to c{12}, not a{12}/);
  });

  it('a tier the backend rolled back by itself fails the run, and the tiers that did ship go back too', async () => {
    const w = world({ changed: ['package-lock.json'], deployOutcome: { web: 'rolled-back' } });
    const report = await run(w, { skipTests: true });
    assert.equal(report.ok, false);
    assert.deepEqual(w.calls, [`images api,web ${NEW}`, `deploy api,web ${NEW}`, 'rollback api', 'smoke']);
    assert.deepEqual(w.versions, { web: OLD, api: OLD });
    assert.equal(results(report).smoke, 'skipped');
  });

  it('a deploy that throws rolls back only the tiers found running the new version', async () => {
    const w = world({ changed: ['package-lock.json'], deployThrows: true });
    const report = await run(w, { skipTests: true });
    assert.equal(report.ok, false);
    assert.deepEqual(w.calls.slice(-2), ['rollback api', 'smoke']);
    assert.match(report.failure!.message, /compose exploded/);
  });

  it('deploys with a 10 % canary baking 30 s unless told otherwise', async () => {
    const w = world({ changed: ['apps/web/src/app.ts'] });
    await run(w, { skipTests: true });
    assert.deepEqual(w.asked[0]?.canary, { percent: 10, bakeMs: 30_000 });
    const five = world({ changed: ['apps/web/src/app.ts'] });
    await run(five, { skipTests: true, canary: { percent: 5, bakeMs: 60_000 } });
    assert.deepEqual(five.asked[0]?.canary, { percent: 5, bakeMs: 60_000 });
    const none = world({ changed: ['apps/web/src/app.ts'] });
    await run(none, { skipTests: true, canary: false });
    assert.deepEqual(none.asked[0], { version: NEW, tiers: ['web'] });
  });

  it('a failed canary fails the deploy stage, and only the tiers this run changed go back', async () => {
    const canaryFailed = 'canary tier_web_3 failed: canary 9 5xx of 180 (5.0%), old replicas 0 of 1620 (0.0%)';
    const w = world({
      changed: ['package-lock.json'],
      deployOutcome: { web: 'rolled-back' },
      deployDetail: canaryFailed,
    });
    const report = await run(w, { skipTests: true });
    assert.equal(report.ok, false);
    const deployStage = report.stages.find((st) => st.stage === 'deploy')!;
    assert.equal(deployStage.result, 'failed');
    assert.equal(deployStage.detail, `web rolled-back (${canaryFailed})`);
    assert.match(report.failure!.message, /^deploy failed: web rolled-back \(canary tier_web_3 failed/);
    // api shipped in this run and goes back; web's canary was removed by the backend: web is not rolled back again.
    assert.deepEqual(w.calls, [`images api,web ${NEW}`, `deploy api,web ${NEW}`, 'rollback api', 'smoke']);
    assert.deepEqual(w.versions, { web: OLD, api: OLD });
  });

  it('a failed canary of the first tier changes nothing, so nothing is rolled back', async () => {
    const w = world({
      changed: ['package-lock.json'],
      deployOutcome: { api: 'rolled-back' },
      deployDetail: 'canary tier_api_3 failed: p99 240 ms over 180 requests, old replicas 5.0 ms over 1620',
    });
    const report = await run(w, { skipTests: true });
    assert.equal(report.ok, false);
    assert.deepEqual(w.calls, [`images api,web ${NEW}`, `deploy api,web ${NEW}`]);
    assert.deepEqual(
      report.stages.find((st) => st.stage === 'rollback'),
      { stage: 'rollback', result: 'skipped', durationMs: 0, detail: 'nothing was changed' },
    );
  });

  it('failing tests stop the run before anything is built or deployed', async () => {
    const w = world({ changed: ['apps/web/src/app.ts'], testsFail: true });
    const report = await run(w);
    assert.equal(report.ok, false);
    assert.deepEqual(w.calls, ['test apps/web']);
    assert.deepEqual(results(report), {
      changes: 'ok',
      test: 'failed',
      images: 'skipped',
      deploy: 'skipped',
      smoke: 'skipped',
      rollback: 'skipped',
    });
    assert.match(report.failure!.hint, /fix .*rerun `tier pipeline`/);
  });

  it('--no-rollback leaves the failed version and names the command that would roll it back', async () => {
    const w = world({ changed: ['apps/web/src/app.ts'], smokeOk: () => false });
    const report = await run(w, { skipTests: true, rollback: false });
    assert.equal(w.calls.includes('rollback web'), false);
    assert.match(report.failure!.hint, /tier rollback --tier web/);
  });

  it('--tier deploys what was asked whatever changed; --dry-run changes nothing', async () => {
    const w = world({ versions: { web: NEW, api: NEW } });
    await run(w, { tiers: ['api'], skipTests: true });
    assert.deepEqual(w.calls, [`images api ${NEW}`, `deploy api ${NEW}`, 'smoke']);
    const dry = world({ changed: ['apps/web/src/app.ts'] });
    const report = await run(dry, { dryRun: true });
    assert.deepEqual(dry.calls, []);
    assert.deepEqual(
      report.plan.filter((p) => p.deploy).map((p) => p.tier),
      ['web'],
    );
  });

  it('an environment that is not running fails at once and says to start it', async () => {
    const w = world({ replicas: false });
    const report = await run(w);
    assert.equal(report.ok, false);
    assert.deepEqual(w.calls, []);
    assert.match(report.failure!.hint, /tier up/);
  });

  it('renders a summary table with stage, duration and result', async () => {
    const report = await run(world({ changed: ['apps/web/src/app.ts'] }));
    const text = renderSummary(report);
    assert.match(text, /^STAGE\s+DURATION\s+RESULT\s+DETAIL/);
    assert.match(text, /deploy\s+\d+\.\ds\s+✔ ok\s+web succeeded/);
    assert.match(text, /rollback\s+-\s+- skipped/);
    assert.match(text, /✔ pipeline b{12}: web live in/);
  });
});
