// Graceful shutdown of the real built server: SIGTERM -> readiness 503 -> listener closed (new
// connections refused) -> the in-flight request completes -> pool closed -> exit 0.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { freePort, type PostgresCluster } from '../../../test/support/postgres.js';
import { logLines, runNode } from './server-process.js';
import { apiIsBlockedOnLock, startMigratedPostgres, waitFor } from './support.js';

let db: PostgresCluster;

before(async () => {
  db = await startMigratedPostgres();
});
after(async () => {
  await db?.destroy();
});

function post(port: number, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false -> a connection of its own, like a client that was mid-request when SIGTERM came.
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/messages',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

test('SIGTERM: readiness 503, new connections refused, the in-flight POST completes, exit 0', async () => {
  const [port, adminPort] = [await freePort(), await freePort()];
  const server = runNode('server.js', {
    ...db.env(),
    HOST: '127.0.0.1',
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    SHUTDOWN_DRAIN_MS: '500',
    // The blocked POST must outlive the drain without being cut by the statement timeout.
    DB_STATEMENT_TIMEOUT_MS: '30000',
    APP_VERSION: 'shutdown-test',
  });
  try {
    await waitFor('the server to listen', async () => logLines(server).some((l) => l.msg === 'listening'));

    // Hold a table lock so the POST is genuinely in flight (waiting in PostgreSQL) during SIGTERM.
    const locker = await db.superuserClient();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
    const inFlight = post(port, { author: 'slow', text: 'in flight during SIGTERM' });
    let settled = false;
    void inFlight.finally(() => {
      settled = true;
    });
    await waitFor('the POST to block on the lock', () => apiIsBlockedOnLock(db));

    server.process.kill('SIGTERM');
    await waitFor('readiness to turn 503', async () => {
      const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined);
      return res?.status === 503;
    });
    await waitFor('new connections to be refused', () => connectionRefused(port));
    assert.equal(settled, false, 'the POST is still in flight after the listener closed');

    await locker.query('COMMIT');
    await locker.end();
    const answer = await inFlight;
    assert.equal(answer.status, 201, answer.body);
    assert.equal(JSON.parse(answer.body).text, 'in flight during SIGTERM');

    assert.equal(await server.exited, 0, server.stderr());
    const messages = logLines(server).map((l) => l.msg);
    assert.ok(messages.indexOf('shutdown: draining') < messages.indexOf('shutdown: complete'));
    assert.ok(logLines(server).every((l) => l.tier === 'api' && l.version === 'shutdown-test'));
  } finally {
    server.process.kill('SIGKILL');
  }
});
