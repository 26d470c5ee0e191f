// What the containerised stack costs (`npm run bench:stack`): in one run, interleaved, the ceiling (bare
// node:http + one pg pool), the API process alone on the host logging to a file as in production, the API
// through its balancer, through the edge, and the page through the edge and straight from one web replica.
// Each as a ratio of its baseline, with p50/p99, the CPU share of every container under the edge loads, and
// whether the central log store holds one API line per request served (and how long shipping took). The hop
// floor: the ceiling behind the same proxies with nothing in them (the balancer's and the edge's images, host
// network, no logging, every request passed), which shows what the hops alone cost on this machine.
// Writes bench/results/stack.md and stack.json. Needs root's podman (`tier up` runs first) and PostgreSQL.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LocalBackend, listContainers, PROJECT, type Progress, readSettings } from '@tier/cli';
import autocannon from 'autocannon';
import { freePort, startPostgres } from '../../test/support/postgres.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = 3;
const GOALS = { apiEdgeToCeiling: 0.4, apiEdgeP99Ms: 40, pageEdgeToDirect: 0.5, apiAloneToCeiling: 0.8 } as const;

type Id = 'ceiling' | 'hopsLb' | 'hopsEdge' | 'apiAlone' | 'apiLb' | 'apiEdge' | 'pageEdge' | 'pageDirect';
interface Target {
  readonly id: Id;
  readonly name: string;
  readonly url: string;
  /** Requests to this target are logged by the API in the central store (their id is counted there). */
  readonly shipped: boolean;
}
interface Sample {
  readonly reqPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  readonly failed: number;
  readonly requestId: string;
}

const log = (m: string) => process.stderr.write(`[bench:stack] ${m}\n`);
const quiet: Progress = { step: (m) => log(m), info: () => {}, done: () => {}, warn: (m) => log(m) };
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

const children: ChildProcess[] = [];
function startProcess(args: string[], env: Record<string, string>, stdoutFile?: string): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    // The file itself as stdout, as a container's stdout is the engine's: piped through this process,
    // the writes cost the load generator's core too.
    stdio: ['ignore', stdoutFile ? openSync(stdoutFile, 'w') : 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function waitUntilAnswering(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if ((await fetch(url).catch(() => undefined))?.ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function load(url: string, seconds: number, requestId: string): Promise<Sample> {
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'x-request-id': requestId },
  });
  return {
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ok: r['2xx'],
    failed: r.non2xx + r.errors + r.timeouts,
    requestId,
  };
}

async function main(): Promise<void> {
  for (const app of ['apps/api', 'apps/web']) {
    const built = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-b', app], { cwd: ROOT });
    if (built.status !== 0) throw new Error(`${app} does not build`);
  }
  const backend = new LocalBackend();
  await backend.up(quiet);
  const engine = await backend.engine();
  const cli = async (...args: string[]) => (await exec(engine.cli, args, { maxBuffer: 1 << 28 })).stdout.trim();
  const settings = await readSettings(backend.paths);

  log('starting a throwaway PostgreSQL for the host-side targets');
  const db = await startPostgres();
  /** The bench's own containers (the forward, the hop floor's proxies), removed at the end. */
  const benchContainers: string[] = [];
  try {
    const migrate = spawnSync(process.execPath, ['apps/api/dist/migrate.js'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...db.env(), LOG_LEVEL: 'warn' },
    });
    if (migrate.status !== 0) throw new Error(`migrate failed: ${migrate.stderr}`);
    const [apiPort, apiAdmin, ceilingPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const logFile = join(mkdtempSync(join(tmpdir(), 'bench-stack-')), 'api.log');
    // As deployed: request logs at info, written out (here to a file, as the container's stdout is).
    startProcess(
      ['apps/api/dist/server.js'],
      { ...db.env(), HOST: '127.0.0.1', PORT: String(apiPort), ADMIN_PORT: String(apiAdmin), APP_VERSION: 'bench' },
      logFile,
    );
    startProcess(['--import', 'tsx', 'bench/app/ceiling.ts'], { ...db.env(), PORT: String(ceilingPort) });

    // One web replica straight, through a forward on the app network (the replicas publish no port).
    const web = (await listContainers(engine.api)).find((c) => c.service === 'web' && c.running);
    if (!web) throw new Error('no running web replica');
    const forwardPort = await freePort();
    const forward = `bench-stack-fwd-${process.pid}`;
    await cli(
      ...['run', '-d', '--name', forward, '--network', `${PROJECT}_app`, '-p', `127.0.0.1:${forwardPort}:9000`],
      ...['--user', 'root', settings.LB_IMAGE ?? '', 'socat', 'TCP-LISTEN:9000,fork,reuseaddr'],
      `TCP:${web.addresses.app}:3000`,
    );
    benchContainers.push(forward);

    const [bareLbPort, bareEdgePort] = [await freePort(), await freePort()];
    for (const proxy of bareProxies(settings, ceilingPort, bareLbPort, bareEdgePort)) {
      benchContainers.push(proxy.name);
      await cli(...proxy.args);
    }

    const edge = `http://127.0.0.1:${settings.EDGE_PORT ?? '8080'}`;
    const targets: Target[] = [
      {
        id: 'ceiling',
        name: 'ceiling: node:http + one pg pool',
        url: `http://127.0.0.1:${ceilingPort}/`,
        shipped: false,
      },
      {
        id: 'hopsLb',
        name: 'ceiling through a bare HAProxy',
        url: `http://127.0.0.1:${bareLbPort}/`,
        shipped: false,
      },
      {
        id: 'hopsEdge',
        name: 'ceiling through a bare Varnish and HAProxy',
        url: `http://127.0.0.1:${bareEdgePort}/`,
        shipped: false,
      },
      {
        id: 'apiAlone',
        name: 'API process alone, logging to a file',
        url: `http://127.0.0.1:${apiPort}/api/status`,
        shipped: false,
      },
      {
        id: 'apiLb',
        name: 'API through its balancer',
        url: `http://127.0.0.1:${settings.API_PORT ?? '8081'}/api/status`,
        shipped: true,
      },
      { id: 'apiEdge', name: 'API through the edge', url: `${edge}/api/status`, shipped: true },
      { id: 'pageEdge', name: 'page through the edge', url: `${edge}/`, shipped: true },
      { id: 'pageDirect', name: 'page from one web replica', url: `http://127.0.0.1:${forwardPort}/`, shipped: true },
    ];
    for (const t of targets) await waitUntilAnswering(t.url);
    log(`warming up each target for ${WARMUP_S} s`);
    for (const t of targets) await load(t.url, WARMUP_S, `bench-warmup-${t.id}`);

    const stamp = Date.now().toString(36);
    const samples = new Map<Id, Sample[]>(targets.map((t) => [t.id, []]));
    const cpu: Partial<Record<Id, Record<string, number>>> = {};
    for (let run = 1; run <= RUNS; run++) {
      for (const t of targets) {
        const measureCpu = run === 1 && (t.id === 'apiEdge' || t.id === 'pageEdge');
        const before = measureCpu ? await containerCpuNanos(cli) : undefined;
        const startedAt = performance.now();
        const s = await load(t.url, DURATION_S, `bench-${stamp}-${t.id}-${run}`);
        if (before) {
          const after = await containerCpuNanos(cli);
          const wallNs = (performance.now() - startedAt) * 1e6;
          cpu[t.id] = Object.fromEntries(
            Object.entries(after).map(([c, ns]) => [c, round((100 * (ns - (before[c] ?? 0))) / wallNs, 1)]),
          );
        }
        samples.get(t.id)!.push(s);
        log(
          `run ${run}/${RUNS} ${t.name}: ${round(s.reqPerSec, 0)} req/s, p50 ${s.p50} ms, p99 ${s.p99} ms, ${s.failed} failed`,
        );
      }
    }

    // Every API request served must be a line in the central store: count the API's lines per request id.
    const ended = Date.now();
    const expected = targets
      .filter((t) => t.shipped && t.id !== 'pageEdge' && t.id !== 'pageDirect')
      .flatMap((t) => samples.get(t.id)!.map((s) => ({ id: s.requestId, ok: s.ok })));
    let shipped: Record<string, number> = {};
    let lagMs = Number.NaN;
    for (;;) {
      shipped = await apiLinesPerId(cli, `bench-${stamp}-`);
      if (expected.every((e) => (shipped[e.id] ?? 0) >= e.ok)) {
        lagMs = Date.now() - ended;
        break;
      }
      if (Date.now() - ended > 60_000) break;
      await new Promise((r) => setTimeout(r, 1000));
    }

    const rows = targets.map((t) => {
      const runs = samples.get(t.id)!;
      return {
        id: t.id,
        name: t.name,
        reqPerSec: round(median(runs.map((s) => s.reqPerSec)), 0),
        p50Ms: median(runs.map((s) => s.p50)),
        p99Ms: median(runs.map((s) => s.p99)),
        failed: runs.reduce((n, s) => n + s.failed, 0),
        runs,
      };
    });
    const by = (id: Id) => rows.find((r) => r.id === id)!;
    const ceiling = by('ceiling').reqPerSec;
    const ratios = {
      apiAloneToCeiling: round(by('apiAlone').reqPerSec / ceiling, 3),
      apiLbToCeiling: round(by('apiLb').reqPerSec / ceiling, 3),
      apiEdgeToCeiling: round(by('apiEdge').reqPerSec / ceiling, 3),
      hopsLbToCeiling: round(by('hopsLb').reqPerSec / ceiling, 3),
      hopsEdgeToCeiling: round(by('hopsEdge').reqPerSec / ceiling, 3),
      apiLbToHops: round(by('apiLb').reqPerSec / by('hopsLb').reqPerSec, 3),
      apiEdgeToHops: round(by('apiEdge').reqPerSec / by('hopsEdge').reqPerSec, 3),
      pageEdgeToDirect: round(by('pageEdge').reqPerSec / by('pageDirect').reqPerSec, 3),
    };
    const logLines = {
      served: expected.reduce((n, e) => n + e.ok, 0),
      stored: expected.reduce((n, e) => n + Math.min(shipped[e.id] ?? 0, e.ok), 0),
      lagMs,
    };
    const report = {
      command: 'npm run bench:stack',
      settings: { connections: CONNECTIONS, runs: RUNS, durationSeconds: DURATION_S, warmupSeconds: WARMUP_S },
      machine: {
        cores: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        loadAverageAtStart: loadavg().map((l) => round(l, 2)),
        engine: engine.kind,
        version: settings.APP_VERSION,
        date: new Date().toISOString(),
      },
      goals: GOALS,
      results: rows,
      ratios,
      cpuPercentByContainer: cpu,
      logLines,
    };
    mkdirSync(RESULTS, { recursive: true });
    // The run this one replaces, kept beside it: a change to the stack shows as before and after.
    const previous = previousRun(`${RESULTS}stack.json`);
    Object.assign(report, { previous });
    writeFileSync(`${RESULTS}stack.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${RESULTS}stack.md`, markdown(report));
    process.stdout.write(markdown(report));
  } finally {
    for (const c of benchContainers) await cli('rm', '-f', c).catch(() => undefined);
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await db.destroy();
  }
}

/**
 * The hop floor's two proxies, each a container name and its `run` arguments, on the host's network (no NAT): a bare HAProxy in front of the
 * ceiling, and a bare Varnish (every request passed) in front of that HAProxy, from the stack's own images.
 */
function bareProxies(settings: Record<string, string>, ceilingPort: number, lbPort: number, edgePort: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-stack-hops-'));
  chmodSync(dir, 0o755); // read by the images' own users
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    [
      'defaults',
      '  mode http',
      '  option http-keep-alive',
      '  timeout connect 2s',
      '  timeout client 70s',
      '  timeout server 30s',
      'frontend public',
      `  bind 127.0.0.1:${lbPort}`,
      '  default_backend ceiling',
      'backend ceiling',
      `  server ceiling 127.0.0.1:${ceilingPort}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'default.vcl'),
    `vcl 4.1;\nbackend lb { .host = "127.0.0.1"; .port = "${lbPort}"; }\nsub vcl_recv { return (pass); }\n`,
  );
  const proxy = (what: string, image: string | undefined, command: string[]) => {
    const name = `bench-stack-${what}-${process.pid}`;
    return {
      name,
      args: [
        'run',
        '-d',
        '--rm',
        '--network',
        'host',
        '-v',
        `${dir}:/bench:ro`,
        '--name',
        name,
        image ?? '',
        ...command,
      ],
    };
  };
  return [
    proxy('bare-lb', settings.LB_IMAGE, ['haproxy', '-db', '-f', '/bench/haproxy.cfg']),
    proxy('bare-edge', settings.EDGE_IMAGE, [
      ...['varnishd', '-F', '-j', 'none', '-n', '/tmp/varnish', '-a', `127.0.0.1:${edgePort}`],
      ...['-f', '/bench/default.vcl', '-s', 'malloc,64m'],
    ]),
  ];
}

interface PreviousRun {
  readonly version: unknown;
  readonly date: unknown;
  readonly ratios: Record<string, number>;
  readonly apiEdgeP99Ms: number | undefined;
  readonly cpuApiEdge: Record<string, number>;
}

/** The figures of the run in `file` (its own previous run is dropped, so the file keeps one). */
export function previousRun(file: string): PreviousRun | undefined {
  if (!existsSync(file)) return undefined;
  const old = JSON.parse(readFileSync(file, 'utf8')) as {
    machine: { version?: unknown; date?: unknown };
    ratios: Record<string, number>;
    results: Array<{ id: string; p99Ms: number }>;
    cpuPercentByContainer: Partial<Record<Id, Record<string, number>>>;
  };
  return {
    version: old.machine.version,
    date: old.machine.date,
    ratios: old.ratios,
    apiEdgeP99Ms: old.results.find((r) => r.id === 'apiEdge')?.p99Ms,
    cpuApiEdge: old.cpuPercentByContainer.apiEdge ?? {},
  };
}

/** CPU time each project container has used so far (ns), by service and number: two readings give a run's share. */
async function containerCpuNanos(cli: (...a: string[]) => Promise<string>): Promise<Record<string, number>> {
  const out = await cli('stats', '--no-stream', '--format', '{{.Name}}\t{{.CPUNano}}');
  const used: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const [name, ns] = line.split('\t');
    if (name?.startsWith(`${PROJECT}_`)) used[name.slice(PROJECT.length + 1)] = Number(ns);
  }
  return used;
}

/** The API's request lines in the central store, counted per request id (ids starting with `prefix`). */
async function apiLinesPerId(
  cli: (...a: string[]) => Promise<string>,
  prefix: string,
): Promise<Record<string, number>> {
  const script = `cat /var/log/central/*.jsonl | grep -F -- '${prefix}' | grep -F '"tier":"api"' | grep -o '${prefix}[A-Za-z0-9-]*' | sort | uniq -c`;
  const out = await cli('exec', `${PROJECT}_logs_1`, 'sh', '-c', script).catch(() => '');
  const counts: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const m = line.trim().match(/^(\d+)\s+(\S+)$/);
    if (m) counts[m[2]!] = (counts[m[2]!] ?? 0) + Number(m[1]);
  }
  return counts;
}

/** The report as Markdown; also re-rendered from a stack.json by importing this file. */
export function markdown(r: {
  settings: { connections: number; runs: number; durationSeconds: number; warmupSeconds: number };
  machine: Record<string, unknown>;
  goals: typeof GOALS;
  results: Array<{ name: string; reqPerSec: number; p50Ms: number; p99Ms: number; failed: number }>;
  ratios: Record<string, number>;
  cpuPercentByContainer: Partial<Record<Id, Record<string, number>>>;
  logLines: { served: number; stored: number; lagMs: number };
  previous?: PreviousRun;
}): string {
  const m = r.machine;
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const api = r.results.find((x) => x.name === 'API through the edge')!;
  const cpuRows = Object.entries(r.cpuPercentByContainer).flatMap(([id, byContainer]) =>
    Object.entries(byContainer ?? {})
      .sort((a, b) => b[1] - a[1])
      .map(([c, p]) => `| ${id === 'apiEdge' ? '/api/status' : '/'} through the edge | ${c} | ${p.toFixed(1)} |`),
  );
  return `# Stack benchmark: what the containerised environment costs

Reproduce: \`npm ci && npx tier up && npm run bench:stack\` (root's podman; PostgreSQL from scripts/install-deps.sh).

Machine: ${m.cpuModel}, ${m.cores} cores, load average at start ${String(m.loadAverageAtStart)}; ${m.engine}; version
${m.version}; ${m.date}. Load generator, stack and host-side servers share these cores: compare ratios, not absolutes.

Method: autocannon, ${r.settings.connections} connections; ${r.settings.warmupSeconds} s warm-up per target, then ${r.settings.runs} interleaved runs of
${r.settings.durationSeconds} s; medians. Production settings everywhere: every request logged at info (the host-side API to
a file, the containers through the log shipper to the central store). The ceiling and the host-side API use a
throwaway PostgreSQL on loopback; the stack uses its own database container.

| target | req/s (median) | p50 ms | p99 ms | failed |
|---|---:|---:|---:|---:|
${r.results.map((x) => `| ${x.name} | ${x.reqPerSec} | ${x.p50Ms} | ${x.p99Ms} | ${x.failed} |`).join('\n')}

| ratio | value | goal |
|---|---:|---|
| API alone / ceiling | ${r.ratios.apiAloneToCeiling} | >= ${r.goals.apiAloneToCeiling}: ${met(r.ratios.apiAloneToCeiling! >= r.goals.apiAloneToCeiling)} |
| API through its balancer / ceiling | ${r.ratios.apiLbToCeiling} | - |
| API through the edge / ceiling | ${r.ratios.apiEdgeToCeiling} | >= ${r.goals.apiEdgeToCeiling}: ${met(r.ratios.apiEdgeToCeiling! >= r.goals.apiEdgeToCeiling)} |
| hop floor: ceiling through a bare HAProxy / ceiling | ${r.ratios.hopsLbToCeiling ?? '-'} | - |
| hop floor: ceiling through a bare Varnish and HAProxy / ceiling | ${r.ratios.hopsEdgeToCeiling ?? '-'} | - |
| API through its balancer / its hop floor | ${r.ratios.apiLbToHops ?? '-'} | - |
| API through the edge / its hop floor | ${r.ratios.apiEdgeToHops ?? '-'} | - |
| API through the edge, p99 | ${api.p99Ms} ms | <= ${r.goals.apiEdgeP99Ms} ms: ${met(api.p99Ms <= r.goals.apiEdgeP99Ms)} |
| page through the edge / page from one replica | ${r.ratios.pageEdgeToDirect} | >= ${r.goals.pageEdgeToDirect}: ${met(r.ratios.pageEdgeToDirect! >= r.goals.pageEdgeToDirect)} |

The hop floor is the ceiling behind the same proxies with nothing in them (the stack's HAProxy and Varnish
images on the host network: no NAT, no logging, no health checks, every request passed). It is what the
hops alone cost on this machine: a goal for the edge path above the floor's ratio cannot be met by making the
stack leaner, only by fewer hops or more cores; "its hop floor" ratios say how close the stack comes to it.

Log lines: ${r.logLines.stored} of ${r.logLines.served} API requests served through the balancer and the edge are lines in the
central store${Number.isNaN(r.logLines.lagMs) ? ' (not all within 60 s of the end)' : `, all within ${(r.logLines.lagMs / 1000).toFixed(1)} s of the end`}.

CPU by container over the first run of each edge load (its CPU time over the run's wall time; 100 = one core):

| load | container | CPU % |
|---|---|---:|
${cpuRows.join('\n')}
${r.previous ? beforeAndAfter(r.previous, r.ratios, api.p99Ms, r.cpuPercentByContainer.apiEdge ?? {}) : ''}`;
}

function beforeAndAfter(
  before: PreviousRun,
  ratios: Record<string, number>,
  p99Ms: number,
  cpu: Record<string, number>,
): string {
  const ratioRows = [
    ['API alone / ceiling', 'apiAloneToCeiling'],
    ['API through its balancer / ceiling', 'apiLbToCeiling'],
    ['API through the edge / ceiling', 'apiEdgeToCeiling'],
    ['page through the edge / page from one replica', 'pageEdgeToDirect'],
  ].map(([name, key]) => `| ${name} | ${before.ratios[key!] ?? '-'} | ${ratios[key!] ?? '-'} |`);
  // By service (replicas summed): a rollout between the runs renumbers the containers.
  const byService = (shares: Record<string, number>) => {
    const sums: Record<string, number> = {};
    for (const [c, p] of Object.entries(shares)) {
      const service = c.replace(/_\d+$/, '');
      sums[service] = round((sums[service] ?? 0) + p, 1);
    }
    return sums;
  };
  const [was, now] = [byService(before.cpuApiEdge), byService(cpu)];
  const services = [...new Set([...Object.keys(was), ...Object.keys(now)])]
    .filter((c) => (was[c] ?? 0) >= 1 || (now[c] ?? 0) >= 1)
    .sort((a, b) => (now[b] ?? 0) - (now[a] ?? 0));
  const cpuRows = services.map(
    (c) => `| CPU % of ${c} (all replicas) under /api/status through the edge | ${was[c] ?? '-'} | ${now[c] ?? '-'} |`,
  );
  return `
## Against the run this one replaced

Before: version ${before.version}, ${before.date}. Each run has its own ceiling: compare ratios and shares.

| figure | before | this run |
|---|---:|---:|
${ratioRows.join('\n')}
| API through the edge, p99 ms | ${before.apiEdgeP99Ms ?? '-'} | ${p99Ms} |
${cpuRows.join('\n')}
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
