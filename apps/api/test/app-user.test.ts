// The API's own database user: the migrate job creates it from configuration with only what the
// API's queries need, the owner keeps the schema; with only the original variables nothing changes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { type PostgresCluster, startPostgres } from '../../../test/support/postgres.js';
import { logLines, runNode } from './server-process.js';
import { postMessage, startApi } from './support.js';

let db: PostgresCluster;
const APP = { user: 'tier_api', password: `api-${crypto.randomUUID()}` };

before(async () => {
  db = await startPostgres();
  const run = runNode('migrate.js', { ...db.env(), APP_DBUSER: APP.user, APP_DBPASS: APP.password });
  assert.equal(await run.exited, 0, run.stderr());
});
after(async () => db?.destroy());

async function asUser<T>(user: string, password: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: db.host, port: db.port, database: db.database, user, password });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

const appEnv = () => ({ DBUSER: APP.user, DBPASS: APP.password });

test('the API serves every route as its own user', async () => {
  const api = await startApi(db, appEnv());
  try {
    assert.equal((await fetch(`${api.url}/api/status`)).status, 200);
    const created = await postMessage(api.url, { author: 'a', text: 'as the app user' }, { 'idempotency-key': 'k-1' });
    assert.equal(created.status, 201);
    const retried = await postMessage(api.url, { author: 'a', text: 'as the app user' }, { 'idempotency-key': 'k-1' });
    assert.ok([200, 201].includes(retried.status), `an idempotent retry reads the first row (${retried.status})`);
    assert.equal(retried.body.id, created.body.id);
    const page = await fetch(`${api.url}/api/messages?limit=1`);
    assert.equal(page.status, 200);
  } finally {
    await api.close();
  }
});

test('the API user cannot change the schema, update or delete, and owns nothing', async () => {
  await asUser(APP.user, APP.password, async (client) => {
    for (const sql of [
      'CREATE TABLE intruder (id int)',
      'CREATE TEMPORARY TABLE scratch (id int)',
      'ALTER TABLE messages ADD COLUMN x int',
      'DROP TABLE messages',
      'TRUNCATE messages',
      "UPDATE messages SET text = 'changed'",
      'DELETE FROM messages',
      'DELETE FROM schema_migrations',
      'CREATE ROLE other',
    ]) {
      await assert.rejects(client.query(sql), (err: { code?: string }) => {
        assert.equal(err.code, '42501', `${sql} is refused for lack of privilege`);
        return true;
      });
    }
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = current_user`,
    );
    assert.deepEqual(rows, [{ n: 0 }]);
  });
});

test('running migrate again with a new password replaces the old one', async () => {
  const next = `api-${crypto.randomUUID()}`;
  const run = runNode('migrate.js', { ...db.env(), APP_DBUSER: APP.user, APP_DBPASS: next });
  assert.equal(await run.exited, 0, run.stderr());
  assert.ok(logLines(run).some((l) => l.msg === 'migrations: app user ready' && l.created === false));
  await asUser(APP.user, next, (client) => client.query('SELECT 1'));
  await assert.rejects(
    asUser(APP.user, APP.password, async () => undefined),
    { code: '28P01' },
  );
  APP.password = next;
});

test('the owner cannot be configured as the API user', async () => {
  const run = runNode('migrate.js', { ...db.env(), APP_DBUSER: db.user, APP_DBPASS: 'x' });
  assert.equal(await run.exited, 1);
  assert.match(run.stderr() + run.stdout(), /is the migration user: set APP_DBUSER to a user of its own/);
});

test('APP_DBUSER without APP_DBPASS exits 2 naming it', async () => {
  const run = runNode('migrate.js', { ...db.env(), APP_DBUSER: 'tier_api' });
  assert.equal(await run.exited, 2);
  assert.match(run.stderr(), /APP_DBPASS is required/);
});

test('with only the original variables, migrate provisions no user and the API logs in as DBUSER', async () => {
  const run = runNode('migrate.js', db.env());
  assert.equal(await run.exited, 0, run.stderr());
  assert.ok(!logLines(run).some((l) => l.msg === 'migrations: app user ready'));
  const api = await startApi(db);
  try {
    assert.equal((await postMessage(api.url, { author: 'o', text: 'as the owner' })).status, 201);
  } finally {
    await api.close();
  }
});
