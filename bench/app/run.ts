// Benchmark of the application tiers (`npm run bench:app`): throwaway PostgreSQL, migrated and seeded,
// the built API (and web tier), and a bare node:http + pg ceiling, each loaded by autocannon at 32
// connections over several interleaved runs. Writes bench/results/app.md and app.json.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort, startPostgres } from '../../test/support/postgres.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
const CONNECTIONS = 32;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const WARMUP_S = 3;
/** node-3tier-app2 measured on this kind of machine: a new pool per request. */
const ORIGINAL = { scram: 35, md5: 260 } as const;
const TARGETS = { timesOriginalScram: 100, shareOfCeiling: 0.7, p99Ms: 20 } as const;

interface Target {
  readonly name: string;
  readonly url: string;
}
interface Sample {
  readonly reqPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function build(project: string): boolean {
  const result = spawnSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-b', project], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (result.status !== 0) log(`build of ${project} failed:\n${result.stdout}${result.stderr}`);
  return result.status === 0;
}

const children: ChildProcess[] = [];
function startProcess(args: string[], env: Record<string, string>): ChildProcess {
  // stdout to /dev/null: the tiers log every request at info, as in production, and nobody waits on a pipe.
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function waitUntilAnswering(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    if (res?.ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function load(url: string, seconds: number): Promise<Sample> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 });
  return {
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  for (const app of ['apps/api', 'apps/web']) if (!build(app)) throw new Error(`${app} does not build`);

  log('starting a throwaway PostgreSQL');
  const db = await startPostgres();
  try {
    const migrate = spawnSync(process.execPath, ['apps/api/dist/migrate.js'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...db.env(), LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    if (migrate.status !== 0) throw new Error(`migrate failed: ${migrate.stderr}`);
    const seed = await db.superuserClient();
    await seed.query(
      "INSERT INTO messages (author, text) SELECT 'bench ' || g, 'seeded message number ' || g FROM generate_series(1, 500) g",
    );
    const pgVersion = (await seed.query('SHOW server_version')).rows[0].server_version as string;
    await seed.end();

    const [apiPort, apiAdmin, webPort, webAdmin, ceilingPort] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    startProcess(['apps/api/dist/server.js'], {
      ...db.env(),
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      ADMIN_PORT: String(apiAdmin),
      APP_VERSION: 'bench',
    });
    startProcess(['--import', 'tsx', 'bench/app/ceiling.ts'], { ...db.env(), PORT: String(ceilingPort) });
    const targets: Target[] = [
      { name: 'ceiling: node:http + pg, SELECT now()', url: `http://127.0.0.1:${ceilingPort}/api/status` },
      { name: 'api: GET /api/status', url: `http://127.0.0.1:${apiPort}/api/status` },
      { name: 'api: GET /api/messages', url: `http://127.0.0.1:${apiPort}/api/messages` },
    ];
    startProcess(['apps/web/dist/server.js'], {
      HOST: '127.0.0.1',
      PORT: String(webPort),
      ADMIN_PORT: String(webAdmin),
      API_HOST: `http://127.0.0.1:${apiPort}`,
      APP_VERSION: 'bench',
    });
    targets.push({ name: 'web: GET /', url: `http://127.0.0.1:${webPort}/` });
    for (const target of targets) await waitUntilAnswering(target.url);

    log(`warming up each target for ${WARMUP_S} s`);
    for (const target of targets) await load(target.url, WARMUP_S);

    // Interleaved runs: drift in the machine's load (it is shared) hits every target alike.
    const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
    for (let run = 1; run <= RUNS; run++) {
      for (const target of targets) {
        const sample = await load(target.url, DURATION_S);
        samples.get(target.name)!.push(sample);
        log(
          `run ${run}/${RUNS} ${target.name}: ${round(sample.reqPerSec, 0)} req/s, p50 ${sample.p50} ms, p99 ${sample.p99} ms`,
        );
      }
    }

    const rows = targets.map((target) => {
      const runs = samples.get(target.name)!;
      return {
        name: target.name,
        reqPerSec: round(median(runs.map((s) => s.reqPerSec)), 0),
        p50Ms: median(runs.map((s) => s.p50)),
        p99Ms: median(runs.map((s) => s.p99)),
        non2xx: runs.reduce((sum, s) => sum + s.non2xx, 0),
        errors: runs.reduce((sum, s) => sum + s.errors, 0),
        runs,
      };
    });
    const ceiling = rows[0]!;
    const status = rows[1]!;
    const ratios = {
      statusToCeiling: round(status.reqPerSec / ceiling.reqPerSec, 3),
      statusToOriginalScram: round(status.reqPerSec / ORIGINAL.scram, 0),
      statusToOriginalMd5: round(status.reqPerSec / ORIGINAL.md5, 1),
    };
    const verdict = {
      atLeast100xOriginal: ratios.statusToOriginalScram >= TARGETS.timesOriginalScram,
      atLeast70PercentOfCeiling: ratios.statusToCeiling >= TARGETS.shareOfCeiling,
      p99Under20ms: status.p99Ms < TARGETS.p99Ms,
    };
    const cpu = cpus();
    const machine = {
      cpuModel: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      loadAverageAtStart: loadavg().map((l) => round(l, 2)),
      node: process.version,
      postgres: pgVersion,
      date: new Date().toISOString(),
    };
    const report = {
      command: 'npm run bench:app',
      settings: { connections: CONNECTIONS, runs: RUNS, durationSeconds: DURATION_S, warmupSeconds: WARMUP_S },
      machine,
      original: ORIGINAL,
      targets: TARGETS,
      results: rows,
      ratios,
      verdict,
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(`${RESULTS}app.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${RESULTS}app.md`, markdown(report));
    log(`report written to bench/results/app.md and app.json`);
    process.stdout.write(markdown(report));
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await db.destroy();
  }
}

function markdown(r: {
  settings: { connections: number; runs: number; durationSeconds: number; warmupSeconds: number };
  machine: Record<string, unknown>;
  results: Array<{ name: string; reqPerSec: number; p50Ms: number; p99Ms: number; non2xx: number; errors: number }>;
  ratios: { statusToCeiling: number; statusToOriginalScram: number; statusToOriginalMd5: number };
  verdict: Record<string, boolean>;
}): string {
  const m = r.machine;
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
  return `# Application benchmark

Reproduce: \`npm ci && npm run bench:app\` (needs the Debian \`postgresql\` package; see scripts/install-deps.sh).

Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, load average at start ${String(m.loadAverageAtStart)};
Node ${m.node}; PostgreSQL ${m.postgres} (throwaway cluster on loopback, SCRAM auth, fsync off); ${m.date}.
The load generator, the servers and PostgreSQL share these cores, so absolute figures are a floor.

Method: autocannon, ${r.settings.connections} connections, no pipelining; ${r.settings.warmupSeconds} s warm-up per target,
then ${r.settings.runs} interleaved runs of ${r.settings.durationSeconds} s; medians of the runs. The API runs its built
\`dist/server.js\` with default settings (pool of 10, request logs at info to /dev/null). The ceiling is a bare
\`node:http\` server answering the same \`SELECT now()\` (same prepared statement, same pool size) with the same JSON.
GET /api/messages returns the first page (20 of 500 seeded rows).

| target | req/s (median) | p50 ms | p99 ms | non-2xx | errors |
|---|---:|---:|---:|---:|---:|
${r.results.map((x) => `| ${x.name} | ${x.reqPerSec} | ${x.p50Ms} | ${x.p99Ms} | ${x.non2xx} | ${x.errors} |`).join('\n')}

| GET /api/status compared with | ratio | target |
|---|---:|---|
| the ceiling (bare node:http + pg) | ${r.ratios.statusToCeiling} | >= 0.7: ${mark(r.verdict.atLeast70PercentOfCeiling!)} |
| original node-3tier-app2, SCRAM (~35 req/s) | ${r.ratios.statusToOriginalScram}x | >= 100x: ${mark(r.verdict.atLeast100xOriginal!)} |
| original node-3tier-app2, md5 (~260 req/s) | ${r.ratios.statusToOriginalMd5}x | - |
| p99 at 32 connections | ${r.results[1]!.p99Ms} ms | < 20 ms: ${mark(r.verdict.p99Under20ms!)} |
`;
}

await main();
