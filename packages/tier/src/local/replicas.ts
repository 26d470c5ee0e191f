// The containers compose made for a service, read from the engine by their compose labels:
// name, image, state, health, restarts and address. Start, stop (always with a drain timeout) and remove.
import { TierError } from '../backend.js';
import { engineRun, type OpsEnv } from './ops-env.js';

export interface Container {
  readonly id: string;
  readonly name: string;
  readonly service: string;
  /** compose's container number (tier_api_3 -> 3). */
  readonly number: number;
  /** Image reference the container was created from, e.g. localhost/tier-api:abc123. */
  readonly image: string;
  /** The tag part of the image (the version, for app tiers). */
  readonly version: string;
  readonly state: string;
  readonly running: boolean;
  readonly health: string;
  readonly restarts: number;
  readonly exitCode: number;
  /** Address on the network the balancers share with the replicas ('app'), else the first one. */
  readonly ip: string;
  readonly createdAt: string;
}

/** How long a replica gets to drain after SIGTERM (runtime SHUTDOWN_DRAIN_MS = 3 s, plus in-flight). */
export const STOP_TIMEOUT_S = 15;

interface Inspected {
  Id: string;
  Name: string;
  ImageName?: string;
  Config: { Image?: string; Labels?: Record<string, string> };
  State: {
    Status: string;
    Running: boolean;
    ExitCode: number;
    Health?: { Status?: string };
    Healthcheck?: { Status?: string };
  };
  RestartCount?: number;
  Created: string;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

export function versionOf(image: string): string {
  const tagAt = image.lastIndexOf(':');
  return tagAt > image.lastIndexOf('/') ? image.slice(tagAt + 1) : 'latest';
}

function toContainer(c: Inspected): Container {
  const labels = c.Config.Labels ?? {};
  const image = c.ImageName ?? c.Config.Image ?? '';
  const networks = c.NetworkSettings?.Networks ?? {};
  const appNet = Object.entries(networks).find(([name]) => /(^|_)app$/.test(name));
  const ip = appNet?.[1].IPAddress || Object.values(networks).find((n) => n.IPAddress)?.IPAddress || '';
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    service: labels['com.docker.compose.service'] ?? '',
    number: Number(labels['com.docker.compose.container-number'] ?? 0),
    image,
    version: versionOf(image),
    state: c.State.Status,
    running: c.State.Running,
    health: c.State.Health?.Status ?? c.State.Healthcheck?.Status ?? '',
    restarts: c.RestartCount ?? 0,
    exitCode: c.State.ExitCode,
    ip,
    createdAt: c.Created,
  };
}

/** Every container of the project (optionally one service), oldest number first; one-off runs excluded. */
export async function listContainers(env: OpsEnv, service?: string): Promise<Container[]> {
  const filters = ['--filter', `label=com.docker.compose.project=${env.project}`];
  if (service) filters.push('--filter', `label=com.docker.compose.service=${service}`);
  const ids = (await engineRun(env, ['ps', '-a', '-q', ...filters])).split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  // A container can vanish between ps and inspect (a replica being replaced): inspect one by one then.
  let inspected: Inspected[];
  try {
    inspected = JSON.parse(await engineRun(env, ['inspect', ...ids])) as Inspected[];
  } catch {
    inspected = [];
    for (const id of ids) {
      const one = await engineRun(env, ['inspect', id]).catch(() => '');
      if (one) inspected.push(...(JSON.parse(one) as Inspected[]));
    }
  }
  return inspected
    .filter((c) => (c.Config.Labels?.['com.docker.compose.oneoff'] ?? 'False') !== 'True')
    .map(toContainer)
    .sort((a, b) => a.number - b.number);
}

export async function inspectContainer(env: OpsEnv, name: string): Promise<Container | undefined> {
  const out = await engineRun(env, ['inspect', name]).catch(() => '');
  if (!out) return undefined;
  const [c] = JSON.parse(out) as Inspected[];
  return c ? toContainer(c) : undefined;
}

/** The one running container of a singleton service (db, api-lb, edge, ...). */
export async function serviceContainer(env: OpsEnv, service: string): Promise<Container> {
  const all = await listContainers(env, service);
  const c = all.find((x) => x.running) ?? all[0];
  if (!c) {
    throw new TierError(`no '${service}' container in the local environment`, 'start it with `tier up`');
  }
  return c;
}

/** SIGTERM, wait up to the drain timeout (the app turns unready and keeps serving first), then remove. */
export async function stopAndRemove(env: OpsEnv, name: string, timeoutS = STOP_TIMEOUT_S): Promise<void> {
  await engineRun(env, ['stop', '-t', String(timeoutS), name], { timeoutMs: (timeoutS + 30) * 1000 }).catch(
    () => undefined,
  );
  await engineRun(env, ['rm', '-f', name]).catch(() => undefined);
}

/** Last lines a container printed: the cause when a new replica never becomes ready. */
export async function lastLogLines(env: OpsEnv, name: string, n = 5): Promise<string> {
  const out = await engineRun(env, ['logs', '--tail', String(n), name], { withStderr: true }).catch(
    (e: Error) => e.message,
  );
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l, i, all) => l && all.indexOf(l) === i) // a crash loop repeats the same lines
    .slice(-n)
    .join(' | ');
}
