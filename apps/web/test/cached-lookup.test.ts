// The API's host name, once resolved, never makes a request wait for DNS: a stalled refresh (the
// engine's resolver dropping a query while it reloads) is answered from the last address at once.
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { cachedLookup } from '@tier/runtime';
import { Pool } from 'undici';
import { ApiClient } from '../src/api-client.js';

type Lookup = ReturnType<typeof cachedLookup>;
const v4 = (address: string): LookupAddress => ({ address, family: 4 });

/** A resolver the test answers by hand: each call waits until `answer` or `fail`. */
function manualResolver() {
  const pending: Array<{ resolve: (a: LookupAddress[]) => void; reject: (e: Error) => void }> = [];
  return {
    calls: () => pending.length,
    resolve: (_host: string) => new Promise<LookupAddress[]>((resolve, reject) => pending.push({ resolve, reject })),
    answer: (i: number, ...addresses: string[]) => pending[i]!.resolve(addresses.map(v4)),
    fail: (i: number) => pending[i]!.reject(Object.assign(new Error('timed out'), { code: 'EAI_AGAIN' })),
  };
}

const ask = (lookup: Lookup, options: { all?: boolean; family?: number } = {}) =>
  new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
    lookup('api-lb', options, (err, address) => resolve({ err, address })),
  );
const tick = () => new Promise((r) => setImmediate(r));

describe('cachedLookup', () => {
  test('a name never resolved waits for the resolver', async () => {
    const dns = manualResolver();
    const lookup = cachedLookup({ resolve: dns.resolve });
    let done = false;
    const answer = ask(lookup).then((a) => {
      done = true;
      return a;
    });
    await tick();
    assert.equal(done, false, 'answered before the resolver did');
    dns.answer(0, '10.89.0.7');
    assert.deepEqual(await answer, { err: null, address: '10.89.0.7' });
  });

  test('once resolved, answers at once while a refresh is stalled, and takes the new address when it comes', async () => {
    const dns = manualResolver();
    let clock = 0;
    const lookup = cachedLookup({ resolve: dns.resolve, refreshMs: 1000, now: () => clock });
    const first = ask(lookup);
    dns.answer(0, '10.89.0.7');
    await first;

    clock = 500; // fresh: no refresh
    assert.deepEqual(await ask(lookup), { err: null, address: '10.89.0.7' });
    assert.equal(dns.calls(), 1);

    clock = 1500; // stale: answered from the cache, one refresh started (and left hanging)
    assert.deepEqual(await ask(lookup), { err: null, address: '10.89.0.7' });
    assert.deepEqual(await ask(lookup), { err: null, address: '10.89.0.7' });
    assert.equal(dns.calls(), 2, 'one refresh at a time');

    dns.answer(1, '10.89.0.9'); // the balancer was recreated elsewhere
    await tick();
    assert.deepEqual(await ask(lookup), { err: null, address: '10.89.0.9' });
  });

  test('a peer answered at its old and its new address is reached at the new one first', async () => {
    const dns = manualResolver();
    let clock = 0;
    const lookup = cachedLookup({ resolve: dns.resolve, refreshMs: 1000, now: () => clock });
    const first = ask(lookup);
    dns.answer(0, '10.89.0.7');
    await first;
    clock = 1500;
    await ask(lookup);
    dns.answer(1, '10.89.0.7', '10.89.0.9'); // restarted elsewhere; the resolver still has the old one
    await tick();
    assert.deepEqual(await ask(lookup), { err: null, address: '10.89.0.9' });
    assert.deepEqual((await ask(lookup, { all: true })).address, [v4('10.89.0.9'), v4('10.89.0.7')]);
  });

  test('a failed refresh keeps the last address and tries again on the next lookup', async () => {
    const dns = manualResolver();
    let clock = 0;
    const lookup = cachedLookup({ resolve: dns.resolve, refreshMs: 1000, now: () => clock });
    const first = ask(lookup);
    dns.answer(0, '10.89.0.7');
    await first;
    clock = 2000;
    await ask(lookup);
    dns.fail(1);
    await tick();
    assert.deepEqual(await ask(lookup), { err: null, address: '10.89.0.7' });
    assert.equal(dns.calls(), 3, 'refreshed again after the failure');
  });

  test('answers in the shape asked: all addresses, or one of the family asked for', async () => {
    const lookup = cachedLookup({
      resolve: async () => [
        { address: 'fd00::7', family: 6 },
        { address: '10.89.0.7', family: 4 },
      ],
    });
    assert.deepEqual((await ask(lookup, { all: true })).address, [
      { address: 'fd00::7', family: 6 },
      { address: '10.89.0.7', family: 4 },
    ]);
    assert.deepEqual(await ask(lookup, { family: 4 }), { err: null, address: '10.89.0.7' });
    assert.deepEqual((await ask(lookup, { family: 4, all: true })).address, [{ address: '10.89.0.7', family: 4 }]);
  });

  test('a name that does not resolve is an error, not a hang', async () => {
    const lookup = cachedLookup({
      resolve: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND api-lb'), { code: 'ENOTFOUND' });
      },
    });
    const { err } = await ask(lookup);
    assert.equal(err?.code, 'ENOTFOUND');
  });

  test('through undici as the web tier uses it: new connections while DNS stalls connect at once', async () => {
    const server = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    let calls = 0;
    // The first answer comes at once; every later one stalls past any budget, like a dropped query.
    const resolve = (_host: string) =>
      calls++ === 0 ? Promise.resolve([v4('127.0.0.1')]) : new Promise<LookupAddress[]>(() => undefined);
    let clock = 0;
    const pool = new Pool(`http://api-lb:${port}`, {
      connect: { timeout: 1000, lookup: cachedLookup({ resolve, refreshMs: 1000, now: () => clock }) },
      pipelining: 0,
    });
    try {
      const get = async () => {
        const res = await pool.request({ method: 'GET', path: '/', reset: true, signal: AbortSignal.timeout(2000) });
        return res.body.text();
      };
      assert.equal(await get(), 'ok');
      clock = 5000; // every cached answer is stale now; the refresh never comes back
      // Waiting for DNS, each would fail on its 1 s connect timeout.
      assert.deepEqual(await Promise.all([get(), get(), get()]), ['ok', 'ok', 'ok']);
      assert.ok(calls >= 2, 'a refresh was attempted');
    } finally {
      await pool.close();
      server.close();
    }
  });
});

describe('ApiClient.resolveHost', () => {
  test('is never fatal: a name that does not resolve lets the web tier start (the API may not be up yet)', async () => {
    const client = new ApiClient({ baseUrl: 'http://api-lb.invalid:8081', timeoutMs: 1000, connections: 1 });
    try {
      await client.resolveHost(2000);
    } finally {
      await client.close();
    }
  });
});
