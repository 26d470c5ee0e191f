// The original app's way of running: both tiers started with `npm start` on one host, only PORT set
// (plus the DB and API_HOST settings the original needs), run side by side on their default admin ports.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, type PostgresCluster, startPostgres } from '../../../test/support/postgres.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface NpmProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | string>;
}

/** `npm <args>` at the repository root with only `env` (and PATH, HOME for npm itself). */
function npm(args: string[], env: Record<string, string>): NpmProcess {
  // Its own process group: npm runs a shell that runs node, and all three are stopped together.
  const child = spawn(NPM, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return { child, output: () => output, exited };
}

async function stop(proc: NpmProcess | undefined): Promise<void> {
  if (!proc?.child.pid || proc.child.exitCode !== null) return;
  process.kill(-proc.child.pid, 'SIGTERM');
  await proc.exited;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

async function answers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (res) => res.ok,
    () => false,
  );
}

/** Waits until every URL answers 200; fails as soon as a process exits, with its output. */
async function untilServing(procs: Record<string, NpmProcess>, urls: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (const [name, proc] of Object.entries(procs)) {
      if (proc.child.exitCode !== null) assert.fail(`${name} exited (${proc.child.exitCode}):\n${proc.output()}`);
    }
    if ((await Promise.all(urls.map(answers))).every(Boolean)) return;
    if (Date.now() > deadline) assert.fail(`not serving within 60 s: ${urls.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

let db: PostgresCluster;
let api: NpmProcess | undefined;
let web: NpmProcess | undefined;

before(async () => {
  // `npm start` runs dist/: build it as the README's `npm run build` does (incremental, fast when current).
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-b', 'apps/api', 'apps/web'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  db = await startPostgres();
});

after(async () => {
  await Promise.all([stop(web), stop(api)]);
  await db?.destroy();
});

test('npm start -w apps/api and -w apps/web run side by side with only PORT set, on admin ports 9101 and 9102', async () => {
  for (const port of [9101, 9102]) {
    assert.ok(await portIsFree(port), `port ${port} is taken by something else on this host; the test needs it`);
  }
  const [apiPort, webPort] = [await freePort(), await freePort()];
  const migrate = npm(['run', 'migrate', '-w', 'apps/api'], db.env());
  assert.equal(await migrate.exited, 0, migrate.output());

  api = npm(['start', '-w', 'apps/api'], { PORT: String(apiPort), ...db.env() });
  web = npm(['start', '-w', 'apps/web'], { PORT: String(webPort), API_HOST: `http://127.0.0.1:${apiPort}` });

  await untilServing({ api, web }, [
    `http://127.0.0.1:${apiPort}/api/status`,
    `http://127.0.0.1:${webPort}/`,
    'http://127.0.0.1:9101/readyz',
    'http://127.0.0.1:9102/readyz',
  ]);
  const page = await (await fetch(`http://127.0.0.1:${webPort}/`)).text();
  assert.match(page, /Welcome, it's <time/, 'the page shows the time read through the API');
  const [apiAdmin, webAdmin] = await Promise.all(
    [9101, 9102].map(async (port) => (await fetch(`http://127.0.0.1:${port}/readyz`)).json()),
  );
  assert.equal(apiAdmin.tier, 'api');
  assert.equal(webAdmin.tier, 'web');
  const metrics = await (await fetch('http://127.0.0.1:9102/metrics')).text();
  assert.match(metrics, /tier="web"/, 'the web tier serves its own metrics');
});
