// `tier rollback` and `tier deploy` report what happened in their exit status: a failed rollback is not a ✔.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Command } from 'commander';
import type { Backend, DeployOptions, DeployRecord, Progress } from '../src/backend.js';
import { registerDeploy } from '../src/commands/deploy.js';
import type { Context } from '../src/context.js';

const quiet: Progress = { step() {}, info() {}, done() {}, warn() {} };
const record = (outcome: DeployRecord['outcome']): DeployRecord => ({
  id: 'r',
  tier: 'web',
  version: 'aaa',
  previousVersion: 'bbb',
  startedAt: '2026-01-01T00:00:00Z',
  finishedAt: '2026-01-01T00:00:05Z',
  outcome,
});

/** Runs `tier <args>` against a backend whose rollback and deploy return `records`; returns exit code and output. */
async function run(args: string[], records: DeployRecord[], asked: DeployOptions[] = []) {
  const backend = {
    target: 'aws',
    rollback: async () => records,
    deploy: async (_p: Progress, opts: DeployOptions) => {
      asked.push(opts);
      return records;
    },
  } as unknown as Backend;
  let out = '';
  const ctx: Context = {
    options: () => ({ target: 'aws', stage: 'dev', json: false }),
    backend: async () => backend,
    localOperations: async (elsewhere) => {
      throw elsewhere;
    },
    progress: quiet as Context['progress'],
    print: (_data, text) => {
      out += text();
    },
  };
  const program = new Command('tier').exitOverride();
  registerDeploy(program, ctx);
  process.exitCode = undefined;
  await program.parseAsync(['node', 'tier', ...args]);
  return { code: process.exitCode ?? 0, out };
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('tier rollback', () => {
  for (const outcome of ['failed', 'rolled-back'] as const) {
    it(`exits 1 and prints ✖ when a tier's rollback ${outcome}`, async () => {
      const { code, out } = await run(['rollback', '--tier', 'web'], [record(outcome)]);
      assert.equal(code, 1);
      assert.match(out, /✖ rollback web bbb -> aaa/);
    });
  }

  it('exits 0 with ✔ when every tier went back', async () => {
    const { code, out } = await run(['rollback'], [record('succeeded')]);
    assert.equal(code, 0);
    assert.match(out, /✔ rollback/);
  });
});

describe('tier deploy', () => {
  it('exits 1 when a tier did not roll out', async () => {
    const { code } = await run(['deploy', '--version', 'aaa'], [record('rolled-back')]);
    assert.equal(code, 1);
  });
});

describe('tier deploy --canary', () => {
  it('passes the share and the bake to the backend, with a signal for Ctrl-C', async () => {
    const asked: DeployOptions[] = [];
    await run(['deploy', '--version', 'aaa', '--canary', '10%', '--bake', '1m30s'], [record('succeeded')], asked);
    assert.deepEqual(asked[0]?.canary, { percent: 10, bakeMs: 90_000, maxP99Ratio: undefined, maxP99Ms: undefined });
    assert.ok(asked[0]?.signal instanceof AbortSignal);
  });

  it('leaves the bake to the backend’s default when only --canary is given', async () => {
    const asked: DeployOptions[] = [];
    await run(['deploy', '--canary', '5'], [record('succeeded')], asked);
    assert.deepEqual(asked[0]?.canary, { percent: 5, bakeMs: undefined, maxP99Ratio: undefined, maxP99Ms: undefined });
  });

  it('passes the p99 limits: a ratio to the old version and a ceiling', async () => {
    const asked: DeployOptions[] = [];
    await run(
      ['deploy', '--canary', '10%', '--max-p99-ratio', '2', '--max-p99', '250ms'],
      [record('succeeded')],
      asked,
    );
    assert.deepEqual(asked[0]?.canary, { percent: 10, bakeMs: undefined, maxP99Ratio: 2, maxP99Ms: 250 });
  });

  it('a deploy without --canary asks for none (and no signal)', async () => {
    const asked: DeployOptions[] = [];
    await run(['deploy', '--version', 'aaa'], [record('succeeded')], asked);
    assert.deepEqual(asked[0], { version: 'aaa', tiers: ['web', 'api'] });
  });

  it('refuses a share outside 0..100 and a bake that is not a duration', async () => {
    await assert.rejects(run(['deploy', '--canary', '100%'], []), /above 0 and below 100/);
    await assert.rejects(run(['deploy', '--canary', '10', '--bake', 'soon'], []), /a duration such as 60s/);
    await assert.rejects(run(['deploy', '--bake', '60s'], []), /--bake judges a canary/);
    await assert.rejects(run(['deploy', '--max-p99', '1s'], []), /--max-p99 judges a canary/);
    await assert.rejects(run(['deploy', '--canary', '10', '--max-p99-ratio', '0.5'], []), /a ratio of 1 or more/);
  });
});
