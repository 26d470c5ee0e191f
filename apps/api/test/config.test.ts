// Configuration: the original app's variables plus TLS and pool settings, parsed once, frozen;
// anything missing or malformed stops start-up with exit 2 and a message naming it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, EnvReader } from '@tier/runtime';
import { readApiConfig } from '../src/config.js';
import { sslOptions } from '../src/db.js';
import { runNode } from './server-process.js';

const ORIGINAL = { DB: 'app', DBUSER: 'app', DBPASS: 'secret', DBHOST: 'db.internal' };

function read(env: Record<string, string>) {
  return readApiConfig(new EnvReader(env));
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    read(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('readApiConfig', () => {
  test('the original variables alone are enough; defaults match the original and the issue', () => {
    const config = read(ORIGINAL);
    assert.equal(config.service.port, 3000);
    assert.equal(config.db.port, 5432);
    assert.equal(config.db.sslMode, 'off');
    assert.equal(config.db.poolMax, 10);
    assert.equal(config.db.connectTimeoutMs, 1500);
    assert.equal(config.db.statementTimeoutMs, 1500);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.db) && Object.isFrozen(config.service));
  });

  test('reads every setting it documents', () => {
    const config = read({
      ...ORIGINAL,
      PORT: '8081',
      DBPORT: '6432',
      DB_POOL_MAX: '25',
      DB_CONNECT_TIMEOUT_MS: '800',
      DB_STATEMENT_TIMEOUT_MS: '2000',
      DBSSL: 'require',
    });
    assert.deepEqual(
      [
        config.service.port,
        config.db.port,
        config.db.poolMax,
        config.db.connectTimeoutMs,
        config.db.statementTimeoutMs,
      ],
      [8081, 6432, 25, 800, 2000],
    );
    assert.deepEqual(sslOptions(config.db), { rejectUnauthorized: false });
  });

  test('names every missing or malformed setting at once', () => {
    const problems = problemsOf({ DBPORT: 'abc', DBSSL: 'maybe', DB_POOL_MAX: '0', PORT: '70000' });
    for (const name of ['DB ', 'DBUSER', 'DBPASS', 'DBHOST', 'DBPORT', 'DBSSL', 'DB_POOL_MAX', 'PORT']) {
      assert.ok(
        problems.some((p) => p.startsWith(name)),
        `${name.trim()} is named in: ${problems.join('; ')}`,
      );
    }
  });

  test('the password comes from DBPASS, DBPASS_FILE or DBCREDENTIALS_ARN, exactly one of them', () => {
    assert.deepEqual(read(ORIGINAL).db.password, { from: 'env', value: 'secret' });
    const { DBPASS: _p, ...noPassword } = ORIGINAL;
    assert.deepEqual(read({ ...noPassword, DBPASS_FILE: '/run/secrets/db' }).db.password, {
      from: 'file',
      file: '/run/secrets/db',
    });
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tier-dev-api-db-AbCdEf';
    const { DBUSER: _u, ...noUser } = noPassword;
    const fromSecret = read({ ...noUser, DBCREDENTIALS_ARN: arn, DBCREDENTIALS_CACHE_MS: '60000' }).db;
    assert.deepEqual(fromSecret.password, { from: 'secretsmanager', secretArn: arn, cacheMs: 60_000 });
    assert.equal(fromSecret.user, undefined, 'the secret names the user');
    assert.deepEqual(problemsOf({ ...ORIGINAL, DBCREDENTIALS_ARN: arn }), [
      'set one of DBPASS, DBPASS_FILE, DBCREDENTIALS_ARN (got DBPASS, DBCREDENTIALS_ARN)',
    ]);
    assert.deepEqual(problemsOf({ ...noPassword, DBCREDENTIALS_ARN: 'tier-dev-api-db' }), [
      'DBCREDENTIALS_ARN must be a Secrets Manager secret ARN (got "tier-dev-api-db")',
    ]);
    assert.deepEqual(problemsOf({ ...noUser, DBPASS_FILE: '/x' }), ['DBUSER is required']);
  });

  test('a CA bundle turns on certificate verification; an unreadable one is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-'));
    try {
      const ca = join(dir, 'rds-ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const full = read({ ...ORIGINAL, DBSSL: 'verify-full', DBSSL_CA_FILE: ca });
      assert.deepEqual(sslOptions(full.db), { rejectUnauthorized: true, ca: full.db.sslCa });
      const required = sslOptions(read({ ...ORIGINAL, DBSSL: 'require', DBSSL_CA_FILE: ca }).db);
      assert.ok(required && required.rejectUnauthorized === true && required.ca);

      assert.match(
        problemsOf({ ...ORIGINAL, DBSSL: 'require', DBSSL_CA_FILE: join(dir, 'missing.pem') })[0]!,
        /^DBSSL_CA_FILE cannot be read/,
      );
      assert.match(problemsOf({ ...ORIGINAL, DBSSL_CA_FILE: ca })[0]!, /^DBSSL_CA_FILE is set but DBSSL is off/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('the built server exits 2 with a message naming the bad setting, and no stack trace', async () => {
  const run = runNode('server.js', { ...ORIGINAL, DBPORT: 'five' });
  assert.equal(await run.exited, 2);
  assert.match(run.stderr(), /DBPORT must be an integer/);
  assert.doesNotMatch(run.stderr(), /\bat .*\.js:\d+/);
  assert.doesNotMatch(run.stderr() + run.stdout(), /secret/, 'the password never appears');
});
