// Helpers for the operations tests: run the `tier` CLI, read status, make sure the environment is
// up (once; reused across files), derive test images, and read the guestbook straight from the db.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PROJECT, type TierName } from '@tier/cli';
import { describeLoad, type LoadResult } from './load.js';

const exec = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const ENGINE = process.env.TIER_ENGINE === 'docker' ? 'docker' : 'podman';
export { PROJECT };

export interface Status {
  replicas: Array<{ tier: string; name: string; version: string; health: string; address: string }>;
  endpoints: Record<string, string>;
}

/** Runs the repository's `tier` CLI; resolves with its exit code and combined output. */
export function tier(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'packages/tier/bin/tier.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, CI: '1', ...env },
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

export async function tierOk(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await tier(args, env);
  assert.equal(r.code, 0, `tier ${args.join(' ')} failed:\n${r.out}`);
  return r.out;
}

/**
 * For a failure message: the web tier's recent "api unavailable" lines (their error says which hop
 * failed: a timeout, a refused or unresolved connection), or why they could not be read.
 */
export async function webApiFailures(): Promise<string> {
  const r = await tier(['logs', 'web', '--since', '10m', '--grep', 'api unavailable', '--limit', '8']);
  return `recent web "api unavailable" lines:\n${r.out.trim() || '(none)'}`;
}

/**
 * Fails with the load's counts and, for the first failed answers, every tier's log lines of that
 * request (edge, balancers, web, api): which hop failed, and how long each took.
 */
export async function assertNoFailedRequests(load: LoadResult): Promise<void> {
  if (load.failed === 0) return;
  const paths: string[] = [];
  for (const id of load.failedRequestIds.slice(0, 2)) {
    const r = await tier(['logs', '--request-id', id, '--since', '15m', '--limit', '20']);
    paths.push(`log lines of request ${id}:\n${r.out.trim() || '(none)'}`);
  }
  assert.fail([describeLoad(load), ...paths, await webApiFailures()].join('\n'));
}

export async function status(): Promise<Status> {
  const out = await tierOk(['--json', 'status']);
  return JSON.parse(out.slice(out.indexOf('{'))) as Status;
}

export const replicasOf = (s: Status, t: string) => s.replicas.filter((r) => r.tier === t);
export const versionsOf = (s: Status, t: string) => [...new Set(replicasOf(s, t).map((r) => r.version))];

/** Brings the environment up unless it already serves (`tier up` is idempotent but slower). */
export async function ensureEnvironment(): Promise<Status> {
  const current = await tier(['--json', 'status']);
  const healthy = (() => {
    try {
      const s = JSON.parse(current.out.slice(current.out.indexOf('{'))) as Status;
      const need = ['edge', 'web-lb', 'api-lb', 'web', 'api', 'db', 'logs', 'prometheus'];
      return need.every((t) => s.replicas.some((r) => r.tier === t && r.health !== 'stopped'));
    } catch {
      return false;
    }
  })();
  if (!healthy) await tierOk(['up']);
  // Two replicas per app tier: the starting point every scenario assumes.
  await tierOk(['scale', 'web=2', 'api=2']);
  const s = await status();
  const edge = s.endpoints.edge ?? 'http://127.0.0.1:8080';
  await waitFor(
    'the API answering through the edge',
    async () => (await fetch(`${edge}/api/status`)).status === 200,
    60_000,
  );
  return s;
}

export const sh = async (cmd: string, args: string[]) =>
  (await exec(cmd, args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
export const engine = (...args: string[]) => onceMoreIfNotStarted(() => sh(ENGINE, args));

/**
 * The container runtime now and then fails to start a process at all (runc "waiting for init preliminary
 * setup: read init-p: connection reset by peer", exit 126, seen on Debian 13's podman 5 with cgroups v1).
 * Nothing ran, so one more try is safe; the tests are about the stack, not the runtime's start-up.
 */
export async function onceMoreIfNotStarted<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const text = `${(err as { stderr?: string }).stderr ?? ''} ${(err as Error).message}`;
    if (!/OCI runtime error|runc create failed|unable to start container process/.test(text)) throw err;
    await sleep(500);
    return run();
  }
}

/** A new image of a tier from the one it runs now: same bytes, another version (and optional env). */
export async function deriveImage(
  tierName: TierName,
  from: string,
  version: string,
  env: Record<string, string> = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tier-image-'));
  const image = `localhost/tier-${tierName}:${version}`;
  const lines = [
    `FROM ${from}`,
    `ENV APP_VERSION=${version}${Object.entries(env)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('')}`,
    `LABEL org.opencontainers.image.revision=${version} org.opencontainers.image.version=${version}`,
  ];
  await writeFile(join(dir, 'Dockerfile'), `${lines.join('\n')}\n`);
  try {
    await sh(ENGINE, ['build', '-q', ...(ENGINE === 'podman' ? ['--format', 'docker'] : []), '-t', image, dir]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return image;
}

/** The image a tier's first running replica uses. */
export async function currentImage(tierName: string): Promise<string> {
  const name = (await containers(tierName))[0];
  assert.ok(name, `no ${tierName} container`);
  return (await engine('inspect', '--format', '{{.ImageName}}', name)).trim();
}

/** Running containers of a compose service. */
export async function containers(service: string): Promise<string[]> {
  const out = await engine(
    'ps',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
    '--format',
    '{{.Names}}',
  );
  return out.split('\n').filter(Boolean).sort();
}

/** SQL through the db container (peer auth over its socket). */
export async function dbQuery(sql: string): Promise<string> {
  const db = (await containers('db'))[0];
  assert.ok(db, 'no running db container');
  return (await engine('exec', db, 'psql', '-h', '/run/postgresql', '-d', 'app', '-tA', '-c', sql)).trim();
}

/** Which of these idempotency keys have a row. */
export async function storedKeys(keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const list = keys.map((k) => `'${k.replace(/'/g, "''")}'`).join(',');
  const out = await dbQuery(`SELECT idempotency_key FROM messages WHERE idempotency_key IN (${list})`);
  return new Set(out.split('\n').filter(Boolean));
}

/** Reads every message of an author back through the API (the edge), newest first. */
export async function readBack(baseUrl: string, ids: Set<number>): Promise<Set<number>> {
  const seen = new Set<number>();
  let cursor: string | null = null;
  const minId = Math.min(...ids);
  for (let page = 0; page < 10_000; page++) {
    const url: string = `${baseUrl}/api/messages?limit=100${cursor ? `&cursor=${cursor}` : ''}`;
    const res: Response = await fetch(url);
    assert.equal(res.status, 200, `GET ${url} -> ${res.status}`);
    const body = (await res.json()) as { items: { id: number }[]; nextCursor: string | null };
    for (const m of body.items) if (ids.has(m.id)) seen.add(m.id);
    cursor = body.nextCursor;
    if (!cursor || seen.size === ids.size || body.items.every((m) => m.id < minId)) break;
  }
  return seen;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(200);
  }
}

/** The server rows of a tier's balancer (`show stat` on its admin socket, backend `replicas`), by column name. */
export async function balancerServers(tierName: TierName): Promise<Array<Record<string, string>>> {
  const lb = (await containers(`${tierName}-lb`))[0];
  assert.ok(lb, `no ${tierName}-lb`);
  const csv = await new Promise<string>((resolve, reject) => {
    const child = spawn(ENGINE, ['exec', '-i', lb, 'socat', 'stdio', '/run/haproxy/admin.sock']);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('close', () => resolve(out));
    child.stdin.end('show stat\n');
  });
  const lines = csv.split('\n').filter(Boolean);
  const header = (lines.shift() ?? '').replace(/^#\s*/, '').split(',');
  return lines
    .map((l) => Object.fromEntries(l.split(',').map((cell, i) => [header[i] ?? String(i), cell])))
    .filter((row) => row.pxname === 'replicas' && !/^(BACKEND|FRONTEND)$/.test(row.svname ?? ''));
}

/** HAProxy's view of a tier's replicas: server address -> status. */
export async function balancerView(tierName: TierName): Promise<Map<string, string>> {
  const view = new Map<string, string>();
  for (const row of await balancerServers(tierName)) {
    if (row.addr) view.set(row.addr.split(':')[0]!, row.status ?? '');
  }
  return view;
}

export async function ipOf(container: string): Promise<string> {
  const out = await engine('inspect', '--format', '{{json .NetworkSettings.Networks}}', container);
  const nets = JSON.parse(out) as Record<string, { IPAddress?: string }>;
  const app = Object.entries(nets).find(([n]) => /(^|_)app$/.test(n));
  return app?.[1].IPAddress ?? Object.values(nets)[0]?.IPAddress ?? '';
}
