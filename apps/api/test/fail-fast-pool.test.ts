// While the database is unreachable the API must not make every request wait a connect timeout:
// under load those waits queue up in every tier above (seen as 5 s answers during a db restart).
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import type { PostgresCluster } from '../../../test/support/postgres.js';
import { FailFastPool, isDbUnavailable } from '../src/db.js';
import { startMigratedPostgres } from './support.js';

const CONNECT_TIMEOUT_MS = 500;
let db: PostgresCluster;
before(async () => {
  db = await startMigratedPostgres();
});
after(async () => db?.destroy());

/** Accepts connections and never answers: a database whose address swallows everything. */
async function blackHole(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

async function timed(pool: FailFastPool): Promise<{ ms: number; unavailable: boolean }> {
  const start = performance.now();
  try {
    await pool.query('SELECT 1');
    return { ms: performance.now() - start, unavailable: false };
  } catch (err) {
    return { ms: performance.now() - start, unavailable: isDbUnavailable(err) };
  }
}

test('after one connect timeout, queries fail at once as unavailable (one probe at a time)', async () => {
  const hole = await blackHole();
  const pool = new FailFastPool(
    { host: '127.0.0.1', port: hole.port, user: 'x', database: 'x', connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    2000,
  );
  try {
    const first = await timed(pool);
    assert.ok(first.unavailable && first.ms >= CONNECT_TIMEOUT_MS * 0.9, `first waits the timeout (${first.ms} ms)`);
    const next = await Promise.all(Array.from({ length: 20 }, () => timed(pool)));
    const waited = next.filter((r) => r.ms > 100);
    assert.ok(
      next.every((r) => r.unavailable),
      'every query is reported as database unavailable',
    );
    assert.ok(
      waited.length <= 1,
      `only the probe waits; ${waited.length} of 20 waited: ${waited.map((r) => Math.round(r.ms))}`,
    );
  } finally {
    await pool.end().catch(() => undefined);
    await hole.close();
  }
});

test('recovers as soon as a probe connects', async () => {
  const { host, port, user, password, database } = db;
  const pool = new FailFastPool(
    { host, port, user, password, database, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    200,
  );
  try {
    await db.stop();
    assert.equal((await timed(pool)).unavailable, true);
    await db.start();
    await new Promise((r) => setTimeout(r, 250));
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    assert.equal(rows[0]?.one, 1);
  } finally {
    await pool.end();
  }
});

test('a busy pool (waiting past the timeout for a free connection) is not an outage', async () => {
  const { host, port, user, password, database } = db;
  const pool = new FailFastPool({ host, port, user, password, database, max: 1, connectionTimeoutMillis: 200 }, 5000);
  try {
    const held = await pool.connect();
    await assert.rejects(pool.query('SELECT 1'), /timeout exceeded when trying to connect/);
    held.release();
    // Several at once: in a cool-off only one of them (the probe) would run.
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => pool.query('SELECT 1 AS one')));
    assert.deepEqual(
      results.map((r) => r.status),
      Array(5).fill('fulfilled'),
      'the next queries all run: no cool-off after a busy moment',
    );
  } finally {
    await pool.end();
  }
});

test('a probe slower than the cool-off still keeps the others failing fast', async () => {
  const hole = await blackHole();
  // Production's shape: the cool-off (here 100 ms) is shorter than a connect timeout (500 ms).
  const pool = new FailFastPool(
    { host: '127.0.0.1', port: hole.port, user: 'x', database: 'x', connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    100,
  );
  try {
    await timed(pool); // trips
    await new Promise((r) => setTimeout(r, 150)); // cool-off over: the next checkout is the probe
    const probe = timed(pool);
    await new Promise((r) => setTimeout(r, 150)); // past the cool-off again, probe still connecting
    const during = await Promise.all(Array.from({ length: 10 }, () => timed(pool)));
    assert.ok(
      during.every((r) => r.unavailable && r.ms < 100),
      `while the probe connects, the others fail at once: ${during.map((r) => Math.round(r.ms))}`,
    );
    assert.equal((await probe).unavailable, true);
  } finally {
    await pool.end().catch(() => undefined);
    await hole.close();
  }
});
