// inspect.js verify, the data check a restore runs against its copy: the built program against real PostgreSQL.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { freePort, type PostgresCluster, startPostgres } from '../../../test/support/postgres.js';
import { DIST } from './server-process.js';
import { clientFor, startMigratedPostgres } from './support.js';

interface Run {
  readonly code: number;
  readonly line?: Record<string, unknown>;
  readonly stderr: string;
}

async function inspect(env: Record<string, string>, ...args: string[]): Promise<Run> {
  const done = await promisify(execFile)(process.execPath, [`${DIST}inspect.js`, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
  }).then(
    (out) => ({ code: 0, ...out }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
  const line = done.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === 'verify');
  return { code: done.code, line, stderr: done.stderr };
}

let app: PostgresCluster;
let bare: PostgresCluster;

before(async () => {
  [app, bare] = await Promise.all([startMigratedPostgres(), startPostgres()]);
});
after(async () => Promise.all([app?.destroy(), bare?.destroy()]));

describe('inspect.js verify', () => {
  test('an application database that holds data: exit 0, the row count of every table and the status query', async () => {
    const client = clientFor(app);
    await client.connect();
    await client.query("INSERT INTO messages (author, text) VALUES ('ada', 'one'), ('bob', 'two')");
    await client.end();
    const run = await inspect(app.env(), 'verify');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.line?.ok, true);
    assert.deepEqual(run.line?.tables, { messages: 2, schema_migrations: 2 });
    assert.match(String((run.line?.status as { time?: string })?.time), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(run.line?.problems, []);
  });

  test('a migrated but empty copy fails: exit 1, the counts and the reason', async () => {
    const client = clientFor(app);
    await client.connect();
    await client.query('TRUNCATE messages');
    await client.end();
    const run = await inspect(app.env(), 'verify');
    assert.equal(run.code, 1);
    assert.equal(run.line?.ok, false);
    assert.deepEqual(run.line?.tables, { messages: 0, schema_migrations: 2 });
    assert.deepEqual(run.line?.problems, ['every application table is empty (messages)']);
  });

  test('a database without the schema fails: no migration was ever applied', async () => {
    const run = await inspect(bare.env(), 'verify');
    assert.equal(run.code, 1);
    assert.deepEqual(run.line?.tables, {});
    assert.match(
      ((run.line?.problems ?? []) as string[]).join('; '),
      /no migration was ever applied.*no application tables/,
    );
  });

  test('a database it cannot reach fails with the connection error, in the same JSON line', async () => {
    const run = await inspect({ ...app.env(), DBPORT: String(await freePort()) }, 'verify');
    assert.equal(run.code, 1);
    assert.equal(run.line?.ok, false);
    assert.match(((run.line?.problems ?? []) as string[])[0] ?? '', /^cannot connect: .*ECONNREFUSED/);
  });

  test('an unknown mode exits 2 naming both modes', async () => {
    const run = await inspect(app.env(), 'verfiy');
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown mode 'verfiy'.*inspect\.js verify/);
  });
});
