// The container engine: prepared by infra/local/engine/setup.sh (Docker Engine with Compose v2 when
// one runs, else podman + docker-compose 1.29 on podman's API socket), then driven through its
// Docker-compatible HTTP API (fast: no CLI process per call); compose runs through ops-env.ts.
import { request } from 'node:http';
import { TierError } from '../backend.js';
import { type EngineKind, engineSetup } from '../engine-setup.js';
import { type LocalPaths, PROJECT } from './paths.js';

export interface Engine {
  readonly kind: EngineKind;
  /** The engine's CLI (builds, exec). */
  readonly cli: string;
  /** Compose command: ['docker-compose'] or ['docker', 'compose']. */
  readonly compose: readonly string[];
  readonly dockerHost: string;
  /** Host directory holding every container's log file (mounted into the log shipper). */
  readonly containerLogDir: string;
  readonly api: EngineApi;
}

/** Prepares the engine and connects to it. */
export async function prepareEngine(paths: LocalPaths): Promise<Engine> {
  const values = await engineSetup(paths.root, {
    stateDir: paths.stateDir,
    hint: 'run `tier up` as root once (it installs podman and docker-compose), or install what the message names',
  });
  const kind = values.ENGINE === 'docker' ? 'docker' : 'podman';
  const dockerHost = values.DOCKER_HOST ?? 'unix:///run/podman/podman.sock';
  return {
    kind,
    cli: kind,
    compose: (values.COMPOSE ?? 'docker-compose').split(' '),
    dockerHost,
    containerLogDir: values.CONTAINER_LOG_DIR ?? '/var/lib/containers/storage/overlay-containers',
    api: new EngineApi(dockerHost),
  };
}

/** An entry of the engine's container list; containers.ts inspects each for the rest. */
export interface ContainerSummary {
  readonly Id: string;
  readonly Names: string[];
}

/** What listing and inspecting containers needs of the engine (containers.ts; tests put a fake here). */
export type ContainerApi = Pick<EngineApi, 'containers' | 'inspect'>;

export interface HealthResult {
  readonly Status: string;
  readonly FailingStreak?: number;
}

/** A small client for the Docker-compatible API that both Docker and podman serve. */
export class EngineApi {
  private readonly socketPath: string;

  constructor(dockerHost: string) {
    if (!dockerHost.startsWith('unix://')) {
      throw new TierError(`DOCKER_HOST ${dockerHost} is not a Unix socket`, 'use a local engine (unix:///...)');
    }
    this.socketPath = dockerHost.slice('unix://'.length);
  }

  call<T>(method: string, path: string, timeoutMs = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method, timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 400) {
            reject(new TierError(`engine API ${method} ${path}: ${res.statusCode} ${body.trim().slice(0, 300)}`));
            return;
          }
          try {
            resolve((body ? JSON.parse(body) : undefined) as T);
          } catch {
            resolve(body as T);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) =>
        reject(
          new TierError(`the container engine does not answer on ${this.socketPath}: ${err.message}`, 'run `tier up`'),
        ),
      );
      req.end();
    });
  }

  /** Every container of the compose project (or of one of its services), running or not. */
  containers(service?: string): Promise<ContainerSummary[]> {
    const label = [`com.docker.compose.project=${PROJECT}`];
    if (service) label.push(`com.docker.compose.service=${service}`);
    const filters = encodeURIComponent(JSON.stringify({ label }));
    return this.call<ContainerSummary[]>('GET', `/v1.41/containers/json?all=true&filters=${filters}`);
  }

  inspect<T = Record<string, unknown>>(id: string): Promise<T> {
    return this.call<T>('GET', `/v1.41/containers/${id}/json`);
  }

  /** podman only: run the container's healthcheck now (podman without systemd never schedules it). */
  runHealthcheck(id: string): Promise<HealthResult> {
    return this.call<HealthResult>('GET', `/v4.0.0/libpod/containers/${id}/healthcheck`, 30_000);
  }

  volumeExists(name: string): Promise<boolean> {
    return this.call('GET', `/v1.41/volumes/${encodeURIComponent(name)}`).then(
      () => true,
      (err: Error) => {
        if (/ 404 /.test(err.message)) return false;
        throw err;
      },
    );
  }

  restart(id: string, graceSeconds = 5): Promise<void> {
    return this.call('POST', `/v1.41/containers/${id}/restart?t=${graceSeconds}`, 60_000);
  }

  kill(id: string, signal: string): Promise<void> {
    return this.call('POST', `/v1.41/containers/${id}/kill?signal=${signal}`);
  }

  remove(id: string): Promise<void> {
    return this.call('DELETE', `/v1.41/containers/${id}?force=true&v=false`, 60_000);
  }
}
