// The stage configuration rejects values that would synthesize something broken, naming the fix.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dev } from '../config/dev.js';
import { loadStageConfig, validateStageConfig } from '../config/index.js';
import { prod } from '../config/prod.js';

describe('stage configuration', () => {
  test('an unknown stage names the valid ones', () => {
    assert.throws(() => loadStageConfig('staging'), /Unknown stage "staging": use one of dev, prod/);
    assert.throws(() => loadStageConfig(undefined), /-c stage=/);
  });

  test('fewer than 2 tasks per tier is refused', () => {
    const bad = { ...dev, services: { ...dev.services, api: { ...dev.services.api, minTasks: 1 } } };
    assert.throws(() => validateStageConfig(bad), /services\.api\.minTasks must be >= 2/);
  });

  test('a single AZ is refused', () => {
    assert.throws(() => validateStageConfig({ ...dev, maxAzs: 1 }), /maxAzs is 1; use at least 2/);
  });

  test('githubRepo must be owner/name', () => {
    assert.throws(
      () => validateStageConfig({ ...dev, pipeline: { ...dev.pipeline, githubRepo: 'nope' } }),
      /owner\/name/,
    );
  });

  test('a copy vault in the stage region or another account is refused (the backup-copy stack creates it)', () => {
    const withCopy = (arn: string) => ({ ...prod, backup: { ...prod.backup, copyToVaultArn: arn } });
    assert.throws(
      () => validateStageConfig(withCopy('arn:aws:backup:eu-west-1:111111111111:backup-vault:tier-prod-copy')),
      /in another region than eu-west-1/,
    );
    assert.throws(
      () => validateStageConfig(withCopy('arn:aws:backup:eu-central-1:222222222222:backup-vault:tier-prod-copy')),
      /of account 111111111111/,
    );
    assert.throws(() => validateStageConfig(withCopy('tier-prod-copy')), /is not arn:aws:backup/);
  });

  test('a database class without a known memory size is refused (it sizes the memory and connection alarms)', () => {
    const bad = { ...dev, database: { ...dev.database, instanceType: 'x9.huge' } };
    assert.throws(() => validateStageConfig(bad), /instanceMemoryGiB/);
  });

  test('the pipeline image tag (-c imageTag=<sha>) replaces the configured tag', () => {
    const c = loadStageConfig('dev', { imageTag: 'abc123' });
    assert.deepEqual(c.services.image, { kind: 'ecr', tag: 'abc123' });
  });
});
