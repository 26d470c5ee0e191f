// The local target: the whole architecture on this machine (infra/local/compose.yaml) on podman
// or Docker. up/down/status live here; the operations (deploy, scale, backup, logs,
// metrics) plug into the same modules: engine.ts (API + compose), images.ts, containers.ts, health.ts.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Backend, DEPLOY_ORDER, type EnvironmentStatus, type Progress, type ReplicaStatus } from '../backend.js';
import { ensureImages, imageName } from '../images/build.js';
import { appVersion } from '../images/git.js';
import { planAppTiers, rollAppTiers } from './app-tiers.js';
import { type Container, listContainers } from './containers.js';
import { writeApiCredentials } from './credentials.js';
import { type Engine, prepareEngine } from './engine.js';
import { newMemory, SERVICES, updateLogMap, waitHealthy } from './health.js';
import { ensureBaseImages, ensureInfraImages } from './images.js';
import { withOperations } from './operations.js';
import { compose, opsEnvFor } from './ops-env.js';
import { type LocalPaths, localPaths, PROJECT } from './paths.js';
import { assertPortsFree } from './ports.js';
import { reloadEdgeAfterUp } from './reload.js';
import { waitServed } from './served.js';
import {
  assertSettingsFitVolumes,
  DEFAULT_PORTS,
  readSettings,
  removeSettings,
  type Settings,
  writeSettings,
} from './settings.js';
import { startSupervisor, stopSupervisor } from './supervisor.js';

export function endpoints(
  settings: Settings,
  engine?: Engine,
): { edge: string; api: string; prometheus: string; logs: string } {
  const port = (k: keyof typeof DEFAULT_PORTS) => settings[k] ?? DEFAULT_PORTS[k];
  return {
    edge: `http://127.0.0.1:${port('EDGE_PORT')}`,
    api: `http://127.0.0.1:${port('API_PORT')}`,
    prometheus: `http://127.0.0.1:${port('PROM_PORT')}`,
    logs: `volume ${PROJECT}_logs (tier logs, or ${engine?.cli ?? 'podman'} exec ${PROJECT}_logs_1 cat /var/log/central/tier-<date>.jsonl)`,
  };
}

function toReplica(c: Container): ReplicaStatus {
  return {
    tier: c.service,
    name: c.name,
    version: c.version,
    health: c.health === 'none' ? (c.running ? 'unknown' : 'stopped') : c.health,
    address: Object.entries(c.addresses)
      .map(([net, ip]) => `${ip} (${net})`)
      .join(', '),
  };
}

/** up and down: no time limit (first starts pull and build), and where to look when a service fails. */
const lifecycleCompose = (engine: Engine) => ({
  timeoutMs: 0,
  hint: `see \`${engine.compose.join(' ')} -p ${PROJECT} -f infra/local/compose.yaml logs\` for the failing service`,
});

// Lifecycle only; operations.ts adds deploy, scale, backup, logs, metrics and reload.
export class LocalBackend implements Pick<Backend, 'target' | 'up' | 'down' | 'status'> {
  readonly target = 'local' as const;
  private enginePromise?: Promise<Engine>;

  constructor(readonly paths: LocalPaths = localPaths()) {}

  engine(): Promise<Engine> {
    this.enginePromise ??= prepareEngine(this.paths);
    return this.enginePromise;
  }

  async up(progress: Progress): Promise<EnvironmentStatus> {
    progress.step('container engine');
    const engine = await this.engine();
    progress.done(engine.kind === 'podman' ? `podman + ${engine.compose.join(' ')}` : 'docker + compose v2');

    progress.step('base images');
    const base = await ensureBaseImages(engine, this.paths, progress);
    progress.done(`${base.debian}, ${base.node}`);

    progress.step('infrastructure images');
    const infra = await ensureInfraImages(engine, this.paths, base, progress);
    progress.done(Object.keys(infra).join(', '));

    progress.step('application images');
    const version = await appVersion(this.paths);
    await ensureImages({
      root: this.paths.root,
      version,
      tiers: DEPLOY_ORDER,
      engine: engine.kind,
      nodeImage: base.node,
      logDir: join(this.paths.stateDir, 'builds', version),
      onBuild: (tiers) => progress.info(`building ${tiers.map((t) => imageName(t, version)).join(', ')}`),
    });
    progress.done(`version ${version}`);

    progress.step('starting containers');
    await assertSettingsFitVolumes(this.paths, (name) => engine.api.volumeExists(name));
    // The counts and versions the operations set survive: compose gets them; new code rolls after.
    const plan = await planAppTiers(opsEnvFor(this.paths, engine), version);
    const settings = await writeSettings(this.paths, {
      ...plan.settings,
      DB_IMAGE: infra.db,
      LB_IMAGE: infra.lb,
      EDGE_IMAGE: infra.edge,
      METRICS_IMAGE: infra.metrics,
      LOGS_IMAGE: infra.logs,
      STATE_DIR: this.paths.stateDir,
      CONTAINER_LOG_DIR: engine.containerLogDir,
      LOG_FORMAT: engine.kind,
      LOG_GLOB:
        engine.kind === 'docker'
          ? `${engine.containerLogDir}/*/*-json.log`
          : `${engine.containerLogDir}/*/userdata/ctr.log`,
    });
    await writeApiCredentials(this.paths, {
      user: settings.APP_DB_USER ?? '',
      password: settings.APP_DB_PASSWORD ?? '',
    });
    await assertPortsFree(settings, await listContainers(engine.api));
    if (!existsSync(this.paths.logMapFile)) {
      await writeFile(this.paths.logMapFile, JSON.stringify({ version: 1, nomatch: '', type: 'string', table: [] }));
    }
    // Before compose: `depends_on: service_healthy` waits on healthchecks only the supervisor runs (podman).
    startSupervisor(engine, this.paths);
    const opsEnv = opsEnvFor(this.paths, engine);
    const composeUp = () =>
      compose(opsEnv, ['up', '-d', '--remove-orphans', ...plan.scale], {
        ...lifecycleCompose(engine),
        onLine: (line) => {
          if (/^(Creating|Recreating|Starting)\b.*done$/.test(line) || /Container .* (Started|Recreated)/.test(line))
            progress.info(line);
        },
      });
    // One retry: on a slow first start a one-off (migrate) can meet a db that is still recovering.
    await composeUp().catch(async (err: Error) => {
      progress.warn(`compose up failed, retrying once: ${err.message.split('\n').pop()?.trim()}`);
      await new Promise((r) => setTimeout(r, 3000));
      await composeUp();
    });
    progress.done();

    progress.step('waiting for health');
    let containers = await waitHealthy(engine, progress);
    await updateLogMap(engine, this.paths, containers, newMemory());
    progress.done(`${containers.length} containers healthy`);

    progress.step("edge: load the VCL again with the balancers' current addresses");
    await reloadEdgeAfterUp(opsEnv, containers);
    progress.done();

    if (plan.roll.length) {
      await rollAppTiers(opsEnv, progress, plan, version);
      containers = (await listContainers(engine.api)).filter((c) => !c.oneOff);
    }

    progress.step('waiting until served');
    const served = await waitServed(opsEnv, endpoints(settings).edge, containers, progress);
    progress.done(
      `${served.edge.join(' and ')} answer 200 through the edge; ${served.inRotation}/${served.replicas} replicas in rotation; ${served.targetsUp}/${served.targets} targets scraped`,
    );
    return this.statusFrom(containers, settings, engine);
  }

  async down(progress: Progress, opts: { volumes: boolean }): Promise<void> {
    progress.step(
      opts.volumes ? 'removing containers, networks and volumes' : 'removing containers and networks (volumes kept)',
    );
    const engine = await this.engine();
    if (!existsSync(this.paths.envFile)) await writeSettings(this.paths, {});
    const args = ['down', '--remove-orphans', '-t', '20', ...(opts.volumes ? ['-v'] : [])];
    const opsEnv = opsEnvFor(this.paths, engine);
    await compose(opsEnv, args, lifecycleCompose(engine)).catch(async () => {
      // A container in a restart loop can come back between compose's stop and remove: force it.
      for (const c of await listContainers(engine.api)) await engine.api.remove(c.id).catch(() => undefined);
      await compose(opsEnv, args, lifecycleCompose(engine));
    });
    await stopSupervisor(this.paths);
    if (opts.volumes) await removeSettings(this.paths);
    progress.done();
  }

  async status(): Promise<EnvironmentStatus> {
    const engine = await this.engine();
    return this.statusFrom(await listContainers(engine.api), await readSettings(this.paths), engine);
  }

  private statusFrom(containers: Container[], settings: Settings, engine: Engine): EnvironmentStatus {
    const rank = (s: string) => (SERVICES.includes(s) ? SERVICES.indexOf(s) : SERVICES.length);
    const replicas = containers
      .filter((c) => !c.oneOff)
      .sort((a, b) => rank(a.service) - rank(b.service) || a.number - b.number)
      .map(toReplica);
    return { replicas, endpoints: endpoints(settings, engine) };
  }
}

export function createLocalBackend(paths?: LocalPaths): Backend {
  // The operations (deploy, scale, backup, logs, metrics, reload) live in operations.ts.
  return withOperations(new LocalBackend(paths));
}
