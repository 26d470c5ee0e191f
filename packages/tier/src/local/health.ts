// Container health for the local environment: the wait until every service runs and is healthy,
// and one pass of the supervisor that podman without systemd needs: run due healthchecks, replace
// unhealthy containers, and keep the log store's container map (id -> service|name) current.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Progress } from '../backend.js';
import { TierError } from '../backend.js';
import { type Container, listContainers } from './containers.js';
import type { Engine, EngineApi, HealthResult } from './engine.js';
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
  /** Hung checks in a row per container id (counted only while the engine answers others). */
  readonly hungStreak: Map<string, number>;
  mapSignature: string;
}

export const newMemory = (): SupervisorMemory => ({
  intervals: new Map(),
  lastCheck: new Map(),
  restarting: new Set(),
  hungStreak: new Map(),
  mapSignature: '',
});

type Log = (event: Record<string, unknown>) => void;

/** What a supervisor pass needs of the engine (tests put a fake here). */
export interface SupervisedEngine {
  readonly kind: Engine['kind'];
  readonly api: Pick<EngineApi, 'containers' | 'inspect' | 'runHealthcheck' | 'restart' | 'kill'>;
}

export interface SupervisorClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: SupervisorClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A check run that has not answered after this long is a hung check (see superviseOnce). */
const HUNG_CHECK_MS = 4000;
const HUNG_CHECKS = 2;

type CheckRun = HealthResult | 'failed' | 'hung';

/** One healthcheck run now, or 'hung' when it has not answered within HUNG_CHECK_MS. */
function timedCheck(engine: SupervisedEngine, id: string, clock: SupervisorClock): Promise<CheckRun> {
  return Promise.race([
    engine.api.runHealthcheck(id).catch((): CheckRun => 'failed'),
    clock.sleep(HUNG_CHECK_MS).then((): CheckRun => 'hung'),
  ]);
}

/** Adds the project's containers to the log store's map (entries are kept, so logs of removed containers keep their names) and signals the store. */
export async function updateLogMap(
  engine: SupervisedEngine,
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

/**
 * One supervisor pass: log map, then due healthchecks (podman), then replace unhealthy containers.
 *
 * A hung process (SIGSTOP, deadlock) makes podman's check exec outlive its own timeout by minutes, so
 * a run that has not answered within HUNG_CHECK_MS is a failed check, and HUNG_CHECKS of those in a
 * row replace the container. But on an overloaded machine (2 cores at load 15-20) every exec is that
 * slow, and counting them restarted db, api, the balancers and prometheus at once. So a slow check
 * counts only when the engine runs other checks in time: another check of the same pass answered
 * within the limit, or, when none did, a control check of another container does. (An engine API
 * call such as inspect is no such proof: it answers while execs, which start processes, crawl.)
 */
export async function superviseOnce(
  engine: SupervisedEngine,
  paths: LocalPaths,
  memory: SupervisorMemory,
  log: Log,
  clock: SupervisorClock = realClock,
): Promise<void> {
  const containers = await listContainers(engine.api);
  await updateLogMap(engine, paths, containers, memory);
  const live = containers.filter((c) => c.running && !memory.restarting.has(c.id));
  const unhealthy =
    engine.kind === 'podman'
      ? await runDueChecks(engine, live, memory, log, clock)
      : live.filter((c) => c.health === 'unhealthy');
  await Promise.all(
    unhealthy.map(async (c) => {
      memory.restarting.add(c.id);
      log({ msg: 'replacing unhealthy container', container: c.name, service: c.service });
      try {
        await engine.api.restart(c.id, 5);
      } catch (err) {
        log({ msg: 'restart failed', container: c.name, error: (err as Error).message });
      } finally {
        memory.restarting.delete(c.id);
        memory.lastCheck.set(c.id, clock.now());
        memory.hungStreak.delete(c.id);
      }
    }),
  );
  // Forget containers that are gone.
  const ids = new Set(containers.map((c) => c.id));
  for (const map of [memory.intervals, memory.lastCheck, memory.hungStreak]) {
    for (const id of map.keys()) if (!ids.has(id)) map.delete(id);
  }
}

/** Runs the healthchecks that are due; resolves with the containers to replace. */
async function runDueChecks(
  engine: SupervisedEngine,
  live: readonly Container[],
  memory: SupervisorMemory,
  log: Log,
  clock: SupervisorClock,
): Promise<Container[]> {
  const now = clock.now();
  const checked: Container[] = [];
  const due: Container[] = [];
  for (const c of live) {
    let interval = memory.intervals.get(c.id);
    if (interval === undefined) {
      const info = await engine.api.inspect<{ Config?: { Healthcheck?: { Test?: string[]; Interval?: number } } }>(
        c.id,
      );
      const hc = info.Config?.Healthcheck;
      interval = hc?.Test && hc.Test[0] !== 'NONE' ? Math.max(1000, (hc.Interval ?? 30e9) / 1e6) : null;
      memory.intervals.set(c.id, interval);
    }
    if (interval === null) continue;
    checked.push(c);
    if (now - (memory.lastCheck.get(c.id) ?? 0) >= interval) due.push(c);
  }
  for (const c of due) memory.lastCheck.set(c.id, now);
  const runs = await Promise.all(due.map(async (c) => ({ c, ran: await timedCheck(engine, c.id, clock) })));
  const hung = runs.filter((r) => r.ran === 'hung').map((r) => r.c);
  let engineAnswers = runs.some((r) => r.ran !== 'hung');
  if (hung.length > 0 && !engineAnswers) {
    const control = checked.find((c) => !hung.includes(c));
    engineAnswers = control !== undefined && (await timedCheck(engine, control.id, clock)) !== 'hung';
    if (!engineAnswers) {
      log({
        msg: 'slow healthchecks not counted: no check answers in time (the machine is overloaded)',
        containers: hung.map((c) => c.name),
        control: control?.name,
      });
    }
  }
  const replace: Container[] = [];
  for (const { c, ran } of runs) {
    if (ran === 'hung') {
      if (!engineAnswers) continue;
      const streak = (memory.hungStreak.get(c.id) ?? 0) + 1;
      memory.hungStreak.set(c.id, streak);
      if (streak >= HUNG_CHECKS) replace.push(c);
      continue;
    }
    memory.hungStreak.delete(c.id);
    if (ran === 'failed') continue;
    // The run's own result is that single check; the container's status applies the start period
    // and the retries, so that is what decides a restart.
    const info = await engine.api.inspect<{ State?: { Health?: { Status?: string } } }>(c.id).catch(() => undefined);
    if (info?.State?.Health?.Status === 'unhealthy') replace.push(c);
  }
  return replace;
}
