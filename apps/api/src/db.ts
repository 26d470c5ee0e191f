// The one shared PostgreSQL pool: bounded connect/acquire/statement times, pool gauges, and the
// rule that tells "database unavailable" (503, retry) apart from a bug (500).
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '@tier/runtime';
import pg from 'pg';
import { Gauge, type Registry } from 'prom-client';
import type { DbSettings } from './config.js';

export function sslOptions(db: DbSettings): false | ConnectionOptions {
  if (db.sslMode === 'off') return false;
  if (db.sslMode === 'verify-full') return { rejectUnauthorized: true, ...(db.sslCa ? { ca: db.sslCa } : {}) };
  // require: encrypted; with a CA bundle the chain is verified too (libpq's verify-ca), without one it cannot be.
  if (db.sslCa) return { rejectUnauthorized: true, ca: db.sslCa, checkServerIdentity: () => undefined };
  return { rejectUnauthorized: false };
}

export function poolConfig(db: DbSettings, applicationName: string): pg.PoolConfig {
  return {
    host: db.host,
    port: db.port,
    database: db.database,
    user: db.user,
    password: db.password,
    ssl: sslOptions(db),
    max: db.poolMax,
    // pg-pool applies this to opening a connection AND to waiting for a free one: no request queues forever.
    connectionTimeoutMillis: db.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    // Server-side limit, plus a client-side one in case the server cannot even answer (hung or
    // partitioned): with the defaults a request that reached the pool ends within about 2 s.
    statement_timeout: db.statementTimeoutMs,
    query_timeout: db.statementTimeoutMs + 300,
    keepAlive: true,
    application_name: applicationName,
  };
}

/**
 * A failed attempt to reach the database, as opposed to waiting too long for a free connection of
 * a busy pool (pg-pool's "timeout exceeded when trying to connect"): a burst must not look like an
 * outage, or the breaker would turn a moment of saturation into a second of 503s for everyone.
 */
function isUnreachable(err: unknown): boolean {
  return isDbUnavailable(err) && !/timeout exceeded when trying to connect/i.test((err as Error).message);
}

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, release: () => void) => void;

/**
 * A pool that fails fast while the database is unreachable. After `tripAfter` attempts in a row
 * failed to reach it, checkouts fail at once for `coolOffMs`; then connections are tried again.
 * Without it every request waits a whole connect timeout while the database is gone (its address
 * answers nothing during a restart), and under load those waits queue up behind each other in
 * every tier above: 503s in milliseconds instead of seconds. Several failures, not one: a single
 * slow connect (a new replica on a busy host) must not turn a healthy database into a second of
 * 503s for a whole replica.
 */
export class FailFastPool extends pg.Pool {
  #failures = 0;
  #downUntil = 0;

  constructor(
    config: pg.PoolConfig,
    private readonly coolOffMs = 1000,
    private readonly tripAfter = 3,
  ) {
    super(config);
  }

  // Overrides both forms: pool.query() checks out through the callback form.
  // biome-ignore lint/suspicious/noExplicitAny: pg's overloads (promise and callback) in one signature
  override connect(callback?: ConnectCallback): any {
    const checkout = this.#checkout();
    if (!callback) return checkout;
    checkout.then(
      (client) => callback(undefined, client, (err?: Error | boolean) => client.release(err)),
      (err: Error) => callback(err, undefined, () => undefined),
    );
  }

  async #checkout(): Promise<pg.PoolClient> {
    if (Date.now() < this.#downUntil) {
      throw Object.assign(new Error('database unavailable: failing fast after failed connections'), {
        code: '08006', // connection_failure
      });
    }
    try {
      const client = await super.connect();
      this.#failures = 0;
      return client;
    } catch (err) {
      if (isUnreachable(err) && ++this.#failures >= this.tripAfter) {
        this.#downUntil = Date.now() + this.coolOffMs;
        this.#failures = 0;
      }
      throw err;
    }
  }
}

export function createPool(db: DbSettings, log: Logger, registry: Registry): pg.Pool {
  const pool = new FailFastPool(poolConfig(db, 'tier-api'));
  // An idle connection dropped by the server (restart, failover) must not crash the process.
  pool.on('error', (err) =>
    log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'db: idle connection lost'),
  );
  registerPoolGauges(pool, registry);
  return pool;
}

function registerPoolGauges(pool: pg.Pool, registry: Registry): void {
  const gauges: Array<[string, string, () => number]> = [
    ['db_pool_total', 'Connections open in the pool (idle and in use).', () => pool.totalCount],
    ['db_pool_idle', 'Connections open and idle in the pool.', () => pool.idleCount],
    ['db_pool_waiting', 'Queries waiting for a free pool connection.', () => pool.waitingCount],
  ];
  for (const [name, help, read] of gauges) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  }
}

// SQLSTATE classes and codes that mean "the database cannot serve right now", not "this query is wrong".
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovery)
  '57014', // query_canceled (statement_timeout)
  '53300', // too_many_connections
  '53000', // insufficient_resources
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '25006', // read_only_sql_transaction (a failover left us on a standby)
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const UNAVAILABLE_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /query read timeout/i,
  /not queryable/i,
  /Connection terminated unexpectedly/i,
];

export function isDbUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true;
  }
  if (err instanceof AggregateError) return err.errors.some(isDbUnavailable);
  return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(err.message));
}
