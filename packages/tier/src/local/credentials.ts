// The API's database credentials in the local environment, rotated the way Secrets Manager's
// alternating-users rotation does on AWS: the API reads them per new connection from a file
// (DBPASS_FILE; the stand-in for the secret), and a rotation gives the *other* login user (tier_api
// or tier_api_clone) a new password, proves it logs in, then switches the file to it. Sessions and
// replicas still on the previous user keep working, since that user's password is unchanged until
// the rotation after next. infra/local/.env (APP_DB_USER, APP_DB_PASSWORD) stays the record, so the
// migrate job, which (re)provisions that user, always agrees with the file.
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Progress, TierError } from '../backend.js';
import { serviceContainer } from './containers.js';
import { engineRun, type OpsEnv } from './ops-env.js';
import type { LocalPaths } from './paths.js';
import { readEnvFile, setEnvValues } from './settings.js';

/** The API image's user (apps/api/Dockerfile `USER 10001:10001`): the only reader of the file. */
const API_UID = 10001;
const CLONE_SUFFIX = '_clone';

export const credentialsDir = (stateDir: string) => join(stateDir, 'credentials');

/**
 * Writes {"username", "password"} where the api containers read it (mounted read-only at
 * /run/tier/credentials). Replaced by rename, so a reader never sees half a file.
 */
export async function writeApiCredentials(
  paths: Pick<LocalPaths, 'stateDir'>,
  credentials: { user: string; password: string },
): Promise<void> {
  const dir = credentialsDir(paths.stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'api.json');
  const next = `${file}.${process.pid}.tmp`;
  await writeFile(next, JSON.stringify({ username: credentials.user, password: credentials.password }), {
    mode: 0o600,
  });
  // As root (the engine's default here), only the container's user may read it; an engine without
  // root maps users elsewhere, so there the host user's own permissions must do.
  if (process.getuid?.() === 0) {
    await chown(dir, API_UID, API_UID);
    await chown(next, API_UID, API_UID);
  } else {
    await chmod(dir, 0o755);
    await chmod(next, 0o644);
  }
  await rename(next, file);
}

/** The user a rotation moves to: tier_api <-> tier_api_clone (as Secrets Manager names the clone). */
export function alternateUser(current: string): string {
  return current.endsWith(CLONE_SUFFIX) ? current.slice(0, -CLONE_SUFFIX.length) : `${current}${CLONE_SUFFIX}`;
}

const sqlLiteral = (s: string) => `'${s.replaceAll("'", "''")}'`;
const sqlIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;

export async function rotateApiCredentials(env: OpsEnv, progress: Progress): Promise<{ user: string }> {
  const settings = readEnvFile(env.envFile);
  const current = settings.APP_DB_USER;
  const database = settings.DB_NAME ?? 'app';
  if (!current || !settings.APP_DB_PASSWORD) {
    throw new TierError('infra/local/.env holds no API database user', 'run `tier up` first');
  }
  const owner = settings.DB_USER ?? 'app';
  const user = alternateUser(current);
  const password = randomBytes(24).toString('base64url');
  const db = await serviceContainer(env, 'db');

  progress.step(`${user}: new password (${current} keeps working meanwhile)`);
  // The SQL goes on standard input: a password on a command line is visible to every process.
  await engineRun(
    env,
    ['exec', '-i', db.name, 'psql', '-h', '/run/postgresql', '-d', database, '-v', 'ON_ERROR_STOP=1', '-q'],
    {
      // As the owner, who provisions the API's user: it keeps the right to alter the role it created
      // (PostgreSQL 16+ lets a CREATEROLE user alter only those), so the migrate job can later too.
      input: `SET ROLE ${sqlIdent(owner)};
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${sqlLiteral(user)}) THEN
    CREATE ROLE ${sqlIdent(user)} LOGIN;
  END IF;
END $$;
ALTER ROLE ${sqlIdent(user)} LOGIN PASSWORD ${sqlLiteral(password)};
GRANT tier_app TO ${sqlIdent(user)};
`,
      hint: 'see `tier logs db`; the API keeps its current user',
    },
  );
  progress.done();

  progress.step(`${user}: logs in over TCP with the new password`);
  // `exec -e NAME` takes the value from this process's environment, never from its arguments.
  await engineRun(
    env,
    [
      'exec',
      '-e',
      'PGPASSWORD',
      db.name,
      'psql',
      '-h',
      '127.0.0.1',
      '-U',
      user,
      '-d',
      database,
      '-tA',
      '-c',
      'SELECT 1',
    ],
    { env: { ...process.env, PGPASSWORD: password }, hint: 'the API keeps its current user; see `tier logs db`' },
  );
  progress.done();

  progress.step('switching the API to it (its replicas read the file per new connection)');
  await setEnvValues(env.envFile, { APP_DB_USER: user, APP_DB_PASSWORD: password });
  // Where compose mounts it from: the state directory `tier up` recorded in .env.
  await writeApiCredentials({ stateDir: settings.STATE_DIR ?? env.stateDir }, { user, password });
  progress.done();
  return { user };
}
