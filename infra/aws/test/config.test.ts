// The stage configuration rejects values that would synthesize something broken, naming the fix.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dev } from '../config/dev.js';
import { loadStageConfig, validateStageConfig } from '../config/index.js';

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

  test('the pipeline image tag (-c imageTag=<sha>) replaces the configured tag', () => {
    const c = loadStageConfig('dev', { imageTag: 'abc123' });
    assert.deepEqual(c.services.image, { kind: 'ecr', tag: 'abc123' });
  });
});
