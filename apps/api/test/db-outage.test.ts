// The database goes away and comes back: the API answers 503 with Retry-After quickly, never hangs,
// never crashes, and serves again without a restart.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PostgresCluster } from '../../../test/support/postgres.js';
import { apiIsBlockedOnLock, type RunningApi, startApi, startMigratedPostgres, waitFor } from './support.js';

let db: PostgresCluster;
let api: RunningApi;

before(async () => {
  db = await startMigratedPostgres();
  api = await startApi(db);
});
after(async () => {
  await api?.close();
  await db?.destroy();
});

/** The bound: an answer within 2 s, whatever the database does. */
const ANSWER_WITHIN_MS = 2000;

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${api.url}${path}`, { ...init, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
}

test('DB stopped -> 503 with Retry-After; DB back -> 200 again without restarting the API', async () => {
  // Warm the pool so the outage also kills open connections, not just new ones.
  await Promise.all(Array.from({ length: 5 }, () => request('/api/status')));
  assert.equal((await request('/api/status')).status, 200);

  await db.stop();
  for (const [method, path, body] of [
    ['GET', '/api/status', undefined],
    ['GET', '/api/messages', undefined],
    ['POST', '/api/messages', JSON.stringify({ author: 'x', text: 'during outage' })],
  ] as const) {
    // Several in a row: a pool full of dead connections must not make a later request hang.
    for (let i = 0; i < 3; i++) {
      const res = await request(path, { method, body, headers: body ? { 'content-type': 'application/json' } : {} });
      assert.equal(res.status, 503, `${method} ${path}`);
      assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
      assert.deepEqual(await res.json(), {
        error: 'Service Unavailable',
        message: 'the database is unavailable, retry shortly',
      });
    }
  }
  // Readiness is about draining, not the database: the balancer keeps the replica.
  assert.equal((await fetch(`${api.adminUrl}/readyz`)).status, 200);

  await db.start();
  let status = 0;
  for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
    status = (await request('/api/status')).status;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(status, 200, 'recovered without a restart');
  const posted = await request('/api/messages', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author: 'x', text: 'after outage' }),
  });
  assert.equal(posted.status, 201);
});

test('a query stuck behind a lock is cut by the statement timeout and answered 503', async () => {
  const slow = await startApi(db, { DB_STATEMENT_TIMEOUT_MS: '300' });
  const locker = await db.superuserClient();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
    const res = await fetch(`${slow.url}/api/messages`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
    assert.equal(res.status, 503);
    assert.ok(res.headers.get('retry-after'));
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
    await slow.close();
  }
});

test('a pool with every connection busy answers 503 after the acquisition timeout instead of queueing forever', async () => {
  const tiny = await startApi(db, { DB_POOL_MAX: '1', DB_CONNECT_TIMEOUT_MS: '300', DB_STATEMENT_TIMEOUT_MS: '1500' });
  const locker = await db.superuserClient();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
    // The first request holds the only connection (blocked on the lock); the second cannot get one.
    const blocked = fetch(`${tiny.url}/api/messages`);
    await waitFor('the first request to block on the lock', () => apiIsBlockedOnLock(db));
    const queued = await fetch(`${tiny.url}/api/status`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
    assert.equal(queued.status, 503);
    await locker.query('ROLLBACK');
    assert.ok([200, 503].includes((await blocked).status));
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end();
    await tiny.close();
  }
});
