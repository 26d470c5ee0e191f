// Graceful shutdown: readiness 503 while draining, then the listener closes, in-flight requests
// finish, onClose hooks (pools) run last; SIGTERM exits 0; a bad setting exits 2.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createService, type Logger, type ServiceSettings } from '../src/index.js';

const settings: ServiceSettings = {
  port: 0,
  host: '127.0.0.1',
  adminPort: 0,
  version: 'test',
  logLevel: 'silent',
  drainMs: 300,
  keepAliveTimeoutMs: 65_000,
  shutdownTimeoutMs: 10_000,
};

function get(port: number, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Service.shutdown', () => {
  test('drains, refuses new connections, finishes the in-flight request, then runs onClose', async () => {
    const service = createService({ tier: 'test', settings, logger: pino({ level: 'silent' }) as Logger });
    const events: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    service.app.get('/slow', async () => {
      started = true;
      await released;
      events.push('slow request finished');
      return { done: true };
    });
    service.app.get('/fast', async () => ({ ok: true }));
    service.app.addHook('onClose', async () => {
      events.push('onClose');
    });
    const { port, adminPort } = await service.listen();
    assert.equal((await get(adminPort, '/readyz')).status, 200);

    const slow = get(port, '/slow');
    await waitFor('the slow request to start', () => started);
    const shutdown = service.shutdown('test');
    // A second signal joins the shutdown in progress instead of starting another.
    const again = service.shutdown('again');

    // Draining: readiness says 503, but requests are still answered, asking clients to reconnect.
    assert.equal(service.isReady(), false);
    const readyz = await get(adminPort, '/readyz');
    assert.equal(readyz.status, 503);
    assert.equal(JSON.parse(readyz.body).status, 'draining');
    const during = await get(port, '/fast');
    assert.equal(during.status, 200);
    assert.equal(during.headers.connection, 'close');

    try {
      await waitFor('the listener to close', () => refused(port));
      assert.deepEqual(events, [], 'nothing closed while a request is in flight');
    } finally {
      release();
    }

    const answer = await slow;
    assert.equal(answer.status, 200);
    await Promise.all([shutdown, again]);
    assert.deepEqual(events, ['slow request finished', 'onClose']);
    assert.ok(await refused(adminPort), 'the admin server is closed last');
  });
});

const FIXTURE = fileURLToPath(new URL('./fixtures/signal-service.ts', import.meta.url));

function runFixture(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('process lifecycle', () => {
  test('SIGTERM shuts down gracefully and exits 0, logging JSON lines', async () => {
    const run = runFixture({
      REQUIRED_FOR_TEST: 'x',
      HOST: '127.0.0.1',
      PORT: '0',
      ADMIN_PORT: '0',
      SHUTDOWN_DRAIN_MS: '100',
      APP_VERSION: 'v-test',
    });
    try {
      await waitFor('the fixture to listen', () => run.stdout().includes('"msg":"listening"'));
      run.child.kill('SIGTERM');
      assert.equal(await run.exited, 0, run.stderr());
      const lines = run
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const messages = lines.map((l) => l.msg);
      assert.deepEqual(messages.slice(-4), [
        'shutdown: draining',
        'shutdown: closing listener, finishing in-flight requests',
        'fixture: pool closed',
        'shutdown: complete',
      ]);
      assert.ok(lines.every((l) => l.tier === 'fixture' && l.version === 'v-test'));
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  test('a missing setting exits 2 with a message naming it and no stack trace', async () => {
    const run = runFixture({ PORT: 'eighty' });
    assert.equal(await run.exited, 2);
    assert.match(run.stderr(), /invalid configuration:/);
    assert.match(run.stderr(), /PORT must be an integer/);
    assert.match(run.stderr(), /REQUIRED_FOR_TEST is required/);
    assert.doesNotMatch(run.stderr(), /\bat .*:\d+:\d+/);
  });
});
