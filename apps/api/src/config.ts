// The API's settings, read once from the environment into a frozen, typed object.
import { readFileSync } from 'node:fs';
import { DEFAULT_ADMIN_PORTS, type EnvReader, readServiceSettings, type ServiceSettings } from '@tier/runtime';

export type DbSslMode = 'off' | 'require' | 'verify-full';

/**
 * Where the password comes from: exactly one of DBPASS (fixed), DBPASS_FILE (re-read when the file
 * changes) or DBCREDENTIALS_ARN (Secrets Manager, cached DBCREDENTIALS_CACHE_MS). A file or secret may hold
 * {"username", "password"} (then its user wins over DBUSER) or, a file only, a bare password.
 */
export type PasswordSettings =
  | { readonly from: 'env'; readonly value: string }
  | { readonly from: 'file'; readonly file: string }
  | { readonly from: 'secretsmanager'; readonly secretArn: string; readonly cacheMs: number };

export interface DbSettings {
  readonly database: string;
  /** DBUSER; may be left out when the password's source names the user. */
  readonly user: string | undefined;
  readonly password: PasswordSettings;
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

// Named for what it points at, not "SECRET": it is an ARN, and the deploy-time rule that keeps secret
// values out of task environments (infra/aws tier-service.ts) rejects names with SECRET/PASS/KEY.
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;

/** The password's source, and what is wrong with it (reported with the other DB settings' problems). */
function readPasswordSettings(env: EnvReader): { settings: PasswordSettings; problems: string[] } {
  const value = env.optional('DBPASS');
  const file = env.optional('DBPASS_FILE');
  const secretArn = env.optional('DBCREDENTIALS_ARN');
  const cacheMs = env.int('DBCREDENTIALS_CACHE_MS', 300_000, 0, 86_400_000);
  const problems: string[] = [];
  const given = [value && 'DBPASS', file && 'DBPASS_FILE', secretArn && 'DBCREDENTIALS_ARN'].filter(Boolean);
  if (given.length > 1) problems.push(`set one of DBPASS, DBPASS_FILE, DBCREDENTIALS_ARN (got ${given.join(', ')})`);
  if (secretArn && !SECRET_ARN.test(secretArn)) {
    problems.push(`DBCREDENTIALS_ARN must be a Secrets Manager secret ARN (got "${secretArn}")`);
  }
  if (file) return { settings: { from: 'file', file }, problems };
  if (secretArn) return { settings: { from: 'secretsmanager', secretArn, cacheMs }, problems };
  // The original contract: DBPASS is required when no other source is given.
  return { settings: { from: 'env', value: env.string('DBPASS') }, problems };
}

export function readDbSettings(env: EnvReader): DbSettings {
  const sslMode = env.oneOf('DBSSL', ['off', 'require', 'verify-full'] as const, 'off');
  const caFile = env.optional('DBSSL_CA_FILE');
  let sslCa: string | undefined;
  const { settings: password, problems: passwordProblems } = readPasswordSettings(env);
  const settings = {
    database: env.string('DB'),
    // A secret names its user (it changes with each rotation of a multi-user secret).
    user: password.from === 'secretsmanager' ? env.optional('DBUSER') : env.string('DBUSER'),
    password,
    host: env.string('DBHOST'),
    port: env.port('DBPORT', 5432),
    sslMode,
    poolMax: env.int('DB_POOL_MAX', 10, 1, 1000),
    connectTimeoutMs: env.int('DB_CONNECT_TIMEOUT_MS', 1500, 100, 60_000),
    statementTimeoutMs: env.int('DB_STATEMENT_TIMEOUT_MS', 1500, 100, 3_600_000),
  };
  env.check((problem) => {
    for (const message of passwordProblems) problem(message);
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
