// Delivery benchmark on the running local environment (`npm run bench:delivery`), under a steady
// load through the edge:
// (a) merge to live: a web-only commit (a stylesheet line) in a throwaway clone that drives this
//     environment, delivered by `tier pipeline` with its default canary (10 % for 30 s), until every
//     web replica runs it and the smoke test passes. Target < 2 min.
// (b) time to reject a bad release: an api version answering 5 % of requests with a 500 (the
//     test-only FAULT_5XX_PERCENT, derived as test/e2e/ops-canary.test.ts does) deployed with
//     `--canary 10% --bake 60s`; from the canary's first traffic (HAProxy has it UP at its canary
//     weight) until it is out of the traffic (weight 0 or gone). Target < 90 s.
// BENCH_RUNS (default 3) runs of each; BENCH_TESTS=1 lets the pipeline run its test stage too.
// Writes bench/results/delivery.md and delivery.json.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeLoad, type LoadResult, underLoad } from '../../test/e2e/support/load.js';
import {
  balancerServers,
  containers,
  currentImage,
  deriveImage,
  ENGINE,
  engine,
  ensureEnvironment,
  ipOf,
  ROOT,
  status,
  tier,
  versionsOf,
} from '../../test/e2e/support/ops.js';

const exec = promisify(execFile);
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const WITH_TESTS = process.env.BENCH_TESTS === '1';
const RATE = 100;
const TARGETS = { mergeToLiveS: 120, rejectS: 90 } as const;
const BAD_CANARY = { percent: 10, bakeS: 60 } as const;

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const seconds = (ms: number) => Math.round(ms / 100) / 10;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const loadSummary = (r: LoadResult) => ({
  requests: r.total,
  reqPerSec: Math.round((r.total * 1000) / r.durationMs),
  failed: r.failed,
  byStatus: r.byStatus,
});

/** A clone of this checkout that drives the same environment (its .env and .tier), as test/e2e/pipeline.test.ts does. */
async function cloneDrivingThisEnvironment(): Promise<string> {
  const clone = await mkdtemp(join(tmpdir(), 'tier-bench-delivery-'));
  await exec('git', ['clone', '-q', '--no-hardlinks', ROOT, clone]);
  await exec('git', ['-C', clone, 'config', 'user.email', 'bench@tier.invalid']);
  await exec('git', ['-C', clone, 'config', 'user.name', 'delivery bench']);
  await symlink(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  await symlink(join(ROOT, 'infra/local/.env'), join(clone, 'infra/local/.env'));
  await symlink(join(ROOT, '.tier'), join(clone, '.tier'));
  return clone;
}

/** The clone's own `tier`, so the pipeline sees the clone's commits. */
function cloneTier(clone: string, args: string[]): Promise<{ code: number; stdout: string; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(clone, 'packages/tier/bin/tier.js'), ...args], {
      cwd: clone,
      env: { ...process.env, CI: '1' },
    });
    let stdout = '';
    let out = '';
    child.stdout.on('data', (c) => {
      stdout += c;
      out += c;
    });
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, out }));
  });
}

interface PipelineJson {
  ok: boolean;
  version: string;
  totalMs: number;
  stages: { stage: string; result: string; durationMs: number; detail: string }[];
  deployed: { tier: string; outcome: string; detail?: string }[];
}

/** (a) One web-only change from its commit (the merge) until the edge serves it. */
async function mergeToLive(clone: string, edge: string, n: number) {
  const css = join(clone, 'apps/web/public/stylesheets/style.css');
  const args = ['--json', 'pipeline', ...(WITH_TESTS ? [] : ['--skip-tests'])];
  // The commit is made under the load (after its warm-up): the clock runs from the merge to live.
  const { result, load } = await underLoad(
    { baseUrl: edge, ratePerSecond: RATE, tag: `bench-merge-${n}` },
    async () => {
      await writeFile(css, `${await readFile(css, 'utf8')}\n/* delivery bench ${Date.now()} ${n} */\n`);
      await exec('git', ['-C', clone, 'commit', '-qam', `web: a stylesheet change (delivery bench ${n})`]);
      const merged = Date.now();
      const run = await cloneTier(clone, args);
      return { ...run, liveMs: Date.now() - merged };
    },
  );
  if (result.code !== 0) throw new Error(`tier pipeline failed:\n${result.out}`);
  const version = (await exec('git', ['-C', clone, 'rev-parse', '--short=12', 'HEAD'])).stdout.trim();
  const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as PipelineJson;
  const running = versionsOf(await status(), 'web');
  if (running.join() !== version) throw new Error(`web runs ${running.join(', ')}, not ${version}`);
  const stages = Object.fromEntries(report.stages.map((s) => [s.stage, seconds(s.durationMs)]));
  const canary = report.deployed.find((d) => d.tier === 'web')?.detail ?? '';
  const liveS = seconds(result.liveMs);
  log(`merge to live #${n}: ${liveS} s (${JSON.stringify(stages)}); ${describeLoad(load)}`);
  return { version, liveS, pipelineS: seconds(report.totalMs), stages, canary, load: loadSummary(load) };
}

/**
 * HAProxy's view of the api canary, polled every 500 ms while `work` runs: when a replica that is not
 * one of `old` was first UP with a weight above 0 (first traffic), and when it was next at weight 0 or
 * gone (out of the traffic).
 */
async function watchCanary<T>(old: Set<string>, work: () => Promise<T>) {
  let firstTraffic: number | undefined;
  let outOfTraffic: number | undefined;
  let canaryAddr: string | undefined;
  let running = true;
  const poll = (async () => {
    while (running) {
      const rows = await balancerServers('api').catch(() => []);
      const at = Date.now();
      if (canaryAddr === undefined) {
        const fresh = rows.find(
          (r) => r.addr && !old.has(r.addr.split(':')[0]!) && r.status === 'UP' && Number(r.uweight) > 0,
        );
        if (fresh) {
          canaryAddr = fresh.addr;
          firstTraffic = at;
        }
      } else if (outOfTraffic === undefined) {
        const row = rows.find((r) => r.addr === canaryAddr);
        if (!row || Number(row.uweight) === 0 || row.status !== 'UP') outOfTraffic = at;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    return { result: await work(), firstTraffic, outOfTraffic: () => outOfTraffic };
  } finally {
    running = false;
    await poll;
  }
}

/** (b) One bad api release: from its canary's first traffic until it is out of the traffic. */
async function rejectBadRelease(edge: string, n: number) {
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
  ).catch(() => {
    throw new Error(`${from} has no FAULT_5XX_PERCENT knob: deploy an api built from this tree first`);
  });
  const bad = `bench-bad-${Date.now().toString(36)}`;
  await deriveImage('api', from, bad, { FAULT_5XX_PERCENT: '5' });
  const old = new Set(await Promise.all((await containers('api')).map(ipOf)));
  const deployArgs = ['deploy', '--version', bad, '--tier', 'api', '--canary', `${BAD_CANARY.percent}%`];
  const { result: watched, load } = await underLoad(
    { baseUrl: edge, ratePerSecond: RATE, tag: `bench-bad-${n}` },
    async () => {
      const started = Date.now();
      const w = await watchCanary(old, () => tier([...deployArgs, '--bake', `${BAD_CANARY.bakeS}s`]));
      return { ...w, started, ended: Date.now() };
    },
  );
  const { result, firstTraffic, started, ended } = watched;
  const outOfTraffic = watched.outOfTraffic();
  if (result.code !== 1 || !/rolled-back/.test(result.out)) {
    throw new Error(`the bad release was not rolled back (exit ${result.code}):\n${result.out}`);
  }
  if (firstTraffic === undefined || outOfTraffic === undefined) {
    throw new Error(`the canary was not seen in api-lb (first traffic ${firstTraffic}, out ${outOfTraffic})`);
  }
  const judgement = /canary \S+ failed: [^\n]*/.exec(result.out)?.[0] ?? '';
  const figures = {
    rejectS: seconds(outOfTraffic - firstTraffic),
    removedS: seconds(ended - firstTraffic),
    deployS: seconds(ended - started),
    judgement,
    served500: load.byStatus['500'] ?? 0,
    load: loadSummary(load),
  };
  log(`bad release #${n}: out of the traffic ${figures.rejectS} s after its first; ${describeLoad(load)}`);
  return figures;
}

async function main() {
  const s = await ensureEnvironment();
  const edge = s.endpoints.edge ?? 'http://127.0.0.1:8080';
  const webBefore = versionsOf(s, 'web');
  const clone = await cloneDrivingThisEnvironment();
  const merges: Awaited<ReturnType<typeof mergeToLive>>[] = [];
  const rejects: Awaited<ReturnType<typeof rejectBadRelease>>[] = [];
  try {
    // Bring web to the clone's HEAD first, so each measured run ships exactly its own change.
    const first = await cloneTier(clone, ['pipeline', '--skip-tests', '--tier', 'web']);
    if (first.code !== 0) throw new Error(`the initial pipeline failed:\n${first.out}`);
    for (let n = 1; n <= RUNS; n++) merges.push(await mergeToLive(clone, edge, n));
    for (let n = 1; n <= RUNS; n++) rejects.push(await rejectBadRelease(edge, n));
  } finally {
    await rm(clone, { recursive: true, force: true });
  }
  // The environment is shared: web goes back to what it ran (the bad api releases rolled back by themselves).
  if (webBefore.length === 1) {
    const back = await tier(['deploy', '--version', webBefore[0]!, '--tier', 'web']);
    if (back.code !== 0) log(`web not put back to ${webBefore[0]}: ${back.out.split('\n').slice(-3).join(' | ')}`);
  }
  const results = {
    measuredAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? '',
      kernel: release(),
      loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      engine: ENGINE,
    },
    command: `npm run bench:delivery${RUNS === 3 ? '' : ` (BENCH_RUNS=${RUNS})`}${WITH_TESTS ? ' (BENCH_TESTS=1)' : ''}`,
    loadPerSecond: RATE,
    targets: TARGETS,
    mergeToLive: { medianS: median(merges.map((m) => m.liveS)), runs: merges },
    rejectBadRelease: { medianS: median(rejects.map((r) => r.rejectS)), runs: rejects },
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}delivery.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${RESULTS}delivery.md`, render(results));
  log(`wrote ${RESULTS}delivery.md`);
}

function render(r: {
  measuredAt: string;
  machine: { cpus: number; model: string; kernel: string; loadavg: number[]; engine: string };
  command: string;
  mergeToLive: { medianS: number; runs: Awaited<ReturnType<typeof mergeToLive>>[] };
  rejectBadRelease: { medianS: number; runs: Awaited<ReturnType<typeof rejectBadRelease>>[] };
}): string {
  const ok = (v: number, target: number) => (v <= target ? '✔' : '✖');
  const m = r.mergeToLive;
  const b = r.rejectBadRelease;
  const lines = [
    '# Delivery benchmark (local environment)',
    '',
    `Measured ${r.measuredAt} on ${r.machine.cpus} × ${r.machine.model} (Linux ${r.machine.kernel}, load average`,
    `${r.machine.loadavg.join(' ')} at the end), ${r.machine.engine}, under ~${RATE} req/s through the edge`,
    `(test/e2e/support/load.ts). Command: \`${r.command}\` (bench/delivery/run.ts).`,
    '',
    '| measurement | median | runs | target | |',
    '| --- | --- | --- | --- | --- |',
    `| merge to live, web-only change (commit -> \`tier pipeline${WITH_TESTS ? '' : ' --skip-tests'}\` with its 10 % / 30 s canary -> every web replica on it, smoke passed) | ${m.medianS} s | ${m.runs.map((x) => x.liveS).join(', ')} s | < ${TARGETS.mergeToLiveS} s | ${ok(m.medianS, TARGETS.mergeToLiveS)} |`,
    `| bad api release (5 % 500s), \`--canary ${BAD_CANARY.percent}% --bake ${BAD_CANARY.bakeS}s\`: out of the traffic after its first traffic | ${b.medianS} s | ${b.runs.map((x) => x.rejectS).join(', ')} s | < ${TARGETS.rejectS} s | ${ok(b.medianS, TARGETS.rejectS)} |`,
    '',
    'Merge to live, per stage (s):',
    '',
    '| run | version | changes | test | images | deploy | smoke | total | failed requests | canary |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...m.runs.map(
      (x, i) =>
        `| ${i + 1} | ${x.version} | ${x.stages.changes ?? '-'} | ${x.stages.test ?? '-'} | ${x.stages.images ?? '-'} | ${x.stages.deploy ?? '-'} | ${x.stages.smoke ?? '-'} | ${x.liveS} | ${x.load.failed} of ${x.load.requests} | ${x.canary} |`,
    ),
    '',
    'Bad release, per run:',
    '',
    '| run | out of traffic after first traffic | canary removed (deploy exits) | 500s clients saw | requests | judgement |',
    '| --- | --- | --- | --- | --- | --- |',
    ...b.runs.map(
      (x, i) =>
        `| ${i + 1} | ${x.rejectS} s | ${x.removedS} s | ${x.served500} | ${x.load.requests} | ${x.judgement} |`,
    ),
    '',
    'Notes:',
    `- Merge to live starts at the commit in a throwaway clone that drives this environment (its .env and .tier),`,
    `  and ends when \`tier pipeline\` has finished: every web replica on the version (checked again with \`tier status\`)`,
    `  and the smoke test through the edge passed. ${WITH_TESTS ? 'The test stage ran.' : 'The test stage was skipped: the pull request ran the tests before the merge; BENCH_TESTS=1 includes it.'}`,
    '- First traffic: the first 500 ms poll of `show stat` on api-lb with the new replica UP at its canary weight; out',
    '  of the traffic: the first poll with its weight 0 or its slot gone. Both are ±0.5 s.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

await main();
