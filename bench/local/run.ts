// Benchmarks of the local environment: image sizes, warm `tier up` to all-healthy,
// container start-to-ready, and throughput / latency of / and /api/status through the edge versus
// straight to one replica. Writes bench/results/local.md. Run: npx tsx bench/local/run.ts
// (brings the environment up if needed; leaves it running).
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalBackend, listContainers, PROJECT, type Progress, readSettings } from '@tier/cli';
import autocannon from 'autocannon';

const exec = promisify(execFile);
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

const silent: Progress = {
  step: (m) => console.error(`# ${m}`),
  info: () => {},
  done: () => {},
  warn: (m) => console.error(`# ${m}`),
};
const backend = new LocalBackend();
const lines: string[] = [];
const out = (l = '') => {
  lines.push(l);
  console.log(l);
};

await backend.up(silent);
const engine = await backend.engine();
const cli = async (...args: string[]) => (await exec(engine.cli, args, { maxBuffer: 1 << 26 })).stdout.trim();

// Warm `tier up`: everything built, containers removed (volumes kept), then up to all-healthy.
await backend.down(silent, { volumes: false });
let t = performance.now();
await backend.up(silent);
const warmUpS = (performance.now() - t) / 1000;
t = performance.now();
await backend.up(silent);
const noopUpS = (performance.now() - t) / 1000;

const settings = await readSettings(backend.paths);
out('# Local environment benchmarks');
out();
out(
  `Machine: ${(await exec('nproc')).stdout.trim()} cores, ${engine.kind}; ${new Date().toISOString()}; version ${settings.APP_VERSION}`,
);
out();
out('## Image sizes');
out();
out('| image | size |');
out('|---|---|');
for (const key of ['WEB_IMAGE', 'API_IMAGE', 'DB_IMAGE', 'LB_IMAGE', 'EDGE_IMAGE', 'METRICS_IMAGE', 'LOGS_IMAGE']) {
  const ref = settings[key] ?? '';
  const size = Number(await cli('image', 'inspect', '--format', '{{.Size}}', ref));
  out(`| ${ref} | ${(size / 1e6).toFixed(1)} MB |`);
}
out();
out('## Start-up');
out();
out(`- \`tier up\` on a warm machine (images built, containers removed) to all-healthy: **${warmUpS.toFixed(1)} s**`);
out(`- \`tier up\` again with everything running (idempotent no-op): ${noopUpS.toFixed(1)} s`);

// Container start-to-ready: a fresh web container, from \`run\` to /readyz answering 200.
const readyTimes: number[] = [];
const processTimes: number[] = [];
for (let i = 0; i < 5; i++) {
  const name = `bench-ready-${process.pid}-${i}`;
  const started = performance.now();
  await cli(
    'run',
    '-d',
    '--name',
    name,
    '--read-only',
    '--tmpfs',
    '/tmp',
    '-p',
    '127.0.0.1:19109:9100',
    '-e',
    'API_HOST=http://127.0.0.1:9',
    settings.WEB_IMAGE ?? '',
  );
  for (;;) {
    const ok = await fetch('http://127.0.0.1:19109/readyz').then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  readyTimes.push(performance.now() - started);
  const startedAt = Date.parse(await cli('inspect', '--format', '{{.State.StartedAt}}', name));
  const logs = await cli('logs', name);
  const listening = logs
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as { msg?: string; time?: string };
      } catch {
        return {};
      }
    })
    .find((l) => l.msg === 'listening');
  if (listening?.time) processTimes.push(Date.parse(listening.time) - startedAt);
  await cli('rm', '-f', name);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
out(
  `- container start to ready (web; \`run\` to /readyz 200, median of 5): **${median(readyTimes).toFixed(0)} ms** (process start to listening: ${median(processTimes).toFixed(0)} ms)`,
);

// Throughput and latency: through the edge (edge -> balancer -> replica [-> api-lb -> api -> db])
// versus straight to one replica through a socat port-forward on the app network.
const containers = await listContainers(engine.api);
const web = containers.find((c) => c.service === 'web' && c.running);
const api = containers.find((c) => c.service === 'api' && c.running);
const lbImage = settings.LB_IMAGE ?? '';
const forwards: string[] = [];
async function forward(port: number, target: string): Promise<string> {
  const name = `bench-fwd-${process.pid}-${port}`;
  await cli(
    'run',
    '-d',
    '--name',
    name,
    '--network',
    `${PROJECT}_app`,
    '-p',
    `127.0.0.1:${port}:9000`,
    '--user',
    'root',
    lbImage,
    'socat',
    'TCP-LISTEN:9000,fork,reuseaddr',
    `TCP:${target}`,
  );
  forwards.push(name);
  await new Promise((r) => setTimeout(r, 500));
  return `http://127.0.0.1:${port}`;
}
const directWeb = await forward(19180, `${web?.addresses.app}:3000`);
const directApi = await forward(19181, `${api?.addresses.app}:3000`);

async function load(url: string) {
  await autocannon({ url, connections: CONNECTIONS, duration: 2 }); // warm-up
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}
out();
out(`## Throughput and latency (autocannon, ${CONNECTIONS} connections, ${DURATION_S} s, from the host)`);
out();
out('| path | via | req/s | p50 ms | p99 ms | errors + non-2xx |');
out('|---|---|---|---|---|---|');
const edge = `http://127.0.0.1:${settings.EDGE_PORT}`;
for (const [path, direct] of [
  ['/', directWeb],
  ['/api/status', directApi],
] as const) {
  for (const [via, base] of [
    ['edge', edge],
    ['one replica (direct)', direct],
  ] as const) {
    const r = await load(`${base}${path}`);
    out(`| ${path} | ${via} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} |`);
  }
}
for (const f of forwards) await cli('rm', '-f', f);
out();
out('Direct = a socat port-forward to one replica on the app network (the replicas publish no port);');
out('through the edge = Varnish -> HAProxy -> replica (the page also calls api-lb -> api -> db).');
out('The machine is shared (other builds and tests may run at the same time): compare rows of one run.');

await mkdir(join(backend.paths.root, 'bench/results'), { recursive: true });
await writeFile(join(backend.paths.root, 'bench/results/local.md'), `${lines.join('\n')}\n`);
