// The API's settings, read once from the environment into a frozen, typed object.
import { readFileSync } from 'node:fs';
import { DEFAULT_ADMIN_PORTS, type EnvReader, readServiceSettings, type ServiceSettings } from '@tier/runtime';

export type DbSslMode = 'off' | 'require' | 'verify-full';

export interface DbSettings {
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
  /** off: plain TCP; require: TLS (chain verified only with a CA bundle); verify-full: chain and host name. */
  readonly sslMode: DbSslMode;
  /** PEM bundle read from DBSSL_CA_FILE at start-up (e.g. the RDS global bundle). */
  readonly sslCa: string | undefined;
  readonly poolMax: number;
  /** Bounds both opening a connection and waiting for a free one in the pool. */
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
}

export interface ApiConfig {
  readonly service: ServiceSettings;
  readonly db: DbSettings;
}

export function readDbSettings(env: EnvReader): DbSettings {
  const sslMode = env.oneOf('DBSSL', ['off', 'require', 'verify-full'] as const, 'off');
  const caFile = env.optional('DBSSL_CA_FILE');
  let sslCa: string | undefined;
  const settings = {
    database: env.string('DB'),
    user: env.string('DBUSER'),
    password: env.string('DBPASS'),
    host: env.string('DBHOST'),
    port: env.port('DBPORT', 5432),
    sslMode,
    poolMax: env.int('DB_POOL_MAX', 10, 1, 1000),
    connectTimeoutMs: env.int('DB_CONNECT_TIMEOUT_MS', 1500, 100, 60_000),
    statementTimeoutMs: env.int('DB_STATEMENT_TIMEOUT_MS', 1500, 100, 3_600_000),
  };
  env.check((problem) => {
    if (caFile === undefined) return;
    if (sslMode === 'off') problem('DBSSL_CA_FILE is set but DBSSL is off (use DBSSL=require or verify-full)');
    try {
      sslCa = readFileSync(caFile, 'utf8');
      if (!sslCa.includes('-----BEGIN CERTIFICATE-----')) problem(`DBSSL_CA_FILE has no PEM certificate (${caFile})`);
    } catch (err) {
      problem(`DBSSL_CA_FILE cannot be read (${caFile}): ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  });
  return Object.freeze({ ...settings, sslCa });
}

/** The API's own login user, which the migrate job creates or updates (APP_DBUSER, APP_DBPASS). */
export interface AppUserSettings {
  readonly user: string;
  readonly password: string;
}

/**
 * The migrate job's settings: it connects as the owner (DBUSER, DBPASS) and, when APP_DBUSER and
 * APP_DBPASS are set, provisions the API's user with them; with neither set the API logs in as the
 * owner, as the original app did.
 */
export function readMigrateConfig(env: EnvReader): { readonly db: DbSettings; readonly appUser?: AppUserSettings } {
  // Either one set makes both required (reported with the DB settings' problems, below).
  const wanted = env.optional('APP_DBUSER') !== undefined || env.optional('APP_DBPASS') !== undefined;
  const user = wanted ? env.string('APP_DBUSER') : undefined;
  const password = wanted ? env.string('APP_DBPASS') : undefined;
  const db = readDbSettings(env);
  return Object.freeze({ db, ...(user && password ? { appUser: Object.freeze({ user, password }) } : {}) });
}

export function readApiConfig(env: EnvReader): ApiConfig {
  // Service settings first, DB second: check() inside readDbSettings reports the problems of both.
  const service = Object.freeze(readServiceSettings(env, { adminPort: DEFAULT_ADMIN_PORTS.api }));
  const db = readDbSettings(env);
  return Object.freeze({ service, db });
}
