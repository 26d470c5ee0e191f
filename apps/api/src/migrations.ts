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
