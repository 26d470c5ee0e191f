// Helpers for tests against the running local environment: bring it up once (idempotent `tier up`
// through the local backend), run commands in containers, and probe from a throwaway "internet"
// client container on the public network.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  type Container,
  type Engine,
  FIRST_REQUESTS,
  LocalBackend,
  listContainers,
  PROJECT,
  type Progress,
  readSettings,
  type Settings,
} from '@tier/cli';

import { onceMoreIfNotStarted } from './ops.js';

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
  /** What the first look right after `tier up` returned saw, with no wait (undefined when up was skipped). */
  readonly afterUp?: AfterUp;
  containers(): Promise<Container[]>;
  /** Runs the engine CLI; resolves with stdout (rejects on a non-zero exit). */
  cli(args: string[], timeoutMs?: number): Promise<string>;
  /** Runs node code in a throwaway container on the given network (default: public, the "internet"). */
  client(code: string, network?: string): Promise<string>;
  /** Runs node code inside a running container of the project. */
  inside(container: string, code: string): Promise<string>;
}

export interface AfterUp {
  /** Status per first request through the edge. */
  readonly responses: Record<string, number>;
  /** Prometheus's active targets at that moment. */
  readonly targets: { scrapeUrl: string; health: string }[];
}

/** The first requests a user makes, and Prometheus's targets, at once (no retry, no wait). */
async function lookRightAfterUp(edge: string, prometheus: string): Promise<AfterUp> {
  const responses: Record<string, number> = {};
  for (const path of FIRST_REQUESTS) {
    const res = await fetch(`${edge}${path}`);
    await res.arrayBuffer();
    responses[path] = res.status;
  }
  const targets = (await (await fetch(`${prometheus}/api/v1/targets?state=active`)).json()) as {
    data: { activeTargets: { scrapeUrl: string; health: string }[] };
  };
  return { responses, targets: targets.data.activeTargets };
}

let shared: Promise<LocalEnv> | undefined;

/** Brings the environment up once per test process (skip with TIER_E2E_SKIP_UP=1 when `tier up` already ran). */
export function localEnv(): Promise<LocalEnv> {
  shared ??= (async () => {
    const backend = new LocalBackend();
    const skipUp = process.env.TIER_E2E_SKIP_UP === '1';
    if (!skipUp) await backend.up(quietProgress);
    const settings = await readSettings(backend.paths);
    const edge = `http://127.0.0.1:${settings.EDGE_PORT}`;
    const prometheus = `http://127.0.0.1:${settings.PROM_PORT}`;
    const afterUp = skipUp ? undefined : await lookRightAfterUp(edge, prometheus);
    const engine = await backend.engine();
    const cli = (args: string[], timeoutMs = 120_000) =>
      onceMoreIfNotStarted(
        async () => (await exec(engine.cli, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })).stdout,
      );
    return {
      backend,
      engine,
      settings,
      edge,
      apiLb: `http://127.0.0.1:${settings.API_PORT}`,
      prometheus,
      afterUp,
      containers: () => listContainers(engine.api),
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
