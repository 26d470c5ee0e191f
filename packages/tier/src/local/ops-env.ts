// How the operations commands (deploy, scale, reload, backup, logs, metrics) reach the local
// environment: the repository root, the compose project, the engine CLI and a plain exec helper.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TierError } from '../backend.js';
import type { Engine } from './engine.js';
import type { LocalPaths } from './paths.js';

export interface OpsEnv {
  /** Repository root (holds infra/local and .tier/). */
  readonly root: string;
  /** Where operations state lives (deploy history): <root>/.tier. */
  readonly stateDir: string;
  /** infra/local/.env: image tags, ports and passwords written by `tier up`. */
  readonly envFile: string;
  readonly composeFile: string;
  /** The compose project name (container names are <project>_<service>_<n>). */
  readonly project: string;
  /** 'podman' or 'docker': both take the same ps/inspect/exec/stop/rm/run arguments used here. */
  readonly engine: string;
  /** The compose command and its leading arguments, e.g. ['docker-compose'] or ['docker', 'compose']. */
  readonly composeCmd: readonly string[];
  /** Environment for compose (DOCKER_HOST pointing at podman's socket, etc.). */
  readonly composeEnv: NodeJS.ProcessEnv;
  /** Prometheus base URL (loopback). */
  readonly prometheusUrl: string;
  /** Runs the engine CLI and compose; tests put a fake engine here. @default run */
  readonly run: (cmd: string, args: readonly string[], opts?: RunOptions) => Promise<string>;
  /** HTTP client for the replicas' own readiness. @default globalThis.fetch */
  readonly fetch: typeof fetch;
  /** Clock, so tests can pass deadlines without waiting. @default Date.now */
  now(): number;
  /** @default a timer */
  sleep(ms: number): Promise<void>;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly input?: string;
  /** What to tell the user when the command fails. */
  readonly hint?: string;
  /** Resolve with stdout and stderr together (e.g. `podman logs`, whose stderr is the container's). */
  readonly withStderr?: boolean;
  readonly cwd?: string;
}

/** Runs a command, resolves with stdout; a failure becomes a TierError with stderr's last lines. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolvePromise(opts.withStderr ? `${stdout}${stderr}` : stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        if (e.code === 'ENOENT') {
          return reject(new TierError(`${cmd} is not installed`, 'run `tier up` first (it installs the engine)'));
        }
        // Some tools (pgBackRest) print their errors on stdout: use it when stderr says nothing useful.
        const tail = `${stderr}\n${stdout}`
          .split('\n')
          .filter((l) => l.trim() && !/unable to get systemd connection|healthchecks/.test(l))
          .slice(-4)
          .join(' | ');
        const why = e.killed ? `timed out after ${(opts.timeoutMs ?? 120_000) / 1000}s` : tail || e.message;
        reject(
          new TierError(`\`${cmd} ${args.slice(0, 4).join(' ')}\` failed: ${why}`, opts.hint ?? 'run `tier status`'),
        );
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

function findRoot(): string {
  if (process.env.TIER_ROOT) return resolve(process.env.TIER_ROOT);
  // This file is packages/tier/src/local/ops-env.ts (or dist/local/ops-env.js): four levels up.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'infra/local/compose.yaml'))) return dir;
    dir = dirname(dir);
  }
  let cwd = process.cwd();
  while (cwd !== dirname(cwd)) {
    if (existsSync(join(cwd, 'infra/local/compose.yaml'))) return cwd;
    cwd = dirname(cwd);
  }
  throw new TierError('cannot find infra/local/compose.yaml', 'run tier inside the repository (or set TIER_ROOT)');
}

/** Reads KEY=value lines (no expansion), as compose does for .env. */
export function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/**
 * The defaults match `tier up` (infra/local/engine/setup.sh): podman's Docker-compatible socket and
 * docker-compose 1.29, or a Docker Engine with Compose v2 when TIER_ENGINE=docker.
 */
export function createOpsEnv(overrides: Partial<OpsEnv> = {}): OpsEnv {
  const root = overrides.root ?? findRoot();
  const engine = overrides.engine ?? (process.env.TIER_ENGINE === 'docker' ? 'docker' : 'podman');
  const envFile = join(root, 'infra/local/.env');
  const dotenv = readEnvFile(envFile);
  const dockerHost =
    process.env.DOCKER_HOST ?? (engine === 'podman' ? 'unix:///run/podman/podman.sock' : 'unix:///var/run/docker.sock');
  return {
    root,
    stateDir: join(root, '.tier'),
    envFile,
    composeFile: join(root, 'infra/local/compose.yaml'),
    project: process.env.TIER_PROJECT ?? 'tier',
    engine,
    composeCmd: engine === 'docker' ? ['docker', 'compose'] : ['docker-compose'],
    composeEnv: { ...process.env, DOCKER_HOST: dockerHost },
    prometheusUrl: process.env.TIER_PROMETHEUS_URL ?? `http://127.0.0.1:${dotenv.PROM_PORT ?? '9090'}`,
    run,
    fetch: (input, init) => fetch(input, init),
    now: Date.now,
    sleep,
    ...overrides,
  };
}

/** The operations' view of an environment that `tier up` prepared (paths and engine). */
export function opsEnvFor(paths: LocalPaths, engine: Engine): OpsEnv {
  return createOpsEnv({
    root: paths.root,
    envFile: paths.envFile,
    composeFile: paths.composeFile,
    engine: engine.cli,
    composeCmd: engine.compose,
    composeEnv: { ...process.env, DOCKER_HOST: engine.dockerHost, COMPOSE_INTERACTIVE_NO_CLI: '1' },
  });
}

/** docker-compose with the project's file, name and env file; `extraEnv` overrides .env values. */
export function compose(
  env: OpsEnv,
  args: readonly string[],
  extraEnv: Record<string, string> = {},
  timeoutMs = 180_000,
) {
  const [cmd, ...lead] = env.composeCmd;
  return env.run(cmd!, [...lead, '-p', env.project, '-f', env.composeFile, '--env-file', env.envFile, ...args], {
    cwd: dirname(env.composeFile),
    env: { ...env.composeEnv, ...extraEnv },
    timeoutMs,
    hint: 'check the engine with `tier status`; `tier up` repairs a stopped environment',
  });
}

export const engineRun = (env: OpsEnv, args: readonly string[], opts: RunOptions = {}) =>
  env.run(env.engine, args, opts);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
