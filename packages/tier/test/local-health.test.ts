import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describe as describeContainer } from '../src/local/containers.js';
import { pendingServices, REQUIRED_SERVICES } from '../src/local/health.js';

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
