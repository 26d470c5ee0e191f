// Versioned SQL migrations: files NNN_name.sql applied in order, each in its own transaction,
// all under one advisory lock so two runners at once apply each file exactly once.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Logger } from '@tier/runtime';
import type pg from 'pg';

/** Next to dist/ and src/ alike, so it resolves from the source tree and from an installed image. */
export const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);

/** Arbitrary constant shared by every runner: "the schema of this database is being changed". */
const ADVISORY_LOCK_KEY = 3_741_001;
const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The file name without .sql, e.g. 001_create_messages: how errors and logs name it. */
  readonly id: string;
  readonly sql: string;
  readonly checksum: string;
}

export async function loadMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_NAME.exec(file);
    if (!match) throw new Error(`migration file name must look like 001_create_things.sql (got ${file})`);
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) throw new Error(`two migrations share version ${match[1]}`);
    const sql = await readFile(new URL(file, dir), 'utf8');
    const checksum = createHash('sha256').update(sql).digest('hex');
    migrations.push({ version, name: match[2]!, id: file.slice(0, -4), sql, checksum });
  }
  return migrations;
}

/** Applies the pending migrations; returns the versions this run applied. */
export async function migrate(client: pg.ClientBase, log: Logger, dir: URL = MIGRATIONS_DIR): Promise<number[]> {
  const migrations = await loadMigrations(dir);
  await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations',
    );
    const applied = new Map(rows.map((row) => [row.version, row.checksum]));
    const done: number[] = [];
    for (const migration of migrations) {
      const previous = applied.get(migration.version);
      if (previous !== undefined) {
        // An applied file that changed means environments have drifted: stop rather than guess.
        if (previous !== migration.checksum) {
          throw new Error(`migration ${migration.id} changed after it was applied`);
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${migration.id} failed: ${(err as Error).message}`);
      }
      log.info({ migration: migration.id }, 'migration applied');
      done.push(migration.version);
    }
    return done;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]);
  }
}

/** The role migration 002 creates with the API's privileges; the API's login user is made a member. */
export const APP_ROLE = 'tier_app';

/**
 * Creates or updates the API's login user: LOGIN with the configured password and membership of
 * APP_ROLE, nothing else. Run by the owner after the migrations, under the same lock (two runners
 * must not both create the role). Refuses a user that could change the schema, so a wrong setting
 * (the owner's name, an admin) cannot hand the API more than it needs.
 */
export async function provisionAppUser(
  client: pg.ClientBase,
  log: Logger,
  appUser: { readonly user: string; readonly password: string },
): Promise<void> {
  const { rows: owner } = await client.query<{ name: string }>('SELECT current_user AS name');
  if (owner[0]?.name === appUser.user) {
    throw new Error(`the API's user ${appUser.user} is the migration user: set APP_DBUSER to a user of its own`);
  }
  await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
  try {
    const { rows } = await client.query<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
      'SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1',
      [appUser.user],
    );
    const existing = rows[0];
    if (existing && (existing.rolsuper || existing.rolcreaterole || existing.rolcreatedb)) {
      throw new Error(`the API's user ${appUser.user} may create roles or databases: give the API a user of its own`);
    }
    const { rows: owned } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
        WHERE r.rolname = $1 AND c.relnamespace = 'public'::regnamespace`,
      [appUser.user],
    );
    if ((owned[0]?.n ?? 0) > 0) {
      throw new Error(`the API's user ${appUser.user} owns tables: give the API a user of its own`);
    }
    const role = client.escapeIdentifier(appUser.user);
    if (!existing) await client.query(`CREATE ROLE ${role} LOGIN`);
    // The password is set from configuration on every run: the configured value is the truth.
    await client.query(`ALTER ROLE ${role} WITH LOGIN INHERIT PASSWORD ${client.escapeLiteral(appUser.password)}`);
    await client.query(`GRANT ${APP_ROLE} TO ${role}`);
    log.info({ user: appUser.user, created: !existing }, 'migrations: app user ready');
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]);
  }
}
