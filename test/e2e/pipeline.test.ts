// `tier pipeline` end to end on the running local environment: a changed web tier ships under load with
// 0 failed requests, and a version whose smoke test fails is rolled back by itself.
// Works on a throwaway clone (commits there, never in the developer's tree) sharing node_modules.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { webApiFailures } from './support/ops.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Status {
  replicas: Array<{ tier: string; name: string; version: string; health: string }>;
  endpoints: Record<string, string>;
}

let clone: string;

/** Runs the clone's own `tier` (so the pipeline sees the clone's commits); resolves with the exit code and output. */
function tier(args: string[], cwd = clone): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(cwd, 'packages/tier/bin/tier.js'), ...args], {
      cwd,
      env: { ...process.env, CI: '1' },
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

async function status(): Promise<Status> {
  const { code, out } = await tier(['--json', 'status'], ROOT);
  assert.equal(code, 0, out);
  return JSON.parse(out.slice(out.indexOf('{'))) as Status;
}

const versionsOf = (s: Status, t: string) => [...new Set(s.replicas.filter((r) => r.tier === t).map((r) => r.version))];
const edge = (s: Status) => s.endpoints.edge ?? Object.values(s.endpoints)[0]!;

async function commitInClone(file: string, edit: (text: string) => string, message: string): Promise<string> {
  const path = join(clone, file);
  await writeFile(path, edit(await readFile(path, 'utf8')));
  await exec('git', ['-C', clone, 'commit', '-qam', message]);
  return (await exec('git', ['-C', clone, 'rev-parse', '--short=12', 'HEAD'])).stdout.trim();
}

/** Steady load through the edge (page views and status reads) until `stop` resolves; every response counted. */
async function underLoad<T>(
  url: string,
  work: () => Promise<T>,
): Promise<{ result: T; failed: number; total: number }> {
  // The callback form returns the instance, to stop it; the promise form does not (by its types).
  let instance!: autocannon.Instance;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url,
        connections: 4,
        overallRate: 100,
        duration: 3600,
        requests: [
          { method: 'GET', path: '/' },
          { method: 'GET', path: '/api/status' },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
  try {
    const result = await work();
    return { result, ...(await stopAndCount()) };
  } catch (err) {
    await stopAndCount();
    throw err;
  }
  async function stopAndCount() {
    instance.stop();
    const r = await done;
    return { failed: r.errors + r.timeouts + r.non2xx, total: r.requests.total };
  }
}

describe('tier pipeline (local environment)', { timeout: 30 * 60_000 }, () => {
  before(async () => {
    const current = await tier(['--json', 'status'], ROOT);
    if (current.code !== 0 || !/"replicas":\s*\[\s*{/.test(current.out)) {
      const up = await tier(['up'], ROOT);
      assert.equal(up.code, 0, `tier up failed:\n${up.out}`);
    }
    clone = await mkdtemp(join(tmpdir(), 'tier-pipeline-e2e-'));
    await exec('git', ['clone', '-q', '--no-hardlinks', ROOT, clone]);
    await exec('git', ['-C', clone, 'config', 'user.email', 'e2e@tier.invalid']);
    await exec('git', ['-C', clone, 'config', 'user.name', 'pipeline e2e']);
    await symlink(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
    // The clone drives the SAME environment: share its generated settings (.env) and state (.tier).
    await symlink(join(ROOT, 'infra/local/.env'), join(clone, 'infra/local/.env'));
    await symlink(join(ROOT, '.tier'), join(clone, '.tier'));
    // Start from the clone's HEAD on both tiers, so each test's change is the only difference.
    const first = await tier(['pipeline', '--skip-tests', '--tier', 'web', 'api']);
    if (first.code !== 0) assert.fail(`initial pipeline failed:\n${first.out}\n${await webApiFailures()}`);
  });
  after(async () => {
    if (clone) await rm(clone, { recursive: true, force: true });
  });

  it('ships a web-only change with 0 failed requests under load, leaving the API alone', async () => {
    const before = await status();
    const apiBefore = versionsOf(before, 'api');
    const version = await commitInClone(
      'apps/web/public/stylesheets/style.css',
      (css) => `${css}\n/* pipeline e2e ${Date.now()} */\n`,
      'web: a stylesheet change (pipeline e2e)',
    );
    const { result, failed, total } = await underLoad(edge(before), () => tier(['pipeline', '--skip-tests']));
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /deploy\s+\S+\s+✔ ok\s+web succeeded/);
    assert.match(result.out, /api: .*unchanged/);
    assert.ok(total > 100, `only ${total} requests were made`);
    assert.equal(failed, 0, `${failed} of ${total} requests failed during the rollout`);
    const after = await status();
    assert.deepEqual(versionsOf(after, 'web'), [version]);
    assert.deepEqual(versionsOf(after, 'api'), apiBefore);
  });

  it('stops a version whose smoke test fails: before any traffic with the canary, by rolling back without it', async () => {
    const good = versionsOf(await status(), 'web');
    // Ready and healthy, but the page no longer says "Welcome, it's <time>": only a smoke test can tell.
    const broken = await commitInClone(
      'apps/web/src/views/pages.ts',
      (src) => src.replace("Welcome, it's", 'Hello at'),
      'web: a broken greeting (pipeline e2e)',
    );
    // The canary is smoke-tested on its own port before the balancer sends it anything: nothing to roll back.
    const canary = await tier(['pipeline', '--skip-tests']);
    assert.equal(canary.code, 1, canary.out);
    assert.match(
      canary.out,
      /deploy\s+\S+\s+✖ FAILED\s+web rolled-back \(canary \S+ failed its smoke test before any traffic/,
    );
    assert.match(canary.out, /next: /);
    assert.deepEqual(versionsOf(await status(), 'web'), good);
    // Without a canary the whole tier rolls, the smoke test through the edge fails, and the pipeline rolls it back.
    const rolled = await tier(['pipeline', '--skip-tests', '--no-canary']);
    assert.equal(rolled.code, 1, rolled.out);
    assert.match(rolled.out, /smoke\s+\S+\s+✖ FAILED/);
    assert.match(rolled.out, /rollback\s+\S+\s+✔ ok/);
    const after = await status();
    assert.deepEqual(versionsOf(after, 'web'), good);
    assert.ok(!versionsOf(after, 'web').includes(broken));
  });
});
