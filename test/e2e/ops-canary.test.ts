// Canary deploys on the local environment, each under a steady load through the edge: an api version
// that answers 5 % of its requests with a 500 (the test-only FAULT_5XX_PERCENT) takes 10 % of the
// requests, is judged against the old replicas and removed by itself, with at most its share of
// requests failing; a good version bakes and completes with 0 failed requests. Each is its own `it`.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { describeLoad, underLoad } from './support/load.js';
import {
  assertNoFailedRequests,
  balancerServers,
  currentImage,
  deriveImage,
  engine,
  ensureEnvironment,
  replicasOf,
  status,
  tier,
  tierOk,
  versionsOf,
} from './support/ops.js';

let edge = 'http://127.0.0.1:8080';
const stamp = Date.now().toString(36);
const SHARE = 10;
const BAKE_S = 45;

/** The user weight of every server slot of a tier's balancer (HAProxy's `uweight`). */
const balancerWeights = async (tierName: 'api' | 'web') =>
  (await balancerServers(tierName)).map((row) => Number(row.uweight));

type HistoryRecord = { tier: string; version: string; outcome: string; detail?: string };
const history = async () => {
  const out = await tierOk(['--json', 'history']);
  return JSON.parse(out.slice(out.indexOf('['))) as HistoryRecord[];
};

describe('canary deploys (local environment)', { timeout: 20 * 60_000 }, () => {
  before(async () => {
    edge = (await ensureEnvironment()).endpoints.edge ?? edge;
  });

  it('removes a canary that answers 5% 5xx by itself, with at most its share of requests failing', async () => {
    const good = versionsOf(await status(), 'api');
    const bad = `canary-bad-${stamp}`;
    const from = await currentImage('api');
    // The knob ships with the app: an api image built before it would ignore FAULT_5XX_PERCENT.
    await engine(
      'run',
      '--rm',
      '--entrypoint',
      'node',
      from,
      '-e',
      "require('fs').accessSync('/app/apps/api/dist/fault.js')",
    ).catch(() => assert.fail(`${from} has no FAULT_5XX_PERCENT knob: deploy an api built from this tree first`));
    await deriveImage('api', from, bad, { FAULT_5XX_PERCENT: '5' });
    const started = Date.now();
    const { result, load } = await underLoad({ baseUrl: edge, tag: `canary-bad-${stamp}` }, () =>
      tier(['deploy', '--version', bad, '--tier', 'api', '--canary', `${SHARE}%`, '--bake', `${BAKE_S}s`]),
    );
    const tookS = (Date.now() - started) / 1000;
    assert.equal(result.code, 1, result.out);
    assert.match(result.out, /rolled-back/);
    assert.match(result.out, /canary \S+ failed: canary \d+ 5xx of \d+/, 'the judgement is named');
    // The canary took traffic (some 500s reached clients), and no more than its share failed.
    assert.ok((load.byStatus['500'] ?? 0) > 0, `the canary never answered: ${describeLoad(load)}`);
    assert.ok(load.failed <= (load.total * SHARE) / 100, `more than the canary's share failed: ${describeLoad(load)}`);
    assert.ok(tookS < BAKE_S + 90, `rejected and removed within the bake and the removal (${tookS}s)`);
    const after = await status();
    assert.deepEqual(versionsOf(after, 'api'), good);
    assert.equal(replicasOf(after, 'api').length, 2);
    assert.ok(
      (await balancerWeights('api')).every((w) => w === 1),
      `api-lb weights not restored: ${await balancerWeights('api')}`,
    );
    const record = (await history()).findLast((r) => r.tier === 'api' && r.version === bad);
    assert.equal(record?.outcome, 'rolled-back');
    assert.match(record?.detail ?? '', /^canary \S+ failed: /);
  });

  it('completes a good version after its bake: 0 failed requests, every replica new, weights restored', async () => {
    const version = `canary-good-${stamp}`;
    await deriveImage('api', await currentImage('api'), version);
    const { result, load } = await underLoad({ baseUrl: edge, tag: `canary-good-${stamp}` }, () =>
      tier(['deploy', '--version', version, '--tier', 'api', '--canary', `${SHARE}%`, '--bake', `${BAKE_S}s`]),
    );
    assert.equal(result.code, 0, result.out);
    assert.ok((load.total * 1000) / load.durationMs >= 100, describeLoad(load));
    assert.ok(load.durationMs >= BAKE_S * 1000, 'the deploy baked');
    await assertNoFailedRequests(load);
    const after = await status();
    assert.deepEqual(versionsOf(after, 'api'), [version]);
    assert.equal(replicasOf(after, 'api').length, 2);
    assert.ok(
      (await balancerWeights('api')).every((w) => w === 1),
      `${await balancerWeights('api')}`,
    );
    const record = (await history()).findLast((r) => r.tier === 'api' && r.version === version);
    assert.equal(record?.outcome, 'succeeded');
    assert.match(record?.detail ?? '', new RegExp(`^canary ${SHARE}% for ${BAKE_S}s: canary \\d+ 5xx of [1-9]\\d* `));
  });
});
