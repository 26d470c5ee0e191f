// Fuzzing the whole public surface through the edge (Varnish -> balancers -> replicas -> PostgreSQL)
// with the generator the tiers' own tests use (test/support/fuzz.ts): no 5xx, nothing slower than
// the tiers' timeouts allow, no stack trace, and every acknowledged message readable afterwards.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { EnvReader } from '@tier/runtime';
import { readApiConfig } from '../../apps/api/src/config.js';
import { readWebSettings } from '../../apps/web/src/config.js';
import { fuzzSettings, fuzzSurface, type PublicRoute } from '../support/fuzz.js';
import { tierRoutes } from '../support/routes.js';
import { ensureEnvironment } from './support/ops.js';

let edge = 'http://127.0.0.1:8080';

/**
 * The slowest answer the design allows through the edge: the web tier's two API rounds (a refused
 * form) at the images' default API_TIMEOUT_MS, plus a second for the edge and two balancers.
 */
function edgeBudgetMs(): number {
  const { apiTimeoutMs } = readWebSettings({ API_HOST: 'http://api-lb:8081' });
  const { connectTimeoutMs, statementTimeoutMs } = readApiConfig(
    new EnvReader({ DB: 'x', DBUSER: 'x', DBPASS: 'x', DBHOST: 'x' }),
  ).db;
  return Math.max(2 * apiTimeoutMs, connectTimeoutMs + statementTimeoutMs + 300) + 1000;
}

describe('fuzzing through the edge (local environment)', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    edge = (await ensureEnvironment()).endpoints.edge ?? edge;
  });

  it('every route of both tiers answers 2xx/3xx/4xx in time, without stack traces, and loses nothing acknowledged', async (t) => {
    const routes: PublicRoute[] = await tierRoutes();
    assert.ok(routes.some((r) => r.url.startsWith('/api/')) && routes.some((r) => r.url === '/'), 'both tiers');
    const report = await fuzzSurface({
      baseUrl: edge,
      apiBaseUrl: edge,
      routes,
      budgetMs: edgeBudgetMs(),
      ...fuzzSettings(400),
    });
    t.diagnostic(JSON.stringify(report));
    assert.deepEqual(report.lost, [], 'every acknowledged message is readable through the edge');
    assert.ok(report.accepted > 0, 'some generated messages were valid and stored (the property was exercised)');
  });
});
