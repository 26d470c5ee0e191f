// Local backend: rolling deploys and rollbacks against a fake engine and clock (start-first order,
// readiness wait, drain, batches, automatic rollback on failed readiness and on the 5xx rate, and the
// canary: its share by HAProxy weights, its judgement against the old replicas, its removal).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createMetrics } from '@tier/runtime';
import type { CanaryOptions, DeployRecord, TierError } from '../src/backend.js';
import {
  CanaryJudge,
  canaryWeights,
  histogramQuantile,
  LatencyJudge,
  parseLatencyHistogram,
} from '../src/local/canary.js';
import { deploy, type RolloutSettings, rollback } from '../src/local/rollout.js';
import { type EngineEvent, FakeEngine, type FakeEngineOptions, image, pinned, recorder, T0 } from './local-support.js';

const SETTINGS: RolloutSettings = { readyTimeoutMs: 30_000, maxErrorRate: 0.02, minErrors: 5, batch: 1 };

/** A two-replica web tier on v1, with v2 built; deploys v2 (or `version`) to web. */
async function deployWeb(opts: FakeEngineOptions = {}, settings: Partial<RolloutSettings> = {}, version = 'v2') {
  const engine = new FakeEngine({ images: [image('web', 'v2'), image('api', 'v2')], ...opts });
  const env = engine.env();
  const progress = recorder();
  const records = await deploy(env, progress, { version, tiers: ['web'] }, { ...SETTINGS, ...settings });
  return { engine, env, progress, records, record: records[0]! };
}

const stops = (e: EngineEvent) => e.what === 'stop';
const history = (root: string): DeployRecord[] =>
  JSON.parse(readFileSync(join(root, '.tier/local/deployments.json'), 'utf8')).deployments;

describe('local deploy: start-first rollout', () => {
  it('starts each new replica and waits until it is in rotation before the old one is drained', async () => {
    const { engine } = await deployWeb();
    assert.deepEqual(engine.timeline(), [
      'create tier_web_3 v2',
      'stop tier_web_1',
      'rm tier_web_1',
      'create tier_web_4 v2',
      'stop tier_web_2',
      'rm tier_web_2',
    ]);
    const [first, second] = engine.events.filter(stops);
    assert.deepEqual(first?.serving, ['tier_web_1', 'tier_web_2', 'tier_web_3'], 'the new replica serves first');
    assert.deepEqual(second?.serving, ['tier_web_2', 'tier_web_3', 'tier_web_4']);
  });

  it('never has fewer replicas in rotation than before the deploy', async () => {
    const { engine } = await deployWeb({ replicas: { web: 3 } });
    for (const e of engine.events.filter(stops)) assert.ok(e.serving.length >= 4, `${e.name}: ${e.serving}`);
  });

  it('keeps the replica count and ends with every replica on the new version', async () => {
    const { engine, record } = await deployWeb({ replicas: { web: 3 } });
    assert.deepEqual(engine.replicas('web'), ['tier_web_4 v2', 'tier_web_5 v2', 'tier_web_6 v2']);
    assert.equal(record.outcome, 'succeeded');
    assert.equal(record.detail, '3 replica(s)');
  });

  it('adds each replica with compose --scale N+1 --no-recreate and the new image in <TIER>_IMAGE', async () => {
    const { engine } = await deployWeb();
    assert.deepEqual(engine.composeCalls, [
      {
        args: ['up', '-d', '--no-deps', '--no-recreate', '--scale', 'web=3', 'web'],
        env: { WEB_IMAGE: image('web', 'v2') },
      },
      {
        args: ['up', '-d', '--no-deps', '--no-recreate', '--scale', 'web=3', 'web'],
        env: { WEB_IMAGE: image('web', 'v2') },
      },
    ]);
  });

  it('lists the containers once for the tier, once for its balancer, once per replaced replica and once to check what runs', async () => {
    for (const n of [1, 2, 3]) {
      const { engine } = await deployWeb({ replicas: { web: n } });
      assert.equal(engine.listCalls, 3 + n, `${n} replica(s)`);
    }
  });

  it('replaces only the replicas not already on the new image', async () => {
    const engine = new FakeEngine({ images: [image('web', 'v2')] });
    const env = engine.env();
    await deploy(env, recorder(), { version: 'v2', tiers: ['web'] }, SETTINGS);
    engine.events.length = 0;
    const [again] = await deploy(env, recorder(), { version: 'v2', tiers: ['web'] }, SETTINGS);
    assert.deepEqual(engine.timeline(), []);
    assert.equal(again?.outcome, 'succeeded');
  });

  it('records the deploy: versions from the running replicas, times from the clock, in .tier/local/deployments.json', async () => {
    const { env, record, engine } = await deployWeb();
    assert.deepEqual(
      { ...record, id: undefined },
      {
        id: undefined,
        tier: 'web',
        version: 'v2',
        previousVersion: 'v1',
        startedAt: new Date(T0).toISOString(),
        finishedAt: new Date(engine.now).toISOString(),
        outcome: 'succeeded',
        detail: '2 replica(s)',
      },
    );
    assert.equal(record.id, '20260301100000000-web');
    assert.deepEqual(history(env.root), [record]);
  });

  it('pins the deployed image in infra/local/.env, so a later compose up keeps it', async () => {
    const { env } = await deployWeb();
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v2'));
    assert.equal(pinned(env).API_IMAGE, image('api', 'v1'), 'the other tier keeps its pin');
  });

  it('deploys the api before the web tier', async () => {
    const engine = new FakeEngine({ images: [image('web', 'v2'), image('api', 'v2')] });
    const records = await deploy(engine.env(), recorder(), { version: 'v2', tiers: ['web', 'api'] }, SETTINGS);
    assert.deepEqual(
      records.map((r) => [r.tier, r.outcome]),
      [
        ['api', 'succeeded'],
        ['web', 'succeeded'],
      ],
    );
    assert.deepEqual(
      engine.timeline((e) => e.what === 'create').map((l) => l.split('_')[1]),
      ['api', 'api', 'web', 'web'],
    );
  });

  it('refuses an image that does not exist, before touching any replica', async () => {
    const engine = new FakeEngine();
    await assert.rejects(
      deploy(engine.env(), recorder(), { version: 'v9', tiers: ['web'] }, SETTINGS),
      (err: TierError) => /image localhost\/tier-web:v9 does not exist/.test(err.message) && !!err.hint,
    );
    assert.deepEqual(engine.timeline(), []);
  });

  it('a stopped tier (no replicas) is only pinned for its next start', async () => {
    const { engine, env, record } = await deployWeb({ replicas: { web: 0 } });
    assert.deepEqual(engine.composeCalls, []);
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v2'));
    assert.equal(record.outcome, 'succeeded');
    assert.equal(record.detail, 'tier stopped: pinned only');
    assert.equal(record.previousVersion, 'v1', 'the pinned image says what ran before');
  });
});

describe('local deploy: readiness wait', () => {
  it('drains the old replica only once the new one is in rotation, however long it takes to start', async () => {
    const { engine, progress } = await deployWeb({ script: () => ({ readyAfterMs: 7000 }) }, { batch: 2 });
    const created = engine.events.find((e) => e.what === 'create')!;
    const drained = engine.events.find(stops)!;
    assert.ok(drained.at - created.at >= 7000, `drained after ${drained.at - created.at} ms`);
    assert.ok(drained.at - created.at < 7500, 'and without waiting much longer');
    assert.ok(
      progress.lines.some((l) => /in rotation after 7\.\ds; draining tier_web_1, tier_web_2/.test(l)),
      progress.lines.join('\n'),
    );
  });

  it('waits for the replica’s own /readyz besides HAProxy’s UP (a reused slot can show UP early)', async () => {
    const { engine } = await deployWeb({ script: () => ({ readyAfterMs: 1000, readyzLagMs: 4000 }) });
    const created = engine.events.find((e) => e.what === 'create')!;
    const drained = engine.events.find(stops)!;
    assert.ok(drained.at - created.at >= 5000, `drained after ${drained.at - created.at} ms`);
  });

  it('accepts a replica that is ready just within TIER_READY_TIMEOUT_S', async () => {
    const { record } = await deployWeb({ script: () => ({ readyAfterMs: 29_000 }) });
    assert.equal(record.outcome, 'succeeded');
  });
});

describe('local deploy: drain', () => {
  it('stops old replicas with the drain timeout (SIGTERM, 15 s) before removing them', async () => {
    const { engine } = await deployWeb();
    const old = engine.events.filter((e) => e.name === 'tier_web_1').map((e) => [e.what, e.stopTimeoutS]);
    assert.deepEqual(old, [
      ['stop', 15],
      ['rm', undefined],
    ]);
  });

  it('drains every replica of a batch while the new ones serve', async () => {
    const { engine } = await deployWeb({ replicas: { web: 2 } }, { batch: 2 });
    const drains = engine.events.filter(stops);
    assert.deepEqual(
      drains.map((e) => [e.name, e.stopTimeoutS]),
      [
        ['tier_web_1', 15],
        ['tier_web_2', 15],
      ],
    );
    assert.deepEqual(drains[0]!.serving, ['tier_web_1', 'tier_web_2', 'tier_web_3', 'tier_web_4']);
  });
});

describe('local deploy: batch sizes', () => {
  it('replaces one replica at a time by default', async () => {
    const { engine } = await deployWeb({ replicas: { web: 4 } });
    assert.deepEqual(
      engine.composeCalls.map((c) => c.args[5]),
      ['web=5', 'web=5', 'web=5', 'web=5'],
    );
  });

  it('replaces `batch` replicas per step, waiting for all of a step before draining its old ones', async () => {
    const { engine, progress } = await deployWeb({ replicas: { web: 4 } }, { batch: 2 });
    assert.deepEqual(
      engine.composeCalls.map((c) => c.args[5]),
      ['web=6', 'web=6'],
    );
    assert.deepEqual(engine.timeline(), [
      'create tier_web_5 v2',
      'create tier_web_6 v2',
      'stop tier_web_1',
      'stop tier_web_2',
      'rm tier_web_1',
      'rm tier_web_2',
      'create tier_web_7 v2',
      'create tier_web_8 v2',
      'stop tier_web_3',
      'stop tier_web_4',
      'rm tier_web_3',
      'rm tier_web_4',
    ]);
    assert.deepEqual(
      progress.lines.filter((l) => l.startsWith('step')),
      ['step web 1-2/4: start 2 v2 replica(s)', 'step web 3-4/4: start 2 v2 replica(s)'],
    );
  });

  it('a last step smaller than the batch replaces what is left', async () => {
    const { engine } = await deployWeb({ replicas: { web: 3 } }, { batch: 2 });
    assert.deepEqual(
      engine.composeCalls.map((c) => c.args[5]),
      ['web=5', 'web=4'],
    );
    assert.deepEqual(engine.replicas('web'), ['tier_web_4 v2', 'tier_web_5 v2', 'tier_web_6 v2']);
  });
});

describe('local deploy: rollback on failed readiness', () => {
  it('a replica never ready by the deadline is removed at once and the old replicas are never drained', async () => {
    const { engine, record, env } = await deployWeb({ script: () => ({ neverReady: true }) });
    assert.deepEqual(engine.timeline(), ['create tier_web_3 v2', 'stop tier_web_3', 'rm tier_web_3']);
    assert.equal(engine.events[1]?.stopTimeoutS, 5, 'a replica that never took traffic needs no long drain');
    assert.deepEqual(engine.replicas('web'), ['tier_web_1 v1', 'tier_web_2 v1']);
    assert.equal(record.outcome, 'rolled-back');
    assert.match(record.detail ?? '', /^tier_web_3 was not ready and in the balancer within 30s: /);
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v1'));
  });

  it('gives up at the deadline (TIER_READY_TIMEOUT_S), not before', async () => {
    const { engine } = await deployWeb({ script: () => ({ neverReady: true }) }, { readyTimeoutMs: 12_000 });
    const created = engine.events.find((e) => e.what === 'create')!;
    const removed = engine.events.find(stops)!;
    assert.ok(removed.at - created.at > 12_000 && removed.at - created.at <= 12_500, `${removed.at - created.at} ms`);
  });

  it('a replica that crashes fails the rollout at once, quoting its exit code and last log lines', async () => {
    const { engine, record } = await deployWeb({ script: () => ({ crashes: true, crashAfterMs: 500 }) });
    const created = engine.events.find((e) => e.what === 'create')!;
    assert.ok(engine.events.find(stops)!.at - created.at < 2000, 'without waiting for the deadline');
    assert.equal(record.outcome, 'rolled-back');
    assert.match(
      record.detail ?? '',
      /^tier_web_3 exited \(code 1, 0 restarts\): listening \| tier_web_3 exiting: boom$/,
    );
  });

  it('a replica whose healthcheck turns unhealthy fails the rollout', async () => {
    const { record } = await deployWeb({ script: () => ({ unhealthy: true }) });
    assert.equal(record.outcome, 'rolled-back');
    assert.match(record.detail ?? '', /^tier_web_3 failed its health check/);
  });

  it('rolls back the replicas already replaced, start-first, and keeps the replica count', async () => {
    // The first v2 replica serves; the second crashes: web_3 (v2) took traffic, web_1 is gone.
    const { engine, record, env } = await deployWeb({
      script: (version, nth) => (version === 'v2' && nth === 1 ? { crashes: true } : {}),
    });
    assert.deepEqual(engine.timeline(), [
      'create tier_web_3 v2',
      'stop tier_web_1',
      'rm tier_web_1',
      'create tier_web_4 v2',
      'stop tier_web_4',
      'rm tier_web_4',
      'create tier_web_4 v1',
      'stop tier_web_3',
      'rm tier_web_3',
    ]);
    const rollbackDrain = engine.events.filter(stops).at(-1)!;
    assert.equal(rollbackDrain.stopTimeoutS, 15, 'the v2 replica that served is drained, not killed');
    assert.ok(rollbackDrain.serving.includes('tier_web_4'), 'its v1 replacement serves first');
    assert.deepEqual(engine.replicas('web'), ['tier_web_2 v1', 'tier_web_4 v1']);
    assert.equal(record.outcome, 'rolled-back');
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v1'));
    assert.deepEqual(
      engine.composeCalls.at(-1)?.env,
      { WEB_IMAGE: image('web', 'v1') },
      'the rollback starts the previous image',
    );
  });

  it('pins the version the replicas ran again, whatever .env said before', async () => {
    const engine = new FakeEngine({ images: [image('web', 'v2')], script: () => ({ neverReady: true }) });
    const env = engine.env();
    writeFileSync(env.envFile, `WEB_IMAGE=${image('web', 'v0')}\n`);
    await deploy(env, recorder(), { version: 'v2', tiers: ['web'] }, SETTINGS);
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v1'));
  });

  it('waits twice the deadline for the previous version’s replicas while rolling back', async () => {
    const { record } = await deployWeb({
      script: (version, nth) => (version === 'v2' ? (nth === 0 ? {} : { crashes: true }) : { readyAfterMs: 45_000 }),
    });
    assert.equal(record.outcome, 'rolled-back');
  });

  it('a rollback that fails too is reported as failed, with both causes', async () => {
    const { record, progress } = await deployWeb({
      script: (version, nth) => (version === 'v2' && nth === 0 ? {} : { crashes: true }),
    });
    assert.equal(record.outcome, 'failed');
    assert.match(record.detail ?? '', /^tier_web_4 exited .*; rollback also failed: tier_web_\d exited/);
    assert.ok(progress.lines.includes('warn rolling web back to localhost/tier-web:v1'), progress.lines.join('\n'));
  });

  it('a failed tier stops the deploy: the next tier is left alone', async () => {
    const engine = new FakeEngine({
      images: [image('web', 'v2'), image('api', 'v2')],
      script: (version) => (version === 'v2' ? { neverReady: true } : {}),
    });
    const env = engine.env();
    const records = await deploy(env, recorder(), { version: 'v2', tiers: ['web', 'api'] }, SETTINGS);
    assert.deepEqual(
      records.map((r) => [r.tier, r.outcome]),
      [['api', 'rolled-back']],
    );
    assert.deepEqual(engine.replicas('web'), ['tier_web_1 v1', 'tier_web_2 v1']);
    assert.deepEqual(
      history(env.root).map((r) => [r.tier, r.outcome]),
      [['api', 'rolled-back']],
    );
  });
});

describe('local deploy: rollback on error rate', () => {
  it('rolls back when the balancer’s 5xx share rises above TIER_MAX_ERROR_RATE during the rollout', async () => {
    const { engine, record } = await deployWeb({ script: () => ({ errorShare: 1 }) });
    assert.equal(record.outcome, 'rolled-back');
    assert.match(record.detail ?? '', /^error rate through web-lb rose to \d+\.\d% \(\d+ 5xx of \d+ responses\)$/);
    assert.ok(!engine.replicas('web').some((r) => r.endsWith(' v2')), 'no new replica is left');
    assert.equal(engine.events.filter((e) => e.name === 'tier_web_1').length, 0, 'no old replica was drained');
  });

  it('removes a new replica that is in the balancer before its old one was drained, instead of replacing it', async () => {
    // GIVEN the v2 replica answers 5xx as soon as HAProxy has it UP (its own /readyz is still late),
    // so the check fires while tier_web_1 and tier_web_2 still serve beside it.
    const { engine, record, env } = await deployWeb({ script: () => ({ errorShare: 1, readyzLagMs: 3000 }) });
    // THEN it is drained and removed, no v1 replica is added, and the tier ends as it began.
    assert.equal(record.outcome, 'rolled-back');
    assert.deepEqual(engine.timeline(), ['create tier_web_3 v2', 'stop tier_web_3', 'rm tier_web_3']);
    assert.equal(engine.events[1]?.stopTimeoutS, 15, 'it served traffic: drained, not killed');
    assert.deepEqual(engine.replicas('web'), ['tier_web_1 v1', 'tier_web_2 v1']);
    for (const e of engine.events.filter(stops)) assert.ok(e.serving.length >= 2, `${e.name}: ${e.serving}`);
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v1'));
  });

  it('keeps the replica count when the check fires while a whole batch of new replicas is in the balancer', async () => {
    // GIVEN three v1 replicas and batches of two: both v2 replicas of the first batch are UP in
    // HAProxy, and the second answers 5xx before its own /readyz does.
    const { engine, record } = await deployWeb(
      {
        replicas: { web: 3 },
        script: (version, nth) =>
          version === 'v2' && nth === 1 ? { errorShare: 1, readyAfterMs: 2000, readyzLagMs: 3000 } : {},
      },
      { batch: 2 },
    );
    assert.equal(record.outcome, 'rolled-back');
    assert.deepEqual(
      engine.replicas('web').map((r) => r.split(' ')[1]),
      ['v1', 'v1', 'v1'],
    );
    for (const e of engine.events.filter(stops)) assert.ok(e.serving.length >= 3, `${e.name}: ${e.serving}`);
  });

  it('counts only the responses since the rollout started (errors from before do not count)', async () => {
    const engine = new FakeEngine({ images: [image('web', 'v2')] });
    const old = engine.containers.get('tier_web_1')!;
    old.responses = 1000;
    old.errors5xx = 900;
    const [record] = await deploy(engine.env(), recorder(), { version: 'v2', tiers: ['web'] }, SETTINGS);
    assert.equal(record?.outcome, 'succeeded');
  });

  it('tolerates fewer 5xx than TIER_MIN_ERRORS, whatever their share', async () => {
    const { record } = await deployWeb(
      { script: () => ({ errorShare: 0.5 }), responsesPerPoll: 2 },
      { minErrors: 1_000_000 },
    );
    assert.equal(record.outcome, 'succeeded');
  });

  it('tolerates a share at TIER_MAX_ERROR_RATE', async () => {
    // Every replica, old and new, answers half its requests with a 5xx: exactly the limit.
    const atLimit = { errorShare: 0.5 };
    const { record } = await deployWeb({ running: atLimit, script: () => atLimit }, { maxErrorRate: 0.5 });
    assert.equal(record.outcome, 'succeeded');
  });

  it('starts counting again when the balancer’s counters restart (a reload), so later errors still count', async () => {
    const engine = new FakeEngine({ images: [image('web', 'v2')], script: () => ({ errorShare: 1 }) });
    for (const c of engine.containers.values()) {
      c.responses = 10_000;
      c.errors5xx = 100;
    }
    const env = engine.env();
    const reloadOnFirstStart: typeof env.run = async (cmd, args, opts) => {
      const out = await env.run(cmd, args, opts);
      if (args.includes('--scale')) engine.resetCounters();
      return out;
    };
    const [record] = await deploy(
      { ...env, run: reloadOnFirstStart },
      recorder(),
      { version: 'v2', tiers: ['web'] },
      SETTINGS,
    );
    assert.equal(record?.outcome, 'rolled-back');
    assert.match(record?.detail ?? '', /^error rate through web-lb/);
  });
});

describe('local deploy: every replica runs what was asked', () => {
  it('a replica that reports another version on /readyz fails the deploy, named, and the tier goes back', async () => {
    const { engine, env, record } = await deployWeb({
      script: (_v, nth) => (nth === 1 ? { reportsVersion: 'v1' } : {}),
    });
    assert.equal(record.outcome, 'rolled-back');
    assert.equal(record.detail, 'not every web replica runs v2: tier_web_4 reports version v1, not v2');
    assert.deepEqual(
      engine.replicas('web').map((r) => r.split(' ')[1]),
      ['v1', 'v1'],
    );
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v1'));
  });

  it('a replica on the tag but not on its image (the tag moved to another build) fails the deploy', async () => {
    const engine = new FakeEngine({ images: [image('web', 'v2')], running: { runsImageId: 'sha256:0ld0' } });
    const env = engine.env();
    // Both replicas run a build that v1's tag no longer names: by the tag they need no replacing.
    const records = await deploy(env, recorder(), { version: 'v1', tiers: ['web'] }, SETTINGS);
    assert.equal(records[0]?.outcome, 'rolled-back');
    assert.match(
      records[0]?.detail ?? '',
      /^not every web replica runs v1: tier_web_1 runs image 0ld0, not [0-9a-f]{12}; tier_web_2 runs image 0ld0/,
    );
  });
});

describe('local deploy: migrations', () => {
  it('runs the api migrations once, on the new image, before the first new api replica starts', async () => {
    const engine = new FakeEngine({ images: [image('api', 'v2')] });
    await deploy(engine.env(), recorder(), { version: 'v2', tiers: ['api'] }, SETTINGS);
    assert.deepEqual(engine.timeline().slice(0, 2), ['migrate tier_migrate_1 v2', 'create tier_api_3 v2']);
    assert.deepEqual(engine.composeCalls[0], {
      args: ['up', '-d', '--no-deps', '--force-recreate', 'migrate'],
      env: { API_IMAGE: image('api', 'v2') },
    });
    assert.equal(engine.timeline((e) => e.what === 'migrate').length, 1);
  });

  it('a failed migration changes nothing: no replica started, the pin kept, the deploy stopped', async () => {
    const engine = new FakeEngine({ images: [image('api', 'v2'), image('web', 'v2')], migrateExit: 3 });
    const env = engine.env();
    const records = await deploy(env, recorder(), { version: 'v2', tiers: ['api', 'web'] }, SETTINGS);
    assert.deepEqual(
      records.map((r) => [r.tier, r.outcome]),
      [['api', 'failed']],
    );
    assert.match(records[0]?.detail ?? '', /^migrations failed: exit 3: .*; nothing was changed$/);
    assert.deepEqual(engine.timeline(), ['migrate tier_migrate_1 v2']);
    assert.deepEqual(engine.replicas('api'), ['tier_api_1 v1', 'tier_api_2 v1']);
    assert.equal(pinned(env).API_IMAGE, image('api', 'v1'));
  });

  it('the web tier runs no migrations', async () => {
    const { engine } = await deployWeb();
    assert.equal(engine.timeline((e) => e.what === 'migrate').length, 0);
  });
});

describe('local rollback command', () => {
  it('returns each tier to the version before its last successful deploy, web first, without migrations', async () => {
    const engine = new FakeEngine({ images: [image('web', 'v2'), image('api', 'v2')] });
    const env = engine.env();
    await deploy(env, recorder(), { version: 'v2', tiers: ['web', 'api'] }, SETTINGS);
    engine.events.length = 0;
    const records = await rollback(env, recorder(), { tiers: ['web', 'api'] }, SETTINGS);
    assert.deepEqual(
      records.map((r) => [r.tier, r.previousVersion, r.version, r.outcome, r.detail]),
      [
        ['web', 'v2', 'v1', 'succeeded', 'rollback; 2 replica(s)'],
        ['api', 'v2', 'v1', 'succeeded', 'rollback; 2 replica(s)'],
      ],
    );
    assert.equal(engine.timeline((e) => e.what === 'migrate').length, 0);
    assert.deepEqual(
      engine.replicas('api').map((r) => r.split(' ')[1]),
      ['v1', 'v1'],
    );
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v1'));
  });

  it('finds the history where it was kept before (.tier/deployments.json) until its first new record', async () => {
    const engine = new FakeEngine({ images: [image('web', 'v0')] });
    const env = engine.env();
    const earlier: DeployRecord = {
      id: 'earlier-web',
      tier: 'web',
      version: 'v1',
      previousVersion: 'v0',
      startedAt: new Date(T0 - 3_600_000).toISOString(),
      finishedAt: new Date(T0 - 3_500_000).toISOString(),
      outcome: 'succeeded',
    };
    writeFileSync(join(env.root, '.tier/deployments.json'), JSON.stringify({ deployments: [earlier] }));
    const [record] = await rollback(env, recorder(), { tiers: ['web'] }, SETTINGS);
    assert.deepEqual([record?.version, record?.outcome], ['v0', 'succeeded']);
    assert.deepEqual(history(env.root), [earlier, record]);
  });

  it('says what to do when there is nothing to roll back to', async () => {
    const engine = new FakeEngine();
    await assert.rejects(
      rollback(engine.env(), recorder(), { tiers: ['web'] }, SETTINGS),
      (err: TierError) =>
        err.message === 'no earlier web version to roll back to' && /tier history/.test(err.hint ?? ''),
    );
  });
});

/** deployWeb with a canary of `percent` baking `bakeMs` (10 % for 60 s unless told). */
async function canaryWeb(
  opts: FakeEngineOptions = {},
  canary: Partial<CanaryOptions> = {},
  extra: { settings?: Partial<RolloutSettings>; interruptAtMs?: number } = {},
) {
  const engine = new FakeEngine({ images: [image('web', 'v2')], ...opts });
  const env = engine.env();
  const interrupt = new AbortController();
  const sleep = async (ms: number) => {
    await engine.sleep(ms);
    if (extra.interruptAtMs !== undefined && engine.now - T0 >= extra.interruptAtMs) interrupt.abort();
  };
  const progress = recorder();
  const records = await deploy(
    { ...env, sleep },
    progress,
    { version: 'v2', tiers: ['web'], canary: { percent: 10, bakeMs: 60_000, ...canary }, signal: interrupt.signal },
    { ...SETTINGS, ...extra.settings },
  );
  return { engine, env, progress, record: records[0]! };
}

const at = (engine: FakeEngine, line: string) => engine.events.find((e) => `${e.what} ${e.name}` === line)?.at ?? NaN;

describe('local deploy: canary', () => {
  it('a canary answering 5% 5xx is removed by itself during its bake, with only its share of requests affected', async () => {
    const { engine, env, record } = await canaryWeb({ script: () => ({ errorShare: 0.05 }) });
    assert.equal(record.outcome, 'rolled-back');
    assert.match(
      record.detail ?? '',
      /^canary tier_web_3 failed: canary \d+ 5xx of \d+ \([45]\.\d%\), old replicas 0 of \d+ \(0\.0%\): above the old version's rate/,
    );
    assert.deepEqual(engine.timeline(), ['create tier_web_3 v2', 'stop tier_web_3', 'rm tier_web_3']);
    assert.deepEqual(engine.replicas('web'), ['tier_web_1 v1', 'tier_web_2 v1']);
    const baked = at(engine, 'stop tier_web_3') - at(engine, 'create tier_web_3');
    assert.ok(baked > 2000 && baked < 62_000, `judged within its bake (${baked} ms)`);
    const { v1, v2 } = engine.answers('web');
    const all = v1!.responses + v2!.responses;
    assert.equal(v1!.errors5xx, 0);
    assert.ok(v2!.responses / all <= 0.1, `the canary took ${((100 * v2!.responses) / all).toFixed(1)}%`);
    assert.ok(v2!.responses / all >= 0.08, 'and it did take its share');
    assert.ok(v2!.errors5xx / all <= 0.1 * 0.05 + 1e-9, 'failed requests: at most the canary’s share of its rate');
    assert.deepEqual(engine.unusualWeights(), [], 'every weight is back');
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v1'));
    assert.deepEqual(
      history(env.root).map((r) => [r.outcome, r.version, r.previousVersion]),
      [['rolled-back', 'v2', 'v1']],
    );
  });

  it('a good canary bakes for the whole bake, then the rest rolls start-first', async () => {
    const { engine, env, record } = await canaryWeb({}, { bakeMs: 60_000 });
    assert.equal(record.outcome, 'succeeded');
    assert.match(record.detail ?? '', /^canary 10% for 60s: canary 0 5xx of \d+ \(0\.0%\), .*; 2 replica\(s\)$/);
    assert.deepEqual(engine.timeline(), [
      'create tier_web_3 v2',
      'stop tier_web_1',
      'rm tier_web_1',
      'create tier_web_4 v2',
      'stop tier_web_2',
      'rm tier_web_2',
    ]);
    assert.ok(at(engine, 'stop tier_web_1') - at(engine, 'create tier_web_3') >= 62_000, 'ready (2 s) + bake (60 s)');
    for (const e of engine.events.filter(stops)) assert.ok(e.serving.length >= 2, `${e.name}: ${e.serving}`);
    assert.deepEqual(engine.replicas('web'), ['tier_web_3 v2', 'tier_web_4 v2']);
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v2'));
  });

  it('gives the canary its share by HAProxy weights (2 against 9 and 9: 10%) and restores them before the rest rolls', async () => {
    const { engine } = await canaryWeb();
    const calls = engine.weightCalls.map((c) => `${c.slot}=${c.weight} ${c.holder}`);
    // The canary holds weight 0 until its smoke test passed, then takes its share.
    assert.deepEqual(calls.slice(0, 3).sort(), ['web1=9 tier_web_1', 'web2=9 tier_web_2', 'web3=0 tier_web_3']);
    assert.deepEqual(calls[3], 'web3=2 tier_web_3');
    assert.deepEqual(calls.slice(4).sort(), ['web1=1 tier_web_1', 'web2=1 tier_web_2', 'web3=1 tier_web_3']);
    const restored = Math.max(...engine.weightCalls.map((c) => c.at));
    assert.ok(restored <= at(engine, 'stop tier_web_1'), 'weights are back before any old replica drains');
    assert.deepEqual(engine.unusualWeights(), []);
  });

  it('takes a failed canary out of the traffic (weight 0) before draining it, and gives its slot back its weight', async () => {
    const { engine } = await canaryWeb({ script: () => ({ errorShare: 0.05 }) });
    const canarySlot = engine.weightCalls.filter((c) => c.slot === 'web3').map((c) => c.weight);
    assert.deepEqual(canarySlot, [0, 2, 0, 1]);
    const zero = engine.weightCalls.find((c) => c.slot === 'web3' && c.weight === 0)!;
    assert.ok(zero.at <= at(engine, 'stop tier_web_3'));
    assert.equal(engine.weight('web3'), 1, 'the next replica in that slot takes an equal share');
  });

  it('smoke-tests the canary on its own port before the balancer gives it any weight', async () => {
    const { engine, record } = await canaryWeb();
    assert.equal(record.outcome, 'succeeded');
    assert.ok(engine.smokeRequests.includes('tier_web_3'), `smoke requests: ${engine.smokeRequests}`);
    const share = engine.weightCalls.find((c) => c.slot === 'web3' && c.weight > 0)!;
    assert.ok(share, 'the canary took its share after the smoke test');
  });

  it('a canary whose smoke test fails never takes a request, and is removed', async () => {
    const { engine, env, record } = await canaryWeb({ script: () => ({ smokeFails: true }) });
    assert.equal(record.outcome, 'rolled-back');
    assert.match(
      record.detail ?? '',
      /^canary tier_web_3 failed its smoke test before any traffic: GET \/ answered 500/,
    );
    assert.equal(engine.answers('web').v2?.responses ?? 0, 0, 'no user request reached it');
    assert.deepEqual(
      engine.weightCalls.filter((c) => c.slot === 'web3').map((c) => c.weight),
      [0, 1],
      'held at 0, then its slot back to the normal weight',
    );
    assert.deepEqual(engine.replicas('web'), ['tier_web_1 v1', 'tier_web_2 v1']);
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v1'));
  });

  it('an interrupted bake removes the canary and leaves the tier on the old version', async () => {
    const { engine, env, record } = await canaryWeb({}, {}, { interruptAtMs: 20_000 });
    assert.equal(record.outcome, 'rolled-back');
    assert.match(record.detail ?? '', /^interrupted while the canary tier_web_3 was judged$/);
    assert.deepEqual(engine.timeline(), ['create tier_web_3 v2', 'stop tier_web_3', 'rm tier_web_3']);
    assert.ok(at(engine, 'stop tier_web_3') - T0 < 22_000, 'at once, not at the end of the bake');
    assert.deepEqual(engine.replicas('web'), ['tier_web_1 v1', 'tier_web_2 v1']);
    assert.deepEqual(engine.unusualWeights(), []);
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v1'));
  });

  it('a canary that crashes during its bake is removed the same way', async () => {
    const { engine, record } = await canaryWeb({ script: () => ({ crashes: true, crashAfterMs: 10_000 }) });
    assert.equal(record.outcome, 'rolled-back');
    assert.match(record.detail ?? '', /^tier_web_3 exited \(code 1/);
    assert.deepEqual(engine.replicas('web'), ['tier_web_1 v1', 'tier_web_2 v1']);
    assert.deepEqual(engine.unusualWeights(), []);
  });

  it('a canary whose p99 is above 1.5× the old replicas’ is removed at the end of its bake', async () => {
    const { engine, env, record, progress } = await canaryWeb({ script: () => ({ latencyMs: 200 }) });
    assert.equal(record.outcome, 'rolled-back');
    assert.match(
      record.detail ?? '',
      /^canary tier_web_3 failed: p99 (\d+) ms over \d+ requests, old replicas 5\.0 ms over \d+: above 1\.5× the old version's$/,
    );
    const p99 = Number(/p99 (\d+) ms/.exec(record.detail ?? '')?.[1]);
    assert.ok(p99 > 100 && p99 <= 250, `the bucket (100, 250] ms holds it: ${p99}`);
    assert.deepEqual(engine.timeline(), ['create tier_web_3 v2', 'stop tier_web_3', 'rm tier_web_3']);
    assert.ok(at(engine, 'stop tier_web_3') - at(engine, 'create tier_web_3') >= 62_000, 'judged over the whole bake');
    assert.deepEqual(engine.replicas('web'), ['tier_web_1 v1', 'tier_web_2 v1']);
    assert.deepEqual(engine.unusualWeights(), []);
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v1'));
    assert.ok(progress.lines.some((l) => /^info canary 0 5xx .*; p99 \d+ ms over \d+ requests, old replicas/.test(l)));
  });

  it('a canary as fast as the old version completes, with both p99s in its record', async () => {
    const { engine, record } = await canaryWeb({ script: () => ({ latencyMs: 5 }) });
    assert.equal(record.outcome, 'succeeded');
    assert.match(
      record.detail ?? '',
      /; p99 5\.0 ms over \d+ requests, old replicas 5\.0 ms over \d+; 2 replica\(s\)$/,
    );
    assert.deepEqual(engine.replicas('web'), ['tier_web_3 v2', 'tier_web_4 v2']);
  });

  it('a slower canary within the slack passes; --max-p99 fails it whatever the old version does', async () => {
    const slower = await canaryWeb({ script: () => ({ latencyMs: 20 }) });
    assert.equal(slower.record.outcome, 'succeeded', '20 ms against 5 ms: 4× but within 50 ms');
    // A p99 one bucket above the old one ((25, 50] against 5 ms) is the histogram's resolution at that level.
    const bucketAbove = await canaryWeb({ script: () => ({ latencyMs: 45 }) });
    assert.equal(bucketAbove.record.outcome, 'succeeded', bucketAbove.record.detail);
    const capped = await canaryWeb({ script: () => ({ latencyMs: 20 }) }, { maxP99Ms: 15 });
    assert.equal(capped.record.outcome, 'rolled-back');
    assert.match(capped.record.detail ?? '', /: above the ceiling of 15 ms$/);
  });

  it('leaves the canary’s first seconds out of its p99 (a cold process), and judges what follows', async () => {
    // Slow until 6 s old: ready at 2 s, so its first 4 s of the bake, inside the 5 s warm-up.
    const cold = await canaryWeb({ script: () => ({ slowStartMs: 6000 }) });
    assert.equal(cold.record.outcome, 'succeeded', cold.record.detail);
    const slow = await canaryWeb({ script: () => ({ slowStartMs: 20_000 }) });
    assert.equal(slow.record.outcome, 'rolled-back', 'slow past the warm-up: judged');
  });

  it('does not judge a p99 over fewer than 100 canary requests, and says so', async () => {
    const { record } = await canaryWeb({ script: () => ({ latencyMs: 200 }), responsesPerPoll: 1 }, { bakeMs: 20_000 });
    assert.equal(record.outcome, 'succeeded');
    assert.match(record.detail ?? '', /\(p99 not judged: fewer than 100 requests\)/);
  });

  it('refuses a p99 ratio below 1', async () => {
    const engine = new FakeEngine({ images: [image('web', 'v2')] });
    await assert.rejects(
      deploy(
        engine.env(),
        recorder(),
        { version: 'v2', tiers: ['web'], canary: { percent: 10, maxP99Ratio: 0.9 } },
        SETTINGS,
      ),
      (err: TierError) => /p99 ratio to the old version must be 1 or more, not 0\.9/.test(err.message),
    );
  });

  it('refuses a share outside 0..100 % before touching any replica', async () => {
    const engine = new FakeEngine({ images: [image('web', 'v2')] });
    for (const percent of [0, 100, Number.NaN]) {
      await assert.rejects(
        deploy(engine.env(), recorder(), { version: 'v2', tiers: ['web'], canary: { percent } }, SETTINGS),
        (err: TierError) => /canary's share must be more than 0 and less than 100 percent/.test(err.message),
      );
    }
    assert.deepEqual(engine.timeline(), []);
  });

  it('a deploy without --canary sets no weight', async () => {
    const { engine } = await deployWeb();
    assert.deepEqual(engine.weightCalls, []);
  });
});

describe('canary arithmetic', () => {
  it('weights give the canary its share within half a point, for 1 to 10 old replicas', () => {
    for (const percent of [1, 5, 10, 25, 50]) {
      for (let n = 1; n <= 10; n++) {
        const w = canaryWeights(percent, n);
        const share = (100 * w.canary) / (w.canary + n * w.baseline);
        assert.ok(Math.abs(share - percent) < 0.5, `${percent}% of ${n}: ${share}`);
        assert.ok(w.canary >= 1 && w.canary <= 256 && w.baseline >= 1 && w.baseline <= 256);
      }
    }
    assert.deepEqual(canaryWeights(10, 2), { canary: 2, baseline: 9 });
  });

  const stat = (name: string, ip: string, responses: number, errors5xx: number) => ({
    backend: 'replicas',
    name,
    status: 'UP',
    addr: `${ip}:3000`,
    responses,
    errors5xx,
    weight: 1,
  });
  const judge = () => new CanaryJudge(() => '10.0.0.3', ['10.0.0.1', '10.0.0.2'], { maxErrorRate: 0.02, minErrors: 5 });

  it('blames the canary only for 5xx above the old replicas’ rate', () => {
    const j = judge();
    assert.equal(
      j.observe([stat('s1', '10.0.0.1', 0, 0), stat('s2', '10.0.0.2', 0, 0), stat('s3', '10.0.0.3', 0, 0)]),
      undefined,
    );
    const bothFail = [
      stat('s1', '10.0.0.1', 1000, 50),
      stat('s2', '10.0.0.2', 1000, 50),
      stat('s3', '10.0.0.3', 200, 10),
    ];
    assert.equal(j.observe(bothFail), undefined, 'the old version fails as often: not the canary');
    const j2 = judge();
    j2.observe([stat('s1', '10.0.0.1', 0, 0), stat('s2', '10.0.0.2', 0, 0), stat('s3', '10.0.0.3', 0, 0)]);
    const canaryFails = [
      stat('s1', '10.0.0.1', 1000, 0),
      stat('s2', '10.0.0.2', 1000, 0),
      stat('s3', '10.0.0.3', 200, 10),
    ];
    assert.match(j2.observe(canaryFails) ?? '', /^canary 10 5xx of 200 \(5\.0%\), old replicas 0 of 2000 \(0\.0%\)/);
  });

  it('counts from the canary’s first appearance in a slot (a reused slot keeps its old counters)', () => {
    const j = judge();
    j.observe([stat('s1', '10.0.0.1', 0, 0), stat('s2', '10.0.0.2', 0, 0), stat('s3', '10.0.0.3', 5000, 900)]);
    assert.equal(
      j.observe([stat('s1', '10.0.0.1', 100, 0), stat('s2', '10.0.0.2', 100, 0), stat('s3', '10.0.0.3', 5020, 900)]),
      undefined,
    );
    assert.deepEqual(j.current.canary, { responses: 20, errors5xx: 0 });
  });
});

describe('canary latency arithmetic', () => {
  /** A replica's /metrics as the runtime's own registry renders it, after these request durations (ms). */
  async function metricsText(durationsMs: number[], route = '/'): Promise<string> {
    const m = createMetrics('web', 'v1');
    for (const d of durationsMs) m.duration.observe({ method: 'GET', route, status_code: '200' }, d / 1000);
    m.duration.observe({ method: 'GET', route: '/api/status', status_code: '503' }, 0.0001);
    return m.registry.metrics();
  }

  it('sums the runtime histogram’s buckets over routes and status codes', async () => {
    const h = parseLatencyHistogram(await metricsText([3, 3, 40]));
    assert.equal(h.get(Number.POSITIVE_INFINITY), 4);
    assert.equal(h.get(0.001), 1, 'the 0.1 ms 503 of another route');
    assert.equal(h.get(0.005), 3);
    assert.equal(h.get(0.05), 4);
  });

  it('estimates a quantile as histogram_quantile does: linear within the bucket, the last finite bound past it', async () => {
    // 99 requests at 3 ms, 1 at 200 ms: rank 99 of 100 falls in (2.5, 5] ms.
    const h = parseLatencyHistogram(await metricsText([...Array(99).fill(3), 200]).then((t) => t));
    const p99 = histogramQuantile(0.99, h)!;
    assert.ok(p99 > 0.0025 && p99 <= 0.005, String(p99));
    const slow = parseLatencyHistogram(await metricsText(Array(100).fill(9000)));
    assert.equal(histogramQuantile(0.5, slow), 5, 'beyond the 5 s bucket: at least 5 s');
    assert.equal(histogramQuantile(0.99, new Map()), undefined);
  });

  it('compares the window since start, and counts a restarted replica from zero', async () => {
    const j = new LatencyJudge(() => '10.0.0.3', ['10.0.0.1'], { maxP99Ratio: 1.5 });
    const h = async (ms: number, n: number) => parseLatencyHistogram(await metricsText(Array(n).fill(ms)));
    j.start(
      new Map([
        ['10.0.0.1', await h(300, 500)],
        ['10.0.0.3', await h(300, 50)],
      ]),
    );
    j.read(
      new Map([
        ['10.0.0.1', await h(3, 20)],
        ['10.0.0.3', await h(3, 250)],
      ]),
    );
    // 10.0.0.1's counts went down (a restart): its 21 requests are the window's; the canary's 200 at 3 ms too.
    const f = j.current;
    assert.equal(f.baselineRequests, 21);
    assert.equal(f.canaryRequests, 200);
    assert.ok(f.canaryP99Ms! < 5, `the 300 ms before start are not in the window: ${f.canaryP99Ms}`);
  });
});
