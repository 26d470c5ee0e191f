// Rolling deploys on the local environment, each under a steady load through the edge:
// a new web and api version ships with 0 failed requests and no lost write; a version that never
// becomes ready is rolled back by itself; `tier rollback` and `tier history` do what they say.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { TIERS } from '@tier/cli';
import { describeLoad, underLoad } from './support/load.js';
import {
  assertNoFailedRequests,
  currentImage,
  deriveImage,
  ensureEnvironment,
  readBack,
  replicasOf,
  status,
  tier,
  tierOk,
  versionsOf,
} from './support/ops.js';

let edge = 'http://127.0.0.1:8080';
const stamp = Date.now().toString(36);

describe('rolling deploys (local environment)', { timeout: 20 * 60_000 }, () => {
  before(async () => {
    edge = (await ensureEnvironment()).endpoints.edge ?? edge;
  });

  it('rolls out a new web and api version under load: 0 failed, every replica new, every acknowledged write readable', async () => {
    const version = `ops-${stamp}`;
    await deriveImage('web', await currentImage('web'), version);
    await deriveImage('api', await currentImage('api'), version);
    const { result, load } = await underLoad({ baseUrl: edge, tag: `rollout-${stamp}` }, () =>
      tier(['deploy', '--version', version]),
    );
    assert.equal(result.code, 0, result.out);
    assert.ok((load.total * 1000) / load.durationMs >= 100, describeLoad(load));
    await assertNoFailedRequests(load);
    const after = await status();
    for (const t of TIERS) {
      assert.deepEqual(versionsOf(after, t), [version], `${t} runs ${versionsOf(after, t)}`);
      assert.equal(replicasOf(after, t).length, 2);
    }
    const ids = new Set(load.acked.map((a) => a.id));
    assert.ok(ids.size > 50, describeLoad(load));
    const seen = await readBack(edge, ids);
    assert.equal(seen.size, ids.size, `${ids.size - seen.size} acknowledged writes are not readable`);
  });

  it('rolls back a version that never becomes ready, by itself, with 0 failed requests', async () => {
    const good = versionsOf(await status(), 'api');
    const broken = `broken-${stamp}`;
    // The image under test starts with an invalid required setting: it exits at once, never ready.
    await deriveImage('api', await currentImage('api'), broken, { PORT: 'not-a-port' });
    const { result, load } = await underLoad({ baseUrl: edge, tag: `broken-${stamp}` }, () =>
      tier(['deploy', '--version', broken, '--tier', 'api'], { TIER_READY_TIMEOUT_S: '20' }),
    );
    assert.equal(result.code, 1, result.out);
    assert.match(result.out, /rolled-back/);
    assert.match(result.out, /PORT must be an integer/, 'the cause is named');
    await assertNoFailedRequests(load);
    const after = await status();
    assert.deepEqual(versionsOf(after, 'api'), good);
    assert.equal(replicasOf(after, 'api').length, 2);
  });

  it('tier rollback returns a tier to its previous version under load; tier history lists every outcome', async () => {
    const { result, load } = await underLoad({ baseUrl: edge, tag: `rollback-${stamp}` }, () =>
      tier(['rollback', '--tier', 'web']),
    );
    assert.equal(result.code, 0, result.out);
    await assertNoFailedRequests(load);
    assert.notDeepEqual(versionsOf(await status(), 'web'), [`ops-${stamp}`]);

    const out = await tierOk(['--json', 'history']);
    const records = JSON.parse(out.slice(out.indexOf('['))) as { tier: string; version: string; outcome: string }[];
    assert.ok(records.some((r) => r.tier === 'api' && r.version === `ops-${stamp}` && r.outcome === 'succeeded'));
    assert.ok(records.some((r) => r.tier === 'api' && r.version === `broken-${stamp}` && r.outcome === 'rolled-back'));
    assert.ok(records.some((r) => r.tier === 'web' && r.outcome === 'succeeded' && r.version !== `ops-${stamp}`));
  });
});
