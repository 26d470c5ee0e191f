// The test-only fault knob: off unless FAULT_5XX_PERCENT is set, then exactly that share of 500s.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnvReader } from '@tier/runtime';
import Fastify from 'fastify';
import { injectFaults, readFaultSettings } from '../src/fault.js';

async function statuses(percent: number, requests: number): Promise<number[]> {
  const app = Fastify();
  injectFaults(app, { fail5xxPercent: percent });
  app.get('/api/status', async () => ({ ok: true }));
  const out: number[] = [];
  for (let i = 0; i < requests; i++) out.push((await app.inject({ url: '/api/status' })).statusCode);
  await app.close();
  return out;
}

describe('fault injection (test-only FAULT_5XX_PERCENT)', () => {
  it('is off by default', async () => {
    assert.deepEqual(readFaultSettings(new EnvReader({})), { fail5xxPercent: 0 });
    assert.ok((await statuses(0, 200)).every((s) => s === 200));
  });

  it('answers exactly that share with a 500, spread evenly', async () => {
    const got = await statuses(5, 200);
    assert.equal(got.filter((s) => s === 500).length, 10);
    assert.equal(got.slice(0, 20).filter((s) => s === 500).length, 1, 'one in every twenty, not a burst');
    assert.ok(got.every((s) => s === 200 || s === 500));
  });

  it('refuses a share outside 0..100 at start-up', () => {
    const env = new EnvReader({ FAULT_5XX_PERCENT: '101' });
    readFaultSettings(env);
    assert.throws(() => env.check(), /FAULT_5XX_PERCENT must be an integer between 0 and 100/);
  });
});
