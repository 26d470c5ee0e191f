// The database password rotates under load and no query fails: new connections take the source's
// current credentials (a file re-read when it changes, a Secrets Manager secret cached briefly),
// a refused password is read again once, and a wrong one is a clear, quick error that does not
// make the pool fail fast. Secrets Manager is answered at the SDK boundary with GetSecretValue's
// documented response shape.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { type PostgresCluster, startPostgres } from '../../../test/support/postgres.js';
import type { PasswordSettings } from '../src/config.js';
import { type Credentials, createCredentialSource } from '../src/credentials.js';
import { FailFastPool } from '../src/db.js';
import { migrate, provisionAppUser } from '../src/migrations.js';
import { clientFor, silentLog, startApi } from './support.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tier-dev-api-db-AbCdEf';
/** Two login users, as a multi-user rotation keeps them: the one not in use gets the new password. */
const USERS = ['tier_api', 'tier_api_clone'] as const;

let db: PostgresCluster;
let dir: string;
const secretsManager = mockClient(SecretsManagerClient);

before(async () => {
  db = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'tier-credentials-'));
  const owner = clientFor(db);
  await owner.connect();
  try {
    await migrate(owner, silentLog);
    for (const user of USERS) await provisionAppUser(owner, silentLog, { user, password: `initial-${user}` });
  } finally {
    await owner.end();
  }
});
after(async () => {
  secretsManager.restore();
  rmSync(dir, { recursive: true, force: true });
  await db?.destroy();
});
beforeEach(() => secretsManager.reset());

async function setPassword(user: string, password: string): Promise<void> {
  const admin = await db.superuserClient();
  try {
    await admin.query(`ALTER ROLE ${pg.escapeIdentifier(user)} PASSWORD ${pg.escapeLiteral(password)}`);
  } finally {
    await admin.end();
  }
}

/** What GetSecretValue answers for a database secret (AWS API reference, GetSecretValue response). */
function answerWith(read: () => Credentials) {
  secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).callsFake(() => ({
    ARN: SECRET_ARN,
    Name: 'tier-dev-api-db',
    VersionId: crypto.randomUUID(),
    VersionStages: ['AWSCURRENT'],
    CreatedDate: new Date(),
    SecretString: JSON.stringify({
      engine: 'postgres',
      host: db.host,
      port: db.port,
      dbname: db.database,
      username: read().user,
      password: read().password,
      masterarn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234',
    }),
  }));
}

/** Replaced in one step, as a secret store's agent writes it: a reader never sees half a file. */
function writeSecretFile(file: string, credentials: Credentials): void {
  writeFileSync(`${file}.tmp`, JSON.stringify({ username: credentials.user, password: credentials.password }));
  renameSync(`${file}.tmp`, file);
}

/** Every query opens a new connection (maxUses 1): each one authenticates with the source's credentials. */
function rotatingPool(password: PasswordSettings, user?: string): FailFastPool {
  const source = createCredentialSource(user, password, { secretsManager: new SecretsManagerClient({}) });
  return new FailFastPool(
    { host: db.host, port: db.port, database: db.database, max: 4, maxUses: 1, connectionTimeoutMillis: 2000 },
    200,
    3,
    () => undefined,
    source,
  );
}

interface Load {
  readonly failures: Error[];
  readonly queries: () => number;
  /** The user of the latest successful query. */
  readonly lastUser: () => string | undefined;
  stop(): Promise<void>;
}

function runLoad(pool: pg.Pool, workers = 4): Load {
  const failures: Error[] = [];
  let queries = 0;
  let lastUser: string | undefined;
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const { rows } = await pool.query<{ u: string }>('SELECT current_user AS u');
        lastUser = rows[0]?.u;
        queries++;
      } catch (err) {
        failures.push(err as Error);
      }
    }
  });
  return {
    failures,
    queries: () => queries,
    lastUser: () => lastUser,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Three multi-user rotations under load: the idle user gets a new password, then the source names
 * it; the next rotation changes the password the previous one had used, so a connection still on
 * old credentials would fail.
 */
async function rotateThreeTimes(pool: pg.Pool, publish: (next: Credentials) => void): Promise<Load> {
  const load = runLoad(pool);
  try {
    await until('queries as the first user', () => load.lastUser() === USERS[0]);
    for (let rotation = 1; rotation <= 3; rotation++) {
      const next = { user: USERS[rotation % 2]!, password: `rotated-${rotation}-${crypto.randomUUID()}` };
      await setPassword(next.user, next.password);
      publish(next);
      const before = load.queries();
      await until(`queries as ${next.user} after rotation ${rotation}`, () => load.lastUser() === next.user);
      await until('more queries on the new credentials', () => load.queries() > before + 50);
    }
  } finally {
    await load.stop();
  }
  return load;
}

test('GIVEN a secret file WHEN it is rotated three times under load THEN no query fails', async () => {
  const file = join(dir, 'rotating.json');
  const first = { user: USERS[0], password: `file-${crypto.randomUUID()}` };
  await setPassword(first.user, first.password);
  writeSecretFile(file, first);
  const pool = rotatingPool({ from: 'file', file });
  try {
    const load = await rotateThreeTimes(pool, (next) => writeSecretFile(file, next));
    assert.deepEqual(
      load.failures.map((e) => e.message),
      [],
    );
    assert.ok(load.queries() > 150, `queries ran throughout (${load.queries()})`);
    assert.equal(pool.failingFast, false);
  } finally {
    await pool.end();
  }
});

test('GIVEN a Secrets Manager secret WHEN it is rotated three times under load THEN no query fails and GetSecretValue is cached', async () => {
  let current: Credentials = { user: USERS[0], password: `sm-${crypto.randomUUID()}` };
  await setPassword(current.user, current.password);
  answerWith(() => current);
  const pool = rotatingPool({ from: 'secretsmanager', secretArn: SECRET_ARN, cacheMs: 100 });
  try {
    const load = await rotateThreeTimes(pool, (next) => {
      current = next;
    });
    assert.deepEqual(
      load.failures.map((e) => e.message),
      [],
    );
    const calls = secretsManager.commandCalls(GetSecretValueCommand);
    assert.ok(calls.length > 0);
    for (const call of calls) assert.deepEqual(call.args[0].input, { SecretId: SECRET_ARN });
    assert.ok(
      calls.length < load.queries() / 5,
      `the secret is read per cache period, not per connection (${calls.length} reads, ${load.queries()} queries)`,
    );
  } finally {
    await pool.end();
  }
});

test('GIVEN cached credentials the server now refuses WHEN a connection opens THEN the secret is read again once and the query succeeds', async () => {
  let current: Credentials = { user: USERS[0], password: `before-${crypto.randomUUID()}` };
  await setPassword(current.user, current.password);
  answerWith(() => current);
  // Cached for an hour: only the refusal makes the pool read the secret again.
  const pool = rotatingPool({ from: 'secretsmanager', secretArn: SECRET_ARN, cacheMs: 3_600_000 });
  try {
    await pool.query('SELECT 1');
    assert.equal(secretsManager.commandCalls(GetSecretValueCommand).length, 1);

    current = { user: USERS[0], password: `after-${crypto.randomUUID()}` };
    await setPassword(current.user, current.password);
    const { rows } = await pool.query<{ u: string }>('SELECT current_user AS u');
    assert.equal(rows[0]?.u, USERS[0]);
    assert.equal(secretsManager.commandCalls(GetSecretValueCommand).length, 2, 'one read after the refusal');
  } finally {
    await pool.end();
  }
});

test('GIVEN a wrong password WHEN queries run THEN each fails quickly with a clear error and the pool does not fail fast', async () => {
  await setPassword(USERS[1], `right-${crypto.randomUUID()}`);
  answerWith(() => ({ user: USERS[1], password: 'wrong' }));
  const pool = rotatingPool({ from: 'secretsmanager', secretArn: SECRET_ARN, cacheMs: 3_600_000 });
  try {
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await assert.rejects(pool.query('SELECT 1'), (err: Error & { code?: string }) => {
        assert.equal(err.code, '28P01');
        assert.match(
          err.message,
          /^the database refused user tier_api_clone with the password from secret arn:aws:secretsmanager:.*tier-dev-api-db-AbCdEf, also after reading it again: password authentication failed/,
        );
        assert.doesNotMatch(err.message, /wrong/, 'the password never appears');
        return true;
      });
      assert.ok(performance.now() - started < 1000, 'answered at once, not after a timeout');
    }
    // Five refusals in a row are not an outage: a fixed secret is used by the very next query.
    assert.equal(pool.failingFast, false);
  } finally {
    await pool.end();
  }
});

test('the API answers 503 at once, naming the source in its log, when the password is wrong or cannot be read', async () => {
  const file = join(dir, 'wrong-password');
  writeFileSync(file, 'not-the-password\n');
  const missing = join(dir, 'no-such-file');
  for (const [source, expected] of [
    [file, /the database refused user tier_api with the password from file .*wrong-password/],
    [missing, /cannot read the database credentials from file .*no-such-file: ENOENT/],
  ] as const) {
    const api = await startApi(db, { DBUSER: USERS[0], DBPASS: '', DBPASS_FILE: source });
    try {
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${api.url}/api/status`, { signal: AbortSignal.timeout(2000) });
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('retry-after'), '2');
      }
      const logged = api.logs.filter((l) => l.msg === 'db: unavailable');
      assert.ok(logged.length >= 4);
      assert.match(String((logged[0]?.err as { message?: string })?.message), expected);
      assert.equal((api.api.pool as FailFastPool).failingFast, false);
      assert.ok(!api.logs.some((l) => JSON.stringify(l).includes('not-the-password')));
    } finally {
      await api.close();
    }
  }
});
