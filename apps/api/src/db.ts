// The one shared PostgreSQL pool: bounded connect/acquire/statement times, pool gauges, and the
// rule that tells "database unavailable" (503, retry) apart from a bug (500).
import { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { cachedLookup, type Logger } from '@tier/runtime';
import pg from 'pg';
import { Gauge, type Registry } from 'prom-client';
import type { DbSettings } from './config.js';
import { type CredentialSource, createCredentialSource, type SourceSeams } from './credentials.js';

export function sslOptions(db: DbSettings): false | ConnectionOptions {
  if (db.sslMode === 'off') return false;
  if (db.sslMode === 'verify-full') return { rejectUnauthorized: true, ...(db.sslCa ? { ca: db.sslCa } : {}) };
  // require: encrypted; with a CA bundle the chain is verified too (libpq's verify-ca), without one it cannot be.
  if (db.sslCa) return { rejectUnauthorized: true, ca: db.sslCa, checkServerIdentity: () => undefined };
  return { rejectUnauthorized: false };
}

/** Connection settings without credentials: those come from a CredentialSource per connection. */
export function poolConfig(db: DbSettings, applicationName: string): pg.PoolConfig {
  return {
    host: db.host,
    port: db.port,
    database: db.database,
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
  // A refused password or an unreadable secret: the server (or the store) answered; failing fast
  // would not help, and would hide the refresh that fixes a rotation.
  if (isAuthFailure(err) || (err as { code?: unknown })?.code === 'ECREDENTIALS') return false;
  return isDbUnavailable(err) && !/timeout exceeded when trying to connect/i.test((err as Error).message);
}

/** The server refused the user or password (SQLSTATE 28P01 invalid_password, 28000 invalid authorization). */
function isAuthFailure(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '28P01' || code === '28000';
}

/** The credentials were refused again after reading them anew: a wrong secret, not a rotation. */
export class CredentialsRefusedError extends Error {
  readonly code: string;
  constructor(user: string, origin: string, cause: Error & { code?: string }) {
    super(
      `the database refused user ${user} with the password from ${origin}, also after reading it again: ${cause.message}`,
      { cause },
    );
    this.code = cause.code ?? '28P01';
  }
}

/**
 * A pg Client whose user and password are the source's at the time it is created, as one pair
 * (a rotation may change both); pg asks for the password while it authenticates.
 */
function clientWithCredentials(source: CredentialSource): typeof pg.Client {
  return class CredentialedClient extends pg.Client {
    constructor(config: pg.ClientConfig = {}) {
      const pair = source.cached();
      super({
        ...config,
        user: pair?.user ?? config.user,
        password: async () => (pair ?? (await source.current())).password,
        stream: dbSocket,
      });
    }
  };
}

/**
 * The database's name resolved once and then refreshed in the background (a new replica's first
 * connections otherwise wait on the engine's resolver, which drops queries while containers start,
 * past the connect timeout). The host name itself stays the connection's, for TLS verification.
 */
const lookup = cachedLookup();
class CachedLookupSocket extends Socket {
  override connect(...args: unknown[]): this {
    const [port, host] = args;
    // pg calls connect(port, host) for TCP and connect(path) for a Unix socket (left as it is).
    if (typeof host === 'string' && /^\d+$/.test(String(port))) {
      return super.connect({ port: Number(port), host, lookup });
    }
    return (super.connect as (...a: unknown[]) => this)(...args);
  }
}
const dbSocket = () => new CachedLookupSocket();

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

  private readonly config: pg.PoolConfig;

  constructor(
    config: pg.PoolConfig,
    private readonly retryMs = 1000,
    private readonly tripAfter = 3,
    /** Told when checkouts start or stop failing fast (the API logs both). */
    private readonly onChange: (failingFast: boolean, why: string) => void = () => undefined,
    /** Credentials read per new connection, and read again once when the server refuses them. */
    private readonly credentials?: CredentialSource,
  ) {
    const withCredentials = credentials ? { ...config, Client: clientWithCredentials(credentials) } : config;
    super(withCredentials);
    this.config = withCredentials;
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
      const client = await this.#connectWithCredentials();
      this.#failures = 0;
      return client;
    } catch (err) {
      if (isUnreachable(err) && ++this.#failures >= this.tripAfter) {
        this.#trip(`${this.tripAfter} connections in a row failed: ${(err as Error).message}`);
      }
      throw err;
    }
  }

  /**
   * One connection: the source's credentials made current first (a changed file, an expired cache),
   * and on a refusal read once more and retried once, so a rotation costs no request.
   */
  async #connectWithCredentials(): Promise<pg.PoolClient> {
    if (!this.credentials) return super.connect();
    const used = await this.credentials.current();
    try {
      return await super.connect();
    } catch (err) {
      if (!isAuthFailure(err)) throw err;
      const fresh = await this.credentials.refresh(used);
      try {
        return await super.connect();
      } catch (again) {
        if (!isAuthFailure(again)) throw again;
        throw new CredentialsRefusedError(fresh.user, this.credentials.origin, again as Error);
      }
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
      const client = new (this.config.Client ?? pg.Client)(this.config) as pg.Client;
      client.on('error', () => undefined);
      try {
        await this.credentials?.current();
        await client.connect();
        this.#open = false;
        this.onChange(false, 'a connection succeeded');
        return;
      } catch (err) {
        // A refused password means the server is back: serve (checkouts refresh the credentials).
        if (isAuthFailure(err)) {
          this.#open = false;
          this.onChange(false, 'the server answered (it refused the credentials)');
          return;
        }
        await new Promise((resolve) => {
          this.#timer = setTimeout(resolve, this.retryMs);
        });
      } finally {
        client.end().catch(() => undefined);
      }
    }
  }
}

export function createPool(db: DbSettings, log: Logger, registry: Registry, seams: SourceSeams = {}): pg.Pool {
  const credentials = createCredentialSource(db.user, db.password, seams);
  const pool = new FailFastPool(
    poolConfig(db, 'tier-api'),
    1000,
    3,
    (failingFast, why) =>
      failingFast
        ? log.warn({ why }, 'db: failing fast until a connection succeeds')
        : log.info({ why }, 'db: connections succeed again'),
    credentials,
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
  '28P01', // invalid_password: refused also after reading the credentials again (retry after a fix)
  '28000', // invalid_authorization_specification
]);
const NETWORK_CODES = new Set([
  'ECREDENTIALS', // the credential source (file, Secrets Manager) could not be read
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
