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
 * outage, or the breaker would turn a moment of saturation into 503s for everyone.
 */
function isUnreachable(err: unknown): boolean {
  return isDbUnavailable(err) && !/timeout exceeded when trying to connect/i.test((err as Error).message);
}

/** The server ended the session (shutdown, restart, failover) or the connection broke under it. */
function isSessionLost(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (code === '57P01' || code === '57P02' || code === '57P03') return true;
  return /connection terminated|ECONNRESET/i.test((err as Error)?.message ?? '');
}

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, release: () => void) => void;

/**
 * A pool that fails fast while the database is unreachable. It opens (checkouts fail at once as
 * unavailable) when the server ends a session (a shutdown tells every connection) or after
 * `tripAfter` connection attempts in a row failed; then a probe of its own, not a request, tries
 * a connection every `retryMs` and closes it again on the first success. Without it every request
 * waits a whole connect timeout while the database is gone (its address answers nothing during a
 * restart), and under load those waits queue up in every tier above. Several failed attempts, not
 * one: a single slow connect (a new replica on a busy host) is not an outage; a single lost
 * session costs only the probe's one connection time.
 */
export class FailFastPool extends pg.Pool {
  #failures = 0;
  #open = false;
  #ended = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.PoolConfig,
    private readonly retryMs = 1000,
    private readonly tripAfter = 3,
    /** Told when checkouts start or stop failing fast (the API logs both). */
    private readonly onChange: (failingFast: boolean, why: string) => void = () => undefined,
  ) {
    super(config);
    // An idle connection ended by the server: the database announced it is going away.
    this.on('error', (err) => {
      if (isSessionLost(err)) this.#trip(`the server ended an idle session: ${err.message}`);
    });
  }

  /** Failing fast: checkouts are refused until the probe connects. */
  get failingFast(): boolean {
    return this.#open;
  }

  // Overrides both forms: pool.query() checks out through the callback form (and releases with
  // the query's error, which is how a session lost mid-query is seen).
  // biome-ignore lint/suspicious/noExplicitAny: pg's overloads (promise and callback) in one signature
  override connect(callback?: ConnectCallback): any {
    const checkout = this.#checkout();
    if (!callback) return checkout;
    checkout.then(
      (client) =>
        callback(undefined, client, (err?: Error | boolean) => {
          if (err instanceof Error && isSessionLost(err)) this.#trip(`a session ended under a query: ${err.message}`);
          client.release(err);
        }),
      (err: Error) => callback(err, undefined, () => undefined),
    );
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg's overloads (promise and callback) in one signature
  override end(callback?: () => void): any {
    this.#ended = true;
    clearTimeout(this.#timer);
    return callback ? super.end(callback) : super.end();
  }

  async #checkout(): Promise<pg.PoolClient> {
    if (this.#open) {
      throw Object.assign(new Error('database unavailable: failing fast until it accepts a connection again'), {
        code: '08006', // connection_failure
      });
    }
    try {
      const client = await super.connect();
      this.#failures = 0;
      return client;
    } catch (err) {
      if (isUnreachable(err) && ++this.#failures >= this.tripAfter) {
        this.#trip(`${this.tripAfter} connections in a row failed: ${(err as Error).message}`);
      }
      throw err;
    }
  }

  #trip(why: string): void {
    this.#failures = 0;
    if (this.#open || this.#ended) return;
    this.#open = true;
    this.onChange(true, why);
    this.#probe().catch((err: Error) => {
      // Never stay open without a probe: serve (and find out) rather than refuse forever.
      this.#open = false;
      this.onChange(false, `probe failed unexpectedly: ${err.message}`);
    });
  }

  async #probe(): Promise<void> {
    while (!this.#ended) {
      const client = new pg.Client(this.config);
      client.on('error', () => undefined);
      try {
        await client.connect();
        this.#open = false;
        this.onChange(false, 'a connection succeeded');
        return;
      } catch {
        await new Promise((resolve) => {
          this.#timer = setTimeout(resolve, this.retryMs);
        });
      } finally {
        client.end().catch(() => undefined);
      }
    }
  }
}

export function createPool(db: DbSettings, log: Logger, registry: Registry): pg.Pool {
  const pool = new FailFastPool(poolConfig(db, 'tier-api'), 1000, 3, (failingFast, why) =>
    failingFast
      ? log.warn({ why }, 'db: failing fast until a connection succeeds')
      : log.info({ why }, 'db: connections succeed again'),
  );
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
