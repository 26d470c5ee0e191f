// The local operations' pure parts: HAProxy stat parsing, restore options, log parsing, rollback target.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { DeployRecord } from '../src/backend.js';
import { TierError } from '../src/backend.js';
import { restoreOptions } from '../src/local/backup.js';
import { inRotation, parseShowProc, parseShowStat, slotFor, totals } from '../src/local/balancer.js';
import { describe as describeContainer, versionOf } from '../src/local/containers.js';
import { previousVersion } from '../src/local/history.js';
import { dayFiles, matches, parseLine } from '../src/local/logs.js';
import { rolloutSettings } from '../src/local/rollout.js';

const STAT = `# pxname,svname,qcur,status,addr,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other
public,FRONTEND,0,OPEN,,0,100,0,0,1,0
replicas,api1,0,UP,10.89.1.5:3000,0,60,0,0,0,0
replicas,api2,0,DOWN,10.89.1.6:3000,0,40,0,0,1,0
replicas,api3,0,MAINT,,0,0,0,0,0,0
replicas,BACKEND,0,UP,,0,100,0,0,1,0
`;

describe('balancer stats', () => {
  it('parses show stat and finds slots by address', () => {
    const stats = parseShowStat(STAT).filter((s) => s.backend === 'replicas');
    assert.equal(stats.length, 4);
    assert.ok(inRotation(slotFor(stats, '10.89.1.5')));
    assert.ok(!inRotation(slotFor(stats, '10.89.1.6')));
    assert.equal(slotFor(stats, '10.89.1.9'), undefined);
    assert.deepEqual(totals(stats), { responses: 101, errors5xx: 1 });
  });
});

describe('balancer reload counters', () => {
  // Recorded from HAProxy 3.0.11's master CLI: after reloads, and after a reload that failed (a
  // failed reload counts as a reload too, so the failed count decides).
  const recorded = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
  it('reads the master line of show proc', () => {
    assert.deepEqual(parseShowProc(recorded('haproxy-3.0-show-proc.txt')), { reloads: 8, failed: 0 });
    assert.deepEqual(parseShowProc(recorded('haproxy-3.0-show-proc-after-failed-reload.txt')), {
      reloads: 9,
      failed: 1,
    });
  });
  it('finds no counters in an empty or foreign answer', () => {
    assert.equal(parseShowProc(''), undefined);
    assert.equal(parseShowProc('Unknown command'), undefined);
  });
});

describe('restore options', () => {
  const list = [
    {
      id: '20260101-000000F',
      type: 'full',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:10.000Z',
    },
  ];
  it('maps each target to pgBackRest options', () => {
    assert.deepEqual(restoreOptions({ latest: true }, list), []);
    assert.deepEqual(restoreOptions({ backupId: '20260101-000000F' }, list), [
      '--set=20260101-000000F',
      '--type=immediate',
      '--target-action=promote',
    ]);
    assert.deepEqual(restoreOptions({ time: '2026-01-01T00:01:00.000Z' }, list), [
      '--type=time',
      '--target=2026-01-01 00:01:00.000+00',
      '--target-action=promote',
    ]);
  });
  it('refuses times before the first backup, unknown sets and future times', () => {
    assert.throws(() => restoreOptions({ time: '2025-12-31T00:00:00Z' }, list), TierError);
    assert.throws(() => restoreOptions({ time: '2999-01-01T00:00:00Z' }, list), TierError);
    assert.throws(
      () => restoreOptions({ backupId: 'nope' }, list),
      (e: TierError) => /tier backup list/.test(e.hint ?? ''),
    );
    assert.throws(() => restoreOptions({ time: '2026-01-01T00:01:00Z' }, []), TierError);
  });
});

describe('log store lines', () => {
  it('flattens app JSON into the envelope and filters', () => {
    const raw = JSON.stringify({
      time: '2026-01-01T00:00:01Z',
      tier: 'api',
      container: 'tier_api_1',
      container_id: 'abc',
      stream: 'stdout',
      msg: JSON.stringify({ level: 30, time: 1, tier: 'api', request_id: 'r-1', status: 200, msg: 'request' }),
    });
    const rec = parseLine(raw);
    assert.equal(rec?.request_id, 'r-1');
    assert.equal(rec?.time, '2026-01-01T00:00:01Z');
    assert.equal(rec?.msg, 'request');
    const since = Date.parse('2026-01-01T00:00:00Z');
    assert.ok(matches(rec!, raw, { tier: 'api', requestId: 'r-1' }, since));
    assert.ok(!matches(rec!, raw, { tier: 'web' }, since));
    assert.ok(!matches(rec!, raw, { grep: 'nothing-like-this' }, since));
    assert.ok(!matches(rec!, raw, {}, Date.parse('2026-01-02T00:00:00Z')));
    assert.equal(parseLine('not json'), undefined);
  });
  it('lists one file per day', () => {
    const files = dayFiles(new Date('2026-01-30T23:00:00Z'), new Date('2026-02-01T01:00:00Z'));
    assert.deepEqual(files, [
      '/var/log/central/tier-2026-01-30.jsonl',
      '/var/log/central/tier-2026-01-31.jsonl',
      '/var/log/central/tier-2026-02-01.jsonl',
    ]);
  });
});

describe('deploy history and settings', () => {
  const rec = (version: string, previous: string, outcome: DeployRecord['outcome']): DeployRecord => ({
    id: version,
    tier: 'web',
    version,
    previousVersion: previous,
    startedAt: '',
    finishedAt: '',
    outcome,
  });
  it('rolls back to the version before the last successful deploy', () => {
    assert.equal(previousVersion([rec('b', 'a', 'succeeded'), rec('c', 'b', 'rolled-back')], 'web'), 'a');
    assert.equal(previousVersion([], 'web'), undefined);
    assert.equal(previousVersion([rec('b', 'a', 'succeeded')], 'api'), undefined);
  });
  it('takes a container’s version from its image’s revision label, else from the image’s tag', () => {
    const container = (labels: Record<string, string>) =>
      describeContainer({
        Id: 'id1',
        Name: '/tier_api_1',
        Config: { Image: 'localhost/tier-api:abc123', Labels: { 'com.docker.compose.service': 'api', ...labels } },
        State: { Status: 'running', Running: true, ExitCode: 0 },
        Created: '2026-03-01T10:00:00Z',
      });
    assert.equal(container({}).version, 'abc123');
    assert.equal(container({ 'org.opencontainers.image.revision': 'def456' }).version, 'def456');
  });
  it('reads image tags and rollout settings', () => {
    assert.equal(versionOf('localhost/tier-api:abc123'), 'abc123');
    assert.equal(versionOf('localhost:5000/tier-api'), 'latest');
    assert.equal(rolloutSettings({ TIER_READY_TIMEOUT_S: '5' }).readyTimeoutMs, 5000);
    assert.equal(rolloutSettings({ TIER_READY_TIMEOUT_S: 'x' }).readyTimeoutMs, 30_000);
  });
});
