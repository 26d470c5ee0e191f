// One-off job (`npm run migrate -w apps/api`): applies pending migrations as the owner, then sets up
// the API's own login user when one is configured.
import { createLogger, EnvReader, startOrExit } from '@tier/runtime';
import pg from 'pg';
import { readMigrateConfig } from './config.js';
import { createCredentialSource } from './credentials.js';
import { poolConfig } from './db.js';
import { migrate, provisionAppUser } from './migrations.js';

await startOrExit(async () => {
  const env = new EnvReader();
  const { db, appUser } = readMigrateConfig(env);
  const log = createLogger({
    tier: 'api-migrate',
    version: env.string('APP_VERSION', 'dev'),
    level: env.string('LOG_LEVEL', 'info'),
  });
  // A migration may run longer than any API statement: no statement timeout here.
  const { statement_timeout: _s, query_timeout: _q, ...config } = poolConfig(db, 'tier-api-migrate');
  // The owner's credentials, read once: a migration is one session.
  const owner = await createCredentialSource(db.user, db.password).current();
  const client = new pg.Client({ ...config, ...owner });
  await client.connect();
  try {
    const applied = await migrate(client, log);
    log.info({ applied }, applied.length > 0 ? 'migrations: done' : 'migrations: already up to date');
    if (appUser) await provisionAppUser(client, log, appUser);
  } finally {
    await client.end();
  }
});
