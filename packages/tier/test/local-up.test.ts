// `tier up` keeps what the operations set, against a fake engine: the counts from `tier scale` and the
// versions from `tier deploy` survive it, it rolls start-first where the working tree is new, and a
// replica that died is started again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { appVersion } from '../src/images/git.js';
import { planAppTiers, rollAppTiers } from '../src/local/app-tiers.js';
import { compose, type OpsEnv } from '../src/local/ops-env.js';
import { deploy, type RolloutSettings } from '../src/local/rollout.js';
import { scale } from '../src/local/scale.js';
import { setEnvValues } from '../src/local/settings.js';
import { FakeEngine, image, pinned, recorder } from './local-support.js';

const SETTINGS: RolloutSettings = { readyTimeoutMs: 30_000, maxErrorRate: 0.02, minErrors: 5, batch: 1 };

/** An environment that `tier up` brought to v1 (APP_VERSION=v1), with v2 built as well. */
function upAtV1(opts: ConstructorParameters<typeof FakeEngine>[0] = {}) {
  const engine = new FakeEngine({ images: [image('web', 'v2'), image('api', 'v2')], ...opts });
  const env = engine.env();
  return { engine, env, ready: setEnvValues(env.envFile, { APP_VERSION: 'v1' }) };
}

/** What `tier up` does with the app tiers (src/local/index.ts), the working tree being at `version`. */
async function tierUp(env: OpsEnv, version: string) {
  const plan = await planAppTiers(env, version);
  await setEnvValues(env.envFile, plan.settings);
  await compose(env, ['up', '-d', '--remove-orphans', ...plan.scale]);
  await rollAppTiers(env, recorder(), plan, version);
  return plan;
}

describe('tier up keeps what the operations set', () => {
  it('keeps the replica counts `tier scale` set', async () => {
    const { engine, env, ready } = upAtV1();
    await ready;
    await scale(env, recorder(), { web: 3, api: 1 });
    engine.events.length = 0;
    await tierUp(env, 'v1');
    assert.equal(engine.replicas('web').length, 3);
    assert.equal(engine.replicas('api').length, 1);
    assert.deepEqual(engine.timeline(), [], 'nothing was started, stopped or removed');
  });

  it('keeps the version `tier deploy` rolled out while the working tree is the one the last `tier up` brought', async () => {
    const { engine, env, ready } = upAtV1();
    await ready;
    await deploy(env, recorder(), { version: 'v2', tiers: ['web'] }, SETTINGS);
    engine.events.length = 0;
    await tierUp(env, 'v1');
    assert.deepEqual(
      engine.replicas('web').map((r) => r.split(' ')[1]),
      ['v2', 'v2'],
    );
    assert.deepEqual(engine.timeline(), []);
    assert.equal(pinned(env).WEB_IMAGE, image('web', 'v2'));
  });

  it('rolls start-first to a new working tree, api first, and then records it as the version up brought', async () => {
    const { engine, env, ready } = upAtV1();
    await ready;
    const plan = await tierUp(env, 'v2');
    assert.deepEqual(plan.roll, ['api', 'web']);
    assert.deepEqual(
      engine.timeline((e) => e.what !== 'rm' && e.name.startsWith('tier_web')),
      ['create tier_web_3 v2', 'stop tier_web_1', 'create tier_web_4 v2', 'stop tier_web_2'],
    );
    for (const stop of engine.events.filter((e) => e.what === 'stop'))
      assert.ok(stop.serving.length >= 3, `${stop.name} stopped while ${stop.serving.length - 1} others served`);
    assert.equal(engine.timeline((e) => e.what === 'migrate').length, 1, 'the api migrations ran');
    assert.deepEqual(
      [...new Set([...engine.replicas('web'), ...engine.replicas('api')].map((r) => r.split(' ')[1]))],
      ['v2'],
    );
    assert.equal(pinned(env).APP_VERSION, 'v2');
  });

  it('fails, keeps the version that ran, and tries again next time, when the roll to a new tree does not land', async () => {
    const { engine, env, ready } = upAtV1({ script: (version) => (version === 'v2' ? { neverReady: true } : {}) });
    await ready;
    await assert.rejects(tierUp(env, 'v2'), /api did not roll to v2 \(rolled-back/);
    assert.deepEqual(
      engine.replicas('api').map((r) => r.split(' ')[1]),
      ['v1', 'v1'],
    );
    assert.equal(pinned(env).APP_VERSION, 'v1');
    assert.deepEqual((await planAppTiers(env, 'v2')).roll, ['api', 'web']);
  });

  it('starts again a replica that died, on the version its tier runs', async () => {
    const { engine, env, ready } = upAtV1();
    await ready;
    await deploy(env, recorder(), { version: 'v2', tiers: ['api'] }, SETTINGS);
    await scale(env, recorder(), { api: 3 });
    const [victim] = engine.replicas('api');
    engine.kill(victim!.split(' ')[0]!);
    engine.events.length = 0;
    await tierUp(env, 'v1');
    assert.deepEqual(
      engine.replicas('api').map((r) => r.split(' ')[1]),
      ['v2', 'v2', 'v2'],
    );
    assert.deepEqual(engine.timeline(), ['create tier_api_6 v2'], 'one new replica, nothing else touched');
  });

  it('starts a tier with nothing running on the working tree’s version at once, without a roll', async () => {
    const { engine, env, ready } = upAtV1({ replicas: { web: 0, api: 0 } });
    await ready;
    const plan = await tierUp(env, 'v2');
    assert.deepEqual(plan.roll, []);
    assert.deepEqual(engine.replicas('web'), ['tier_web_1 v2', 'tier_web_2 v2']);
  });
});

describe('one version for a tree', () => {
  it('`tier deploy` without --version ships the images `tier up` builds: 12-character sha, -dirty-<hash> with changes', async () => {
    const engine = new FakeEngine();
    const env = engine.env();
    const git = (...args: string[]) => execFileSync('git', ['-C', env.root, ...args], { stdio: 'pipe' });
    git('init', '-q');
    git('-c', 'user.email=t@t.invalid', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'first');
    writeFileSync(join(env.root, 'changed.txt'), 'uncommitted');
    const version = await appVersion(env);
    assert.match(version, /^[0-9a-f]{12}-dirty-[0-9a-f]{8}$/);
    engine.images.add(image('web', version));
    const [record] = await deploy(env, recorder(), { tiers: ['web'] }, SETTINGS);
    assert.equal(record?.version, version);
    assert.equal((await planAppTiers(env, version)).settings.WEB_IMAGE, image('web', version));
  });
});
