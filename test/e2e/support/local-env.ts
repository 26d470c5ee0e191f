// Helpers for tests against the running local environment: bring it up once (idempotent `tier up`
// through the local backend), run commands in containers, and probe from a throwaway "internet"
// client container on the public network.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Progress } from '../../../packages/tier/src/backend.js';
import type { Engine } from '../../../packages/tier/src/local/engine.js';
import { type ContainerInfo, projectContainers } from '../../../packages/tier/src/local/health.js';
import { LocalBackend } from '../../../packages/tier/src/local/index.js';
import { PROJECT } from '../../../packages/tier/src/local/paths.js';
import { readSettings, type Settings } from '../../../packages/tier/src/local/settings.js';

const exec = promisify(execFile);

export const quietProgress: Progress = {
  step: (m) => process.stderr.write(`# ${m}\n`),
  info: () => undefined,
  done: () => undefined,
  warn: (m) => process.stderr.write(`# warning: ${m}\n`),
};

export interface LocalEnv {
  readonly backend: LocalBackend;
  readonly engine: Engine;
  readonly settings: Settings;
  readonly edge: string;
  readonly apiLb: string;
  readonly prometheus: string;
  containers(): Promise<ContainerInfo[]>;
  /** Runs the engine CLI; resolves with stdout (rejects on a non-zero exit). */
  cli(args: string[], timeoutMs?: number): Promise<string>;
  /** Runs node code in a throwaway container on the given network (default: public, the "internet"). */
  client(code: string, network?: string): Promise<string>;
  /** Runs node code inside a running container of the project. */
  inside(container: string, code: string): Promise<string>;
}

let shared: Promise<LocalEnv> | undefined;

/** Brings the environment up once per test process (skip with TIER_E2E_SKIP_UP=1 when `tier up` already ran). */
export function localEnv(): Promise<LocalEnv> {
  shared ??= (async () => {
    const backend = new LocalBackend();
    if (process.env.TIER_E2E_SKIP_UP !== '1') await backend.up(quietProgress);
    const engine = await backend.engine();
    const settings = await readSettings(backend.paths);
    const cli = async (args: string[], timeoutMs = 120_000) =>
      (await exec(engine.cli, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })).stdout;
    return {
      backend,
      engine,
      settings,
      edge: `http://127.0.0.1:${settings.EDGE_PORT}`,
      apiLb: `http://127.0.0.1:${settings.API_PORT}`,
      prometheus: `http://127.0.0.1:${settings.PROM_PORT}`,
      containers: () => projectContainers(engine),
      cli,
      client: (code, network = `${PROJECT}_public`) =>
        cli(['run', '--rm', '--network', network, '--read-only', settings.API_IMAGE ?? '', 'node', '-e', code]),
      inside: (container, code) => cli(['exec', container, 'node', '-e', code]),
    };
  })();
  return shared;
}

/** Node snippet: tries a TCP connection and prints "open" or "closed: <reason>". */
export const tcpProbe = (host: string, port: number, timeoutMs = 3000) => `
const s = require('node:net').connect({ host: ${JSON.stringify(host)}, port: ${port} });
s.setTimeout(${timeoutMs}, () => { console.log('closed: timeout'); process.exit(0); });
s.on('connect', () => { console.log('open'); process.exit(0); });
s.on('error', (e) => { console.log('closed: ' + e.code); process.exit(0); });`;

export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${lastError ? ` (${String(lastError)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
