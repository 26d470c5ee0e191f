// Container health: the wait list's wording, and the supervisor's pass (healthchecks it runs on
// podman, hung ones, and an overloaded machine on which every check is slow).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describe as describeContainer, type InspectedContainer } from '../src/local/containers.js';
import type { HealthResult } from '../src/local/engine.js';
import {
  newMemory,
  pendingServices,
  REQUIRED_SERVICES,
  type SupervisedEngine,
  superviseOnce,
} from '../src/local/health.js';
import { localPaths } from '../src/local/paths.js';
import { T0, VirtualClock } from './local-support.js';

// Compose v2 names replicas tier-api-1, Compose 1.29 tier_api_1: the wait list speaks in services either way.
const container = (name: string, service: string, state: string, health?: string) =>
  describeContainer({
    Id: name,
    Name: `/${name}`,
    Config: {
      Image: 'localhost/tier-api:v1',
      Labels: { 'com.docker.compose.service': service, 'com.docker.compose.container-number': name.slice(-1) },
    },
    State: {
      Status: state,
      Running: state === 'running',
      ExitCode: 0,
      ...(health ? { Health: { Status: health } } : {}),
    },
    Created: '2026-03-01T10:00:00Z',
  });

describe('pendingServices', () => {
  it('names services, never container names, whichever compose named the containers', () => {
    const healthyRest = REQUIRED_SERVICES.filter((s) => !['api', 'logs', 'edge'].includes(s)).map((s) =>
      container(`tier-${s}-1`, s, 'running', 'healthy'),
    );
    const pending = pendingServices([
      ...healthyRest,
      container('tier-api-1', 'api', 'running', 'starting'),
      container('tier_api_2', 'api', 'running', 'starting'),
      container('tier-edge-1', 'edge', 'running', 'unhealthy'),
      container('tier-logs-1', 'logs', 'exited'),
    ]);
    assert.deepEqual(pending.sort(), ['api (2 starting)', 'edge (unhealthy)', 'logs (exited)']);
  });

  it('says "not running" for a required service that has no container at all', () => {
    const all = REQUIRED_SERVICES.filter((s) => s !== 'db').map((s) =>
      container(`tier-${s}-1`, s, 'running', 'healthy'),
    );
    assert.deepEqual(pendingServices(all), ['db (not running)']);
  });

  it('is empty when every required service runs healthy', () => {
    const all = REQUIRED_SERVICES.map((s) => container(`tier-${s}-1`, s, 'running', 'healthy'));
    assert.deepEqual(pendingServices(all), []);
  });
});

/** How a service's healthcheck exec behaves: answers after `answerMs`, or never (a hung process). */
interface CheckScript {
  readonly answerMs?: number;
  readonly hangs?: boolean;
  /** @default 1000 */
  readonly intervalMs?: number;
}

/** A podman engine with one container per service, answering the supervisor's calls on a virtual clock. */
function supervisedEngine(scripts: Record<string, CheckScript>) {
  const clock = new VirtualClock(T0);
  const restarts: string[] = [];
  const checks: string[] = [];
  const byId = (id: string) => Object.keys(scripts).find((s) => `id-${s}` === id) ?? '';
  const engine: SupervisedEngine = {
    kind: 'podman',
    api: {
      containers: async () => Object.keys(scripts).map((s) => ({ Id: `id-${s}`, Names: [`/tier_${s}_1`] })),
      inspect: async <T>(id: string) => {
        const service = byId(id);
        const found: InspectedContainer & { Config: { Healthcheck: unknown } } = {
          Id: id,
          Name: `/tier_${service}_1`,
          Config: {
            Image: `localhost/tier-${service}:v1`,
            Labels: { 'com.docker.compose.service': service, 'com.docker.compose.container-number': '1' },
            Healthcheck: { Test: ['CMD', 'check'], Interval: (scripts[service]?.intervalMs ?? 1000) * 1e6 },
          },
          State: { Status: 'running', Running: true, ExitCode: 0, Health: { Status: 'healthy' } },
          Created: new Date(T0).toISOString(),
        };
        return found as T;
      },
      runHealthcheck: async (id: string): Promise<HealthResult> => {
        const script = scripts[byId(id)] ?? {};
        checks.push(`${clock.now - T0} ${byId(id)}`);
        if (script.hangs) return new Promise<HealthResult>(() => {});
        await clock.sleep(script.answerMs ?? 50);
        return { Status: 'healthy' };
      },
      restart: async (id: string) => {
        restarts.push(`${clock.now - T0} ${byId(id)}`);
      },
      kill: async () => {},
    },
  };
  const paths = localPaths(mkdtempSync(join(tmpdir(), 'tier-supervisor-')));
  const log: Record<string, unknown>[] = [];
  const memory = newMemory();
  const time = { now: () => clock.now, sleep: (ms: number) => clock.sleep(ms) };
  /** Passes as the supervisor runs them: one, then a second's pause. */
  const passes = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await superviseOnce(engine, paths, memory, (e) => log.push(e), time);
      await clock.sleep(1000);
    }
  };
  return { passes, restarts, checks, log };
}

const SERVICES_UNDER_LOAD = ['db', 'api', 'web-lb', 'api-lb', 'prometheus'];

describe('supervisor: hung healthchecks', () => {
  it('every check slow (an overloaded machine): nothing is restarted, and the log says why', async () => {
    const s = supervisedEngine(Object.fromEntries(SERVICES_UNDER_LOAD.map((name) => [name, { answerMs: 6000 }])));
    await s.passes(4);
    assert.deepEqual(s.restarts, []);
    assert.ok(s.checks.length >= 4 * SERVICES_UNDER_LOAD.length, 'the checks did run');
    assert.match(String(s.log.find((e) => /not counted/.test(String(e.msg)))?.msg), /overloaded/);
  });

  it('one check hung while the others answer: that container is restarted after two hung checks in a row', async () => {
    const scripts: Record<string, CheckScript> = Object.fromEntries(SERVICES_UNDER_LOAD.map((name) => [name, {}]));
    scripts.api = { hangs: true };
    const s = supervisedEngine(scripts);
    await s.passes(1);
    assert.deepEqual(s.restarts, [], 'one hung check is not yet a hung container');
    await s.passes(1);
    assert.equal(s.restarts.length, 1);
    assert.match(s.restarts[0] ?? '', / api$/);
  });

  it('one check hung and no other check due: a control check of another container answers, so it counts', async () => {
    const scripts: Record<string, CheckScript> = Object.fromEntries(
      SERVICES_UNDER_LOAD.map((name) => [name, { intervalMs: 60_000 }]),
    );
    scripts.db = { hangs: true };
    const s = supervisedEngine(scripts);
    await s.passes(2);
    assert.deepEqual(
      s.restarts.map((r) => r.split(' ')[1]),
      ['db'],
    );
    assert.ok(
      s.checks.filter((c) => !c.endsWith(' db')).length > SERVICES_UNDER_LOAD.length - 1,
      'a control check ran',
    );
  });

  it('one check hung while the control is slow too: not counted', async () => {
    const scripts: Record<string, CheckScript> = Object.fromEntries(
      SERVICES_UNDER_LOAD.map((name) => [name, { intervalMs: 60_000, answerMs: 6000 }]),
    );
    scripts.db = { hangs: true };
    const s = supervisedEngine(scripts);
    await s.passes(4);
    assert.deepEqual(s.restarts, []);
  });
});
