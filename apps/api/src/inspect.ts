// One-off, read-only operator program (the admin task on AWS, where ECS Exec cannot run), connected as the configured
// user. `inspect.js` prints what an incident needs to know. `inspect.js verify` proves that a database holds the
// application's data (a restored copy before it goes live, a restore test): the row count of every application table
// and the answer to the API's own status query, as one JSON line; it exits 1 when the schema is missing, every
// application table is empty, or a query fails.
import { ConfigError, createLogger, EnvReader, type Logger, startOrExit } from '@tier/runtime';
import pg from 'pg';
import { readMigrateConfig } from './config.js';
import { createCredentialSource } from './credentials.js';
import { poolConfig } from './db.js';
import { STATUS_QUERY } from './routes/status.js';

const MODES = ['inspect', 'verify'] as const;
/** Not application data: the migration runner's own bookkeeping. */
const MIGRATIONS_TABLE = 'schema_migrations';

await startOrExit(async () => {
  const mode = process.argv[2] ?? 'inspect';
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new ConfigError([`unknown mode '${mode}': run inspect.js (a summary) or inspect.js verify (a data check)`]);
  }
  const env = new EnvReader();
  const { db } = readMigrateConfig(env);
  const log = createLogger({
    tier: 'api-inspect',
    version: env.string('APP_VERSION', 'dev'),
    level: env.string('LOG_LEVEL', 'info'),
  });
  const connect = async () => {
    const client = new pg.Client({
      ...poolConfig(db, 'tier-api-inspect'),
      ...(await createCredentialSource(db.user, db.password).current()),
    });
    await client.connect();
    // A read-only transaction: an inspection can never change the database it looks at.
    await client.query('BEGIN READ ONLY');
    return client;
  };
  if (mode === 'verify') {
    process.exitCode = (await verify(connect, log, db.host)) ? 0 : 1;
    return;
  }
  const client = await connect();
  try {
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

/** Logs one `verify` line (`ok`, `tables`: rows per table, `status`, `problems`); true when the data is there. */
async function verify(connect: () => Promise<pg.Client>, log: Logger, host: string): Promise<boolean> {
  const tables: Record<string, number> = {};
  const problems: string[] = [];
  let status: { time: string } | undefined;
  let client: pg.Client | undefined;
  try {
    client = await connect();
    const { rows } = await client.query<{ name: string }>(
      "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    );
    // Every table, not a list kept here: a table a later migration adds is counted without touching this file.
    for (const { name } of rows) {
      const counted = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM public.${client.escapeIdentifier(name)}`,
      );
      tables[name] = Number(counted.rows[0]?.n);
    }
    const data = Object.keys(tables).filter((t) => t !== MIGRATIONS_TABLE);
    if (!tables[MIGRATIONS_TABLE]) problems.push('no migration was ever applied: not an application database');
    if (data.length === 0) problems.push('no application tables');
    else if (data.every((t) => tables[t] === 0)) problems.push(`every application table is empty (${data.join(', ')})`);
    const answer = await client.query<{ time: Date }>(STATUS_QUERY);
    status = { time: answer.rows[0]!.time.toISOString() };
    await client.query('COMMIT');
  } catch (err) {
    problems.push(`${client ? 'a query failed' : 'cannot connect'}: ${(err as Error).message}`);
  } finally {
    await client?.end().catch(() => undefined);
  }
  const ok = problems.length === 0;
  const fields = { host, ok, tables, status, problems };
  if (ok) log.info(fields, 'verify');
  else log.error(fields, 'verify');
  return ok;
}
