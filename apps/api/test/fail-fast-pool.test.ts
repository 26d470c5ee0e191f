// While the database is unreachable the API must not make every request wait a connect timeout:
// under load those waits queue up in every tier above (seen as 5 s answers during a db restart).
// A real PostgreSQL for shutdowns and lost sessions; a socket that swallows everything for an
// address that answers nothing.
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
async function blackHole(onPort = 0): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(onPort, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Runs `use` with a pool whose database swallows every connection attempt. */
async function withBlackHolePool(retryMs: number, use: (pool: FailFastPool) => Promise<void>): Promise<void> {
  const hole = await blackHole();
  const pool = new FailFastPool(
    { host: '127.0.0.1', port: hole.port, user: 'x', database: 'x', connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    retryMs,
  );
  try {
    await use(pool);
  } finally {
    await pool.end().catch(() => undefined);
    await hole.close();
  }
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

test('after a few connect timeouts, queries fail at once as unavailable', async () => {
  await withBlackHolePool(2000, async (pool) => {
    const first = await Promise.all(Array.from({ length: 3 }, () => timed(pool)));
    assert.ok(
      first.every((r) => r.unavailable && r.ms >= CONNECT_TIMEOUT_MS * 0.9),
      `the first ones wait the timeout (${first.map((r) => Math.round(r.ms))} ms)`,
    );
    const next = await Promise.all(Array.from({ length: 20 }, () => timed(pool)));
    assert.ok(
      next.every((r) => r.unavailable && r.ms < 100),
      `then every query fails at once as unavailable: ${next.map((r) => Math.round(r.ms))} ms`,
    );
  });
});

test('serves again as soon as the database is back', async () => {
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

/** Waits until the pool is (or is no longer) failing fast; fails after `withinMs`. */
async function untilFailingFast(pool: FailFastPool, expected: boolean, withinMs: number): Promise<number> {
  const start = performance.now();
  while (pool.failingFast !== expected) {
    assert.ok(performance.now() - start < withinMs, `failingFast is not ${expected} within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - start;
}

test('a database shutdown fails queries at once, and they run again as soon as it is back', async () => {
  const { host, port, user, password, database } = db;
  const pool = new FailFastPool(
    { host, port, user, password, database, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    200,
  );
  pool.on('error', () => undefined);
  let hole: Awaited<ReturnType<typeof blackHole>> | undefined;
  try {
    await pool.query('SELECT 1'); // an idle connection, which the shutdown ends (57P01)
    await db.stop();
    // Its address now swallows connection attempts, as a stopped container's does.
    hole = await blackHole(port);
    await untilFailingFast(pool, true, 1000);
    const down = await Promise.all(Array.from({ length: 10 }, () => timed(pool)));
    assert.ok(
      down.every((r) => r.unavailable && r.ms < 100),
      `no query waits for the gone database: ${down.map((r) => Math.round(r.ms))} ms`,
    );
    await hole.close();
    hole = undefined;
    await db.start();
    await untilFailingFast(pool, false, 5000);
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    assert.equal(rows[0]?.one, 1);
  } finally {
    await hole?.close();
    await pool.end();
  }
});

test('one lost session is not an outage: the probe connects at once and queries run again', async () => {
  const { host, port, user, password, database } = db;
  const pool = new FailFastPool(
    { host, port, user, password, database, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    5000,
  );
  pool.on('error', () => undefined);
  const admin = new FailFastPool({ host, port, user, password, database });
  try {
    await pool.query("SET application_name = 'victim'");
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim'");
    while (pool.totalCount > 0) await new Promise((r) => setTimeout(r, 5)); // the lost session seen
    // Queries run again after the probe's first attempt, long before the 5 s retry interval.
    const seen = performance.now();
    for (;;) {
      const { unavailable } = await timed(pool);
      if (!unavailable) break;
      assert.ok(performance.now() - seen < 1000, 'queries run again within a second');
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await Promise.all([pool.end(), admin.end()]);
  }
});

test('a busy pool (waiting past the timeout for a free connection) is not an outage', async () => {
  const { host, port, user, password, database } = db;
  const pool = new FailFastPool({ host, port, user, password, database, max: 1, connectionTimeoutMillis: 200 }, 5000);
  try {
    const held = await pool.connect();
    await assert.rejects(pool.query('SELECT 1'), /timeout exceeded when trying to connect/);
    held.release();
    // Several at once: in a cool-off every one of them would fail.
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

test('one failed connection is not an outage: the next queries still try', async () => {
  await withBlackHolePool(5000, async (pool) => {
    await timed(pool);
    const second = await timed(pool);
    assert.ok(second.ms >= CONNECT_TIMEOUT_MS * 0.9, `the second query really tried (${Math.round(second.ms)} ms)`);
  });
});
