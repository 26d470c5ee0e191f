// The environment's supervisor, a small host process started (detached) by `tier up` and stopped
// by `tier down`. podman without systemd never runs healthchecks by itself, so this runs them on
// each container's interval and restarts unhealthy containers (Docker runs the checks itself; the
// restart part applies there too). It also keeps the log store's container-id map current.
// Run directly: node --import tsx packages/tier/src/local/supervisor.ts
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Engine, EngineApi } from './engine.js';
import { newMemory, superviseOnce } from './health.js';
import { type LocalPaths, localPaths } from './paths.js';

const PASS_INTERVAL_MS = 1000;

const pidFile = (paths: LocalPaths) => join(paths.stateDir, 'supervisor.pid');
const engineFile = (paths: LocalPaths) => join(paths.stateDir, 'supervisor.engine.json');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('supervisor');
  } catch {
    return false;
  }
}

export function supervisorPid(paths: LocalPaths): number | undefined {
  if (!existsSync(pidFile(paths))) return undefined;
  const pid = Number(readFileSync(pidFile(paths), 'utf8'));
  return pid && alive(pid) ? pid : undefined;
}

/** Starts the supervisor unless one is running; it outlives the `tier` process. */
export function startSupervisor(engine: Engine, paths: LocalPaths): number {
  const running = supervisorPid(paths);
  if (running) return running;
  writeFileSync(
    engineFile(paths),
    JSON.stringify({ kind: engine.kind, dockerHost: engine.dockerHost, cli: engine.cli }),
  );
  const out = openSync(join(paths.stateDir, 'supervisor.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    cwd: paths.root,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, TIER_ROOT: paths.root },
  });
  child.unref();
  writeFileSync(pidFile(paths), String(child.pid));
  return child.pid ?? 0;
}

export async function stopSupervisor(paths: LocalPaths): Promise<void> {
  const pid = supervisorPid(paths);
  if (pid) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  await rm(pidFile(paths), { force: true });
}

async function main(): Promise<void> {
  const paths = localPaths();
  const saved = JSON.parse(readFileSync(engineFile(paths), 'utf8')) as {
    kind: Engine['kind'];
    dockerHost: string;
    cli: string;
  };
  const engine: Engine = {
    kind: saved.kind,
    cli: saved.cli,
    compose: [],
    dockerHost: saved.dockerHost,
    containerLogDir: '',
    api: new EngineApi(saved.dockerHost),
  };
  const log = (event: Record<string, unknown>) =>
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), tier: 'supervisor', ...event })}\n`);
  const memory = newMemory();
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
  });
  log({ msg: 'started', pid: process.pid, engine: engine.kind });
  while (!stopping) {
    const started = Date.now();
    await superviseOnce(engine, paths, memory, log).catch((err: Error) =>
      log({ msg: 'pass failed', error: err.message }),
    );
    await new Promise((r) => setTimeout(r, Math.max(100, PASS_INTERVAL_MS - (Date.now() - started))));
  }
  log({ msg: 'stopped' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
