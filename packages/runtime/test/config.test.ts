// EnvReader and the shared service settings: defaults, bounds, and one error naming every bad variable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, DEFAULT_ADMIN_PORTS, EnvReader, readServiceSettings } from '../src/index.js';

function problems(read: (env: EnvReader) => void, source: Record<string, string>): string[] {
  const env = new EnvReader(source);
  read(env);
  try {
    env.check();
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return [];
}

describe('EnvReader', () => {
  test('string: required without a fallback, empty counts as missing', () => {
    assert.deepEqual(
      problems((env) => env.string('DB'), {}),
      ['DB is required'],
    );
    assert.deepEqual(
      problems((env) => env.string('DB'), { DB: '' }),
      ['DB is required'],
    );
    const env = new EnvReader({ DB: 'app' });
    assert.equal(env.string('DB'), 'app');
    assert.equal(env.string('HOST', '0.0.0.0'), '0.0.0.0');
  });

  test('optional: undefined when unset or empty', () => {
    const env = new EnvReader({ A: '', B: 'x' });
    assert.equal(env.optional('A'), undefined);
    assert.equal(env.optional('B'), 'x');
    assert.equal(env.optional('C'), undefined);
  });

  test('int: fallback when unset, bounds and digits enforced', () => {
    assert.equal(new EnvReader({}).int('N', 7), 7);
    assert.equal(new EnvReader({ N: '42' }).int('N', 7, 0, 100), 42);
    for (const bad of ['abc', '1.5', '1e3', '101', '-1', '0x10']) {
      const found = problems((env) => env.int('N', 7, 0, 100), { N: bad });
      assert.equal(found.length, 1, bad);
      assert.match(found[0]!, /^N must be an integer between 0 and 100/);
    }
  });

  test('port: 0..65535', () => {
    assert.equal(new EnvReader({ PORT: '8080' }).port('PORT', 3000), 8080);
    assert.match(problems((env) => env.port('PORT', 3000), { PORT: '65536' })[0]!, /^PORT must be an integer/);
  });

  test('bool: the usual spellings, anything else is named', () => {
    for (const yes of ['1', 'true', 'YES', 'on']) assert.equal(new EnvReader({ F: yes }).bool('F', false), true);
    for (const no of ['0', 'false', 'No', 'off']) assert.equal(new EnvReader({ F: no }).bool('F', true), false);
    assert.match(problems((env) => env.bool('F', false), { F: 'maybe' })[0]!, /^F must be true or false/);
  });

  test('oneOf: only the listed values', () => {
    assert.equal(new EnvReader({ M: 'b' }).oneOf('M', ['a', 'b'], 'a'), 'b');
    assert.equal(new EnvReader({}).oneOf('M', ['a', 'b'], 'a'), 'a');
    assert.match(problems((env) => env.oneOf('M', ['a', 'b'], 'a'), { M: 'c' })[0]!, /^M must be one of a, b/);
  });

  test('url: http(s) only, trailing slashes dropped', () => {
    assert.equal(new EnvReader({ U: 'http://api-lb:8081/' }).url('U'), 'http://api-lb:8081');
    for (const bad of ['api-lb:8081', 'ftp://x', 'not a url']) {
      assert.match(problems((env) => env.url('U'), { U: bad })[0]!, /^U must be an http\(s\) URL/, bad);
    }
    assert.deepEqual(
      problems((env) => env.url('U'), {}),
      ['U is required'],
    );
  });

  test('check: collects every problem, plus extra cross-field ones, into one error', () => {
    const env = new EnvReader({ PORT: 'x' });
    env.string('DB');
    env.port('PORT', 3000);
    assert.throws(
      () => env.check((problem) => problem('DBSSL_CA_FILE needs DBSSL')),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 3);
        assert.match(err.message, /DB is required[\s\S]*PORT must be[\s\S]*DBSSL_CA_FILE needs DBSSL/);
        return true;
      },
    );
  });

  test('reads process.env by default', () => {
    process.env.TIER_RUNTIME_TEST_VALUE = 'from-process-env';
    try {
      assert.equal(new EnvReader().string('TIER_RUNTIME_TEST_VALUE'), 'from-process-env');
    } finally {
      delete process.env.TIER_RUNTIME_TEST_VALUE;
    }
  });
});

describe('readServiceSettings', () => {
  test('defaults follow docs/conventions.md', () => {
    const settings = readServiceSettings(new EnvReader({}), { adminPort: 9101 });
    assert.deepEqual(settings, {
      port: 3000,
      host: '0.0.0.0',
      adminPort: 9101,
      version: 'dev',
      logLevel: 'info',
      drainMs: 3000,
      keepAliveTimeoutMs: 65_000,
      shutdownTimeoutMs: 25_000,
    });
    assert.ok(settings.keepAliveTimeoutMs > 60_000, 'longer than the ALB idle timeout');
  });

  test('each tier has its own default admin port, so two tiers on one host do not collide', () => {
    assert.deepEqual({ ...DEFAULT_ADMIN_PORTS }, { api: 9101, web: 9102 });
    const adminPort = (tier: keyof typeof DEFAULT_ADMIN_PORTS) =>
      readServiceSettings(new EnvReader({ PORT: '8080' }), { adminPort: DEFAULT_ADMIN_PORTS[tier] }).adminPort;
    assert.notEqual(adminPort('api'), adminPort('web'));
    assert.equal(
      readServiceSettings(new EnvReader({ ADMIN_PORT: '9100' }), { adminPort: 9101 }).adminPort,
      9100,
      'ADMIN_PORT still wins (the images set 9100)',
    );
  });

  test('bad values are named', () => {
    const found = problems((env) => readServiceSettings(env, { adminPort: 9101 }), {
      LOG_LEVEL: 'loud',
      SHUTDOWN_DRAIN_MS: '-5',
      KEEP_ALIVE_TIMEOUT_MS: '10',
    });
    assert.equal(found.length, 3);
    assert.ok(found[0]!.startsWith('LOG_LEVEL'));
    assert.ok(found[1]!.startsWith('SHUTDOWN_DRAIN_MS'));
    assert.ok(found[2]!.startsWith('KEEP_ALIVE_TIMEOUT_MS'));
  });
});
