// Runs last among the e2e files (alphabetical order, one file at a time): removes the local
// environment, volumes included. Keep it with TIER_E2E_KEEP=1.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LocalBackend } from '@tier/cli';
import { quietProgress } from './support/local-env.js';

it('tears the local environment down, volumes included', { skip: process.env.TIER_E2E_KEEP === '1' }, async () => {
  const backend = new LocalBackend();
  await backend.down(quietProgress, { volumes: true });
  const left = await (await backend.engine()).api.containers();
  assert.deepEqual(
    left.map((c) => c.Names[0]),
    [],
  );
});
