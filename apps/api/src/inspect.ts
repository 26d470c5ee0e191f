// One-off, read-only operator check (the admin task on AWS, where ECS Exec cannot run): connects as the configured
// user, reads what a restore drill or an incident needs to know, prints it as one JSON line and exits 0.
import { createLogger, EnvReader, startOrExit } from '@tier/runtime';
import pg from 'pg';
import { readMigrateConfig } from './config.js';
import { createCredentialSource } from './credentials.js';
import { poolConfig } from './db.js';

await startOrExit(async () => {
  const env = new EnvReader();
  const { db } = readMigrateConfig(env);
  const log = createLogger({
    tier: 'api-inspect',
    version: env.string('APP_VERSION', 'dev'),
    level: env.string('LOG_LEVEL', 'info'),
  });
  const client = new pg.Client({
    ...poolConfig(db, 'tier-api-inspect'),
    ...(await createCredentialSource(db.user, db.password).current()),
  });
  await client.connect();
  try {
    // A read-only transaction: an inspection can never change the database it looks at.
    await client.query('BEGIN READ ONLY');
    const one = async (sql: string) => (await client.query(sql)).rows[0] as Record<string, unknown>;
    const server = await one("SELECT current_setting('server_version') AS version, pg_is_in_recovery() AS replica");
    const tables = await one(
      "SELECT to_regclass('public.messages') IS NOT NULL AS messages, to_regclass('public.schema_migrations') IS NOT NULL AS migrations",
    );
    const messages = tables.messages ? Number((await one('SELECT count(*) AS n FROM messages')).n) : null;
    const migrations = tables.migrations ? Number((await one('SELECT count(*) AS n FROM schema_migrations')).n) : null;
    await client.query('COMMIT');
    log.info({ host: db.host, server, messages, migrations, tlsRequired: db.sslMode !== 'off' }, 'inspect');
  } finally {
    await client.end();
  }
});
