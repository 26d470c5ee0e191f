// How the operations commands (deploy, scale, reload, backup, logs, metrics) reach the local
// environment: the repository root, the compose project, the engine CLI, and the clock.
import { dirname } from 'node:path';
import { exec } from '../exec.js';
import type { ContainerApi, Engine } from './engine.js';
import { type LocalPaths, PROJECT } from './paths.js';
import { readEnvFile } from './settings.js';

export interface OpsEnv {
  /** Repository root (holds infra/local and .tier/). */
  readonly root: string;
  /** The local environment's state (LocalPaths.stateDir): deploy history, build logs, credentials. */
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
  /** The engine's API, which lists and inspects containers (containers.ts); tests put a fake engine here. */
  readonly api: ContainerApi;
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
  /** @default 120 s */
  readonly timeoutMs?: number;
  readonly input?: string;
  /** What to tell the user when the command fails. @default look at `tier status` */
  readonly hint?: string;
  /** Resolve with stdout and stderr together (e.g. `podman logs`, whose stderr is the container's). */
  readonly withStderr?: boolean;
  readonly cwd?: string;
  /** Called with each output line (progress detail). */
  readonly onLine?: (line: string) => void;
}

/** Runs an engine or compose command (the operations' defaults: 120 s, the engine's hints); resolves with stdout. */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const { stdout, stderr } = await exec(cmd, args, {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    onLine: opts.onLine,
    timeoutMs: opts.timeoutMs ?? 120_000,
    hint: opts.hint ?? 'run `tier status`',
    missingHint: 'run `tier up` first (it installs the engine)',
  });
  return opts.withStderr ? `${stdout}${stderr}` : stdout;
}

/**
 * The operations' view of an environment that `tier up` prepared: its paths and the engine that
 * infra/local/engine/setup.sh chose. `overrides` replace the effects (tests: a fake engine and clock).
 */
export function opsEnvFor(paths: LocalPaths, engine: Engine, overrides: Partial<OpsEnv> = {}): OpsEnv {
  const dotenv = readEnvFile(paths.envFile);
  return {
    root: paths.root,
    stateDir: paths.stateDir,
    envFile: paths.envFile,
    composeFile: paths.composeFile,
    project: PROJECT,
    engine: engine.cli,
    composeCmd: engine.compose,
    composeEnv: { ...process.env, DOCKER_HOST: engine.dockerHost, COMPOSE_INTERACTIVE_NO_CLI: '1' },
    prometheusUrl: process.env.TIER_PROMETHEUS_URL ?? `http://127.0.0.1:${dotenv.PROM_PORT ?? '9090'}`,
    api: engine.api,
    run,
    fetch: (input, init) => fetch(input, init),
    now: Date.now,
    sleep,
    ...overrides,
  };
}

export interface ComposeOptions {
  /** Values that override .env's (e.g. the image a new replica runs). */
  readonly env?: Record<string, string>;
  /** @default 180 s; 0: no limit (`tier up` pulls and starts everything) */
  readonly timeoutMs?: number;
  readonly onLine?: (line: string) => void;
  /** @default check the engine with `tier status` */
  readonly hint?: string;
}

/** compose with the project's name, file and .env; resolves with stdout. */
export function compose(env: OpsEnv, args: readonly string[], opts: ComposeOptions = {}): Promise<string> {
  const [cmd, ...lead] = env.composeCmd;
  return env.run(cmd!, [...lead, '-p', env.project, '-f', env.composeFile, '--env-file', env.envFile, ...args], {
    cwd: dirname(env.composeFile),
    env: { ...env.composeEnv, ...opts.env },
    timeoutMs: opts.timeoutMs ?? 180_000,
    onLine: opts.onLine,
    hint: opts.hint ?? 'check the engine with `tier status`; `tier up` repairs a stopped environment',
  });
}

export const engineRun = (env: OpsEnv, args: readonly string[], opts: RunOptions = {}) =>
  env.run(env.engine, args, opts);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
