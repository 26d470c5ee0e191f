// The containers compose made, read from the engine's API by their compose labels: one model for
// `tier status`, the health waits, the supervisor and the rollouts (name, image, version, state,
// health, restarts, addresses). Stop (always with a drain timeout), remove, and last log lines.
import { type ReplicaStatus, TierError } from '../backend.js';
import type { ContainerApi } from './engine.js';
import { engineRun, type OpsEnv } from './ops-env.js';
import { PROJECT } from './paths.js';

export interface Container {
  readonly id: string;
  readonly name: string;
  readonly service: string;
  /** compose's container number (tier_api_3 -> 3). */
  readonly number: number;
  /** Image reference the container was created from, e.g. localhost/tier-api:abc123. */
  readonly image: string;
  /** The content id (`sha256:…`) of the image it runs; empty when the engine did not say. */
  readonly imageId: string;
  /** The version it runs: its image's org.opencontainers.image.revision label, else the image's tag. */
  readonly version: string;
  readonly state: string;
  readonly running: boolean;
  /** Its healthcheck's status; `stopped` when it does not run, `none` without a healthcheck. */
  readonly health: Exclude<ReplicaStatus['health'], 'unknown'> | 'none';
  readonly restarts: number;
  readonly exitCode: number;
  /** Address per network, without the project prefix: `app`, `public`, `data`. */
  readonly addresses: Readonly<Record<string, string>>;
  /** Address on the network the balancers share with the replicas (`app`), else the first one. */
  readonly ip: string;
  /** A `compose run` container or the one-shot migrate job: not part of the running environment. */
  readonly oneOff: boolean;
  readonly createdAt: string;
}

/** How long a replica gets to drain after SIGTERM (runtime SHUTDOWN_DRAIN_MS = 3 s, plus in-flight). */
export const STOP_TIMEOUT_S = 15;

/** The engine API's container inspect, the part read here (Docker and podman answer alike). */
export interface InspectedContainer {
  Id: string;
  Name: string;
  /** The image's content id (Docker and podman alike). */
  Image?: string;
  Config: { Image?: string; Labels?: Record<string, string> | null };
  State: { Status: string; Running: boolean; ExitCode: number; Health?: { Status?: string } };
  RestartCount?: number;
  Created: string;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** The tag part of an image reference (`latest` without one). */
export function versionOf(image: string): string {
  const tagAt = image.lastIndexOf(':');
  return tagAt > image.lastIndexOf('/') ? image.slice(tagAt + 1) : 'latest';
}

const HEALTH = ['healthy', 'unhealthy', 'starting'] as const;

export function describe(c: InspectedContainer): Container {
  const labels = c.Config.Labels ?? {};
  const image = c.Config.Image ?? '';
  const running = c.State.Running;
  const status = c.State.Health?.Status as (typeof HEALTH)[number] | undefined;
  const addresses: Record<string, string> = {};
  for (const [net, v] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
    if (v.IPAddress) addresses[net.replace(`${PROJECT}_`, '')] = v.IPAddress;
  }
  const service = labels['com.docker.compose.service'] ?? '';
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    service,
    number: Number(labels['com.docker.compose.container-number'] || 1),
    image,
    imageId: c.Image ? (c.Image.startsWith('sha256:') ? c.Image : `sha256:${c.Image}`) : '',
    version: labels['org.opencontainers.image.revision'] || versionOf(image),
    state: c.State.Status,
    running,
    health: !running ? 'stopped' : status && HEALTH.includes(status) ? status : 'none',
    restarts: c.RestartCount ?? 0,
    exitCode: c.State.ExitCode,
    addresses,
    ip: addresses.app ?? Object.values(addresses)[0] ?? '',
    oneOff: labels['com.docker.compose.oneoff'] === 'True' || service === 'migrate',
    createdAt: c.Created,
  };
}

/** The container as it is now, by name or id; undefined when it is gone. */
export async function inspectContainer(api: ContainerApi, ref: string): Promise<Container | undefined> {
  return api.inspect<InspectedContainer>(ref).then(describe, () => undefined);
}

/** Every container of the project (optionally of one service), running or not, by service then number. */
export async function listContainers(api: ContainerApi, service?: string): Promise<Container[]> {
  const list = await api.containers(service);
  // One may go between the list and its inspect (a replica being replaced): it is left out.
  const found = await Promise.all(list.map((c) => inspectContainer(api, c.Id)));
  return found
    .filter((c): c is Container => c !== undefined)
    .sort((a, b) => a.service.localeCompare(b.service) || a.number - b.number);
}

/** The one running container of a singleton service (db, api-lb, edge, ...). */
export async function serviceContainer(env: OpsEnv, service: string): Promise<Container> {
  const all = await listContainers(env.api, service);
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
