// Container health for the local environment: the wait until every service runs and is healthy,
// and one pass of the supervisor that podman without systemd needs: run due healthchecks, replace
// unhealthy containers, and keep the log store's container map (id -> service|name) current.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Progress } from '../backend.js';
import { TierError } from '../backend.js';
import { type Container, listContainers } from './containers.js';
import type { Engine } from './engine.js';
import type { LocalPaths } from './paths.js';

/** The environment's services in traffic order, helpers (backup, logs, metrics) last: `tier status` lists them so. */
export const SERVICES = [
  'edge',
  'web-lb',
  'web',
  'api-lb',
  'api',
  'db',
  'backup',
  'logs',
  'log-shipper',
  'prometheus',
  'postgres-exporter',
];

/** Services that must be up (and healthy, where they have a healthcheck) for the environment to serve. */
export const REQUIRED_SERVICES = SERVICES.filter((s) => s !== 'backup');

/** What each service still lacks, by service name: "api (2 starting)", "logs (not running)". */
export function pendingServices(all: readonly Container[]): string[] {
  const pending = new Map<string, string[]>();
  for (const s of REQUIRED_SERVICES) {
    if (all.some((c) => c.service === s && c.running)) continue;
    const states = all.filter((c) => c.service === s).map((c) => c.state);
    pending.set(s, states.length ? states : ['not running']);
  }
  for (const c of all) {
    if (!c.running || c.health === 'healthy' || c.health === 'none') continue;
    pending.set(c.service, [...(pending.get(c.service) ?? []), c.health]);
  }
  return [...pending].map(([service, states]) => {
    const counts = [...new Set(states)].map((st) => {
      const n = states.filter((x) => x === st).length;
      return n > 1 ? `${n} ${st}` : st;
    });
    return `${service} (${counts.join(', ')})`;
  });
}

/** Waits until every required service runs and every container with a healthcheck is healthy. */
export async function waitHealthy(engine: Engine, progress: Progress, timeoutMs = 180_000): Promise<Container[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const all = (await listContainers(engine.api)).filter((c) => !c.oneOff);
    const pending = pendingServices(all);
    if (pending.length === 0) return all;
    const healthy = all.filter((c) => c.health === 'healthy').length;
    const line = `${healthy}/${all.length} healthy; waiting for ${pending.join(', ')}`;
    if (line !== last) progress.info(line);
    last = line;
    if (Date.now() > deadline) {
      throw new TierError(
        `not healthy after ${timeoutMs / 1000}s: ${pending.join(', ')}`,
        `look at the logs: ${engine.cli} logs <container>, and .tier/local/supervisor.log for restarts`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---------------------------------------------------------------- supervisor

interface LogMap {
  version: 1;
  nomatch: string;
  type: 'string';
  table: { index: string; value: string }[];
}

export interface SupervisorMemory {
  /** Healthcheck interval (ms) per container id, from its inspect data. */
  readonly intervals: Map<string, number | null>;
  readonly lastCheck: Map<string, number>;
  /** Containers being restarted, so one bad check does not trigger a second restart. */
  readonly restarting: Set<string>;
  mapSignature: string;
}

export const newMemory = (): SupervisorMemory => ({
  intervals: new Map(),
  lastCheck: new Map(),
  restarting: new Set(),
  mapSignature: '',
});

type Log = (event: Record<string, unknown>) => void;

/** A check run that has not answered after this long is a failed check (see superviseOnce). */
const HUNG_CHECK_MS = 4000;
const HUNG_CHECKS = 2;
const hungChecks = new Map<string, number>();

/** Adds the project's containers to the log store's map (entries are kept, so logs of removed containers keep their names) and signals the store. */
export async function updateLogMap(
  engine: Engine,
  paths: LocalPaths,
  containers: Container[],
  memory: SupervisorMemory,
): Promise<void> {
  const existing: LogMap = existsSync(paths.logMapFile)
    ? (JSON.parse(readFileSync(paths.logMapFile, 'utf8')) as LogMap)
    : { version: 1, nomatch: '', type: 'string', table: [] };
  const entries = new Map(existing.table.map((e) => [e.index, e.value]));
  for (const c of containers) {
    const value = `${c.service}|${c.name}`;
    entries.set(c.id, value);
    entries.set(c.id.slice(0, 12), value); // balancers log with their hostname, the short id
  }
  const table = [...entries].map(([index, value]) => ({ index, value })).sort((a, b) => a.index.localeCompare(b.index));
  const signature = JSON.stringify(table);
  if (signature === memory.mapSignature) return;
  await writeFile(paths.logMapFile, JSON.stringify({ ...existing, table }, null, 1));
  memory.mapSignature = signature;
  const store = containers.find((c) => c.service === 'logs' && c.running);
  if (store) await engine.api.kill(store.id, 'HUP').catch(() => undefined);
}

/** One supervisor pass: log map, then due healthchecks (podman), then replace unhealthy containers. */
export async function superviseOnce(
  engine: Engine,
  paths: LocalPaths,
  memory: SupervisorMemory,
  log: Log,
): Promise<void> {
  const containers = await listContainers(engine.api);
  await updateLogMap(engine, paths, containers, memory);
  const now = Date.now();
  await Promise.all(
    containers
      .filter((c) => c.running && !memory.restarting.has(c.id))
      .map(async (c) => {
        let health = c.health;
        if (engine.kind === 'podman') {
          let interval = memory.intervals.get(c.id);
          if (interval === undefined) {
            const info = await engine.api.inspect<{
              Config?: { Healthcheck?: { Test?: string[]; Interval?: number } };
            }>(c.id);
            const hc = info.Config?.Healthcheck;
            interval = hc?.Test && hc.Test[0] !== 'NONE' ? Math.max(1000, (hc.Interval ?? 30e9) / 1e6) : null;
            memory.intervals.set(c.id, interval);
          }
          if (interval === null || now - (memory.lastCheck.get(c.id) ?? 0) < interval) return;
          memory.lastCheck.set(c.id, now);
          // The run's own result is that single check; the container's status applies the
          // start period and the retries, so that is what decides a restart.
          // A hung process (SIGSTOP, deadlock) makes podman's check exec outlive its own timeout by
          // minutes: a run that has not answered within HUNG_CHECK_MS counts as a failed check, and
          // HUNG_CHECKS of those in a row replace the container.
          const ran = await Promise.race([
            engine.api.runHealthcheck(c.id).catch(() => undefined),
            new Promise<'hung'>((r) => setTimeout(() => r('hung'), HUNG_CHECK_MS)),
          ]);
          if (ran === 'hung') {
            const streak = (hungChecks.get(c.id) ?? 0) + 1;
            hungChecks.set(c.id, streak);
            if (streak < HUNG_CHECKS) return;
          } else {
            hungChecks.delete(c.id);
          }
          if (!ran) return;
          const info = await engine.api
            .inspect<{ State?: { Health?: { Status?: string } } }>(c.id)
            .catch(() => undefined);
          health = ran === 'hung' ? 'unhealthy' : ((info?.State?.Health?.Status ?? 'starting') as Container['health']);
        }
        if (health !== 'unhealthy') return;
        memory.restarting.add(c.id);
        log({ msg: 'replacing unhealthy container', container: c.name, service: c.service });
        try {
          await engine.api.restart(c.id, 5);
        } catch (err) {
          log({ msg: 'restart failed', container: c.name, error: (err as Error).message });
        } finally {
          memory.restarting.delete(c.id);
          memory.lastCheck.set(c.id, Date.now());
          hungChecks.delete(c.id);
        }
      }),
  );
  // Forget containers that are gone.
  const ids = new Set(containers.map((c) => c.id));
  for (const id of memory.intervals.keys()) if (!ids.has(id)) memory.intervals.delete(id);
  for (const id of memory.lastCheck.keys()) if (!ids.has(id)) memory.lastCheck.delete(id);
}
