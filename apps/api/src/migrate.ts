// One-off job (`npm run migrate -w apps/api`): applies pending migrations with the API's DB settings.
import { createLogger, EnvReader, startOrExit } from '@tier/runtime';
import pg from 'pg';
import { readDbSettings } from './config.js';
import { poolConfig } from './db.js';
import { migrate } from './migrations.js';

await startOrExit(async () => {
  const env = new EnvReader();
  const db = readDbSettings(env);
  const log = createLogger({
    tier: 'api-migrate',
    version: env.string('APP_VERSION', 'dev'),
    level: env.string('LOG_LEVEL', 'info'),
  });
  // A migration may run longer than any API statement: no statement timeout here.
  const { statement_timeout: _s, query_timeout: _q, ...config } = poolConfig(db, 'tier-api-migrate');
  const client = new pg.Client(config);
  await client.connect();
  try {
    const applied = await migrate(client, log);
    log.info({ applied }, applied.length > 0 ? 'migrations: done' : 'migrations: already up to date');
  } finally {
    await client.end();
  }
});
