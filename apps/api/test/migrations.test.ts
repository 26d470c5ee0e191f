// Migrations: applied once even when two runners start together, recorded, transactional, and
// refusing to run over an applied file that was edited.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type PostgresCluster, startPostgres } from '../../../test/support/postgres.js';
import { loadMigrations, MIGRATIONS_DIR, migrate } from '../src/migrations.js';
import { DIST, logLines, runNode } from './server-process.js';
import { clientFor, silentLog } from './support.js';

let db: PostgresCluster;

before(async () => {
  db = await startPostgres();
});
after(async () => {
  await db?.destroy();
});

async function query<T>(sql: string): Promise<T[]> {
  const client = clientFor(db);
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

test('two migrate commands started together apply each migration exactly once', async () => {
  const runs = [runNode('migrate.js', db.env()), runNode('migrate.js', db.env())];
  const codes = await Promise.all(runs.map((r) => r.exited));
  assert.deepEqual(codes, [0, 0], runs.map((r) => r.stderr()).join('\n'));

  const files = await loadMigrations();
  const recorded = await query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  assert.deepEqual(
    recorded.map((r) => r.version),
    files.map((f) => f.version),
  );
  const applied = runs.flatMap((r) => logLines(r).filter((l) => l.msg === 'migration applied'));
  assert.equal(applied.length, files.length, 'each file applied by one runner only');
  assert.deepEqual(await query('SELECT count(*)::int AS n FROM messages'), [{ n: 0 }]);

  const again = runNode('migrate.js', db.env());
  assert.equal(await again.exited, 0);
  assert.ok(logLines(again).some((l) => l.msg === 'migrations: already up to date'));
});

test('the migrations folder resolves the same from the source tree and from dist/', async () => {
  const fromDist = (await import(pathToFileURL(join(DIST, 'migrations.js')).href)) as { MIGRATIONS_DIR: URL };
  assert.equal(fileURLToPath(fromDist.MIGRATIONS_DIR), fileURLToPath(MIGRATIONS_DIR));
  assert.equal(fileURLToPath(MIGRATIONS_DIR), fileURLToPath(new URL('../migrations/', import.meta.url)));
});

test('a failing migration is rolled back and not recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  try {
    cpSync(fileURLToPath(MIGRATIONS_DIR), dir, { recursive: true });
    writeFileSync(join(dir, '900_half_done.sql'), 'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n');
    const client = clientFor(db);
    await client.connect();
    try {
      await assert.rejects(migrate(client, silentLog, pathToFileURL(`${dir}/`)), /900_half_done failed/);
    } finally {
      await client.end();
    }
    assert.deepEqual(await query("SELECT to_regclass('half_done') AS t"), [{ t: null }]);
    assert.deepEqual(await query('SELECT count(*)::int AS n FROM schema_migrations WHERE version = 900'), [{ n: 0 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an applied migration that was edited stops the run with a message naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  try {
    cpSync(fileURLToPath(MIGRATIONS_DIR), dir, { recursive: true });
    writeFileSync(join(dir, '001_create_messages.sql'), '-- edited after the fact\n', { flag: 'a' });
    const client = clientFor(db);
    await client.connect();
    try {
      await assert.rejects(migrate(client, silentLog, pathToFileURL(`${dir}/`)), /001_create_messages changed/);
    } finally {
      await client.end();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a misnamed migration file is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  try {
    writeFileSync(join(dir, '1-init.sql'), 'SELECT 1;');
    await assert.rejects(loadMigrations(pathToFileURL(`${dir}/`)), /must look like 001_create_things\.sql/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migrate with a missing setting exits 2 naming it', async () => {
  const { DB: _db, ...withoutDb } = db.env();
  const run = runNode('migrate.js', withoutDb);
  assert.equal(await run.exited, 2);
  assert.match(run.stderr(), /DB is required/);
});
