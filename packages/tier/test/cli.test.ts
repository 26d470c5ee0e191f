// The CLI's argument parsing: bad input gets an error that names the fix.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { TierError } from '../src/backend.js';
import { parseRestoreTarget } from '../src/commands/backup.js';
import { parseSince } from '../src/commands/logs.js';
import { parseWindow } from '../src/commands/metrics.js';
import { parseScaleArgs } from '../src/commands/scale.js';
import { parseTiers } from '../src/context.js';
import { sparkline, table } from '../src/ui/table.js';

const run = promisify(execFile);

describe('tier argument parsing', () => {
  it('reads scale counts per tier', () => {
    assert.deepEqual(parseScaleArgs(['web=4', 'api=2']), { web: 4, api: 2 });
  });

  it('rejects unknown tiers, malformed and out-of-range counts with a hint', () => {
    for (const bad of [['db=2'], ['web=x'], ['web=0'], ['web=99'], []]) {
      assert.throws(
        () => parseScaleArgs(bad),
        (err: unknown) => err instanceof TierError && !!err.hint,
      );
    }
  });

  it('accepts a duration or an ISO time for --since', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    assert.equal(parseSince('15m', now), '2026-01-01T11:45:00.000Z');
    assert.equal(parseSince('2026-01-01T10:00:00Z'), '2026-01-01T10:00:00.000Z');
    assert.throws(() => parseSince('yesterday'), TierError);
  });

  it('bounds the metrics window', () => {
    assert.equal(parseWindow('5m'), 300);
    assert.throws(() => parseWindow('5s'), TierError);
    assert.throws(() => parseWindow('five'), TierError);
  });

  it('needs exactly one restore point', () => {
    assert.deepEqual(parseRestoreTarget({ latest: true }), { latest: true });
    assert.deepEqual(parseRestoreTarget({ time: '2026-01-01T10:00:00Z' }), { time: '2026-01-01T10:00:00.000Z' });
    assert.throws(() => parseRestoreTarget({}), TierError);
    assert.throws(() => parseRestoreTarget({ latest: true, backup: 'x' }), TierError);
    assert.throws(() => parseRestoreTarget({ time: 'noon' }), TierError);
  });

  it('reads tier lists and rejects unknown tiers', () => {
    assert.deepEqual(parseTiers(undefined), ['web', 'api']);
    assert.deepEqual(parseTiers(['web']), ['web']);
    assert.deepEqual(parseTiers(['web,api', 'api']), ['web', 'api']);
    assert.throws(() => parseTiers(['db']), TierError);
  });
});

describe('terminal rendering', () => {
  it('aligns table columns and scales sparklines', () => {
    const out = table([
      { tier: 'web', rps: 10 },
      { tier: 'api', rps: 2.5 },
    ]);
    assert.equal(out, 'TIER  RPS\nweb   10\napi   2.50');
    assert.equal(sparkline([0, 7, 14]), '▁▅█');
  });
});

describe('tier executable', () => {
  it('prints a one-line error and the next step, without a stack trace, for bad input', async () => {
    const err = await run(process.execPath, ['bin/tier.js', 'scale', 'web=lots']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.ok('code' in err);
    assert.equal(err.code, 1);
    assert.match(err.stderr, /cannot read 'web=lots'/);
    assert.match(err.stderr, /next: /);
    assert.doesNotMatch(err.stderr, /at .*\.ts:\d+/);
  });
});
