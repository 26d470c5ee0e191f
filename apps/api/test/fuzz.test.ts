// Fuzzing every public route of the API (from its own route table) against a real PostgreSQL: no
// 5xx, no answer slower than the API's timeouts, no stack trace, and every 201 readable afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EnvReader } from '@tier/runtime';
import { fuzzSettings, fuzzSurface } from '../../../test/support/fuzz.js';
import type { PostgresCluster } from '../../../test/support/postgres.js';
import { readApiConfig } from '../src/config.js';
import { type RunningApi, startApi, startMigratedPostgres } from './support.js';

let db: PostgresCluster;
let running: RunningApi;

before(async () => {
  db = await startMigratedPostgres();
  running = await startApi(db);
});
after(async () => {
  await running?.close();
  await db?.destroy();
});

test('fuzzed requests to every API route get 2xx/4xx in time, without stack traces, and lose nothing acknowledged', async (t) => {
  // A request waits at most for a pool connection, then for its statement (query_timeout adds 300 ms).
  const { connectTimeoutMs, statementTimeoutMs } = readApiConfig(new EnvReader(db.env())).db;
  const report = await fuzzSurface({
    baseUrl: running.url,
    apiBaseUrl: running.url,
    routes: running.api.routes,
    budgetMs: connectTimeoutMs + statementTimeoutMs + 300,
    ...fuzzSettings(2000),
  });
  t.diagnostic(JSON.stringify(report));
  assert.deepEqual(report.lost, [], 'every acknowledged message is readable');
  assert.ok(report.accepted > 0, 'some generated messages were valid and stored (the property was exercised)');
});
