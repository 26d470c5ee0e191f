// The smoke test against a stand-in edge on loopback: a working app passes, each kind of breakage is named.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { smokeTest } from '../src/pipeline/smoke.js';

let broken: 'none' | 'page' | 'status' | 'write' = 'none';
let server: Server;
let url: string;
const messages: Array<{ id: number; author: string; text: string; created_at: string }> = [];

before(async () => {
  server = createServer((req, res) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const time = new Date().toISOString();
    if (req.method === 'GET' && req.url?.startsWith('/?')) {
      return broken === 'page'
        ? send(200, '<html><title>3tier App</title><h1>Oops</h1></html>', 'text/html')
        : send(
            200,
            `<html><head><title>3tier App</title></head><h1>Welcome, it&#39;s <time datetime="${time}">${time}</time></h1></html>`,
            'text/html',
          );
    }
    if (req.url === '/api/status')
      return broken === 'status' ? send(503, { error: 'db down' }) : send(200, [{ time, request_uuid: randomUUID() }]);
    if (req.method === 'POST' && req.url === '/api/messages') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const { author, text } = JSON.parse(body);
        const message = { id: messages.length + 1, author, text, created_at: time };
        if (broken !== 'write') messages.unshift(message);
        send(201, message);
      });
      return;
    }
    if (req.url?.startsWith('/api/messages')) return send(200, { items: messages, nextCursor: null });
    send(404, { error: 'not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(() => server.close());

describe('smoke test', () => {
  it('passes when the page shows the time, the status answers and a write reads back', async () => {
    broken = 'none';
    const result = await smokeTest({ url, version: 'abc123', attempts: 1 });
    assert.equal(result.ok, true, JSON.stringify(result.checks));
    assert.equal(result.checks.length, 3);
    assert.match(messages[0]!.text, /pipeline smoke test abc123 smoke-/);
  });

  for (const [kind, expected] of [
    ['page', /does not say "Welcome/],
    ['status', /answered 503/],
    ['write', /is not in GET \/api\/messages/],
  ] as const) {
    it(`fails and says why when the ${kind} is broken`, async () => {
      broken = kind;
      const result = await smokeTest({ url, attempts: 1 });
      assert.equal(result.ok, false);
      const failed = result.checks.filter((c) => !c.ok);
      assert.equal(failed.length, 1);
      assert.match(failed[0]!.detail, expected);
    });
  }

  it('read-only (production): reads the guestbook and writes nothing', async () => {
    broken = 'none';
    const before = messages.length;
    const result = await smokeTest({ url, attempts: 1, write: false });
    assert.equal(result.ok, true, JSON.stringify(result.checks));
    assert.deepEqual(
      result.checks.map((c) => c.name),
      [
        'page renders with the time',
        '/api/status answers 200 with a time and a request uuid',
        'the guestbook reads (read-only: nothing written)',
      ],
    );
    assert.equal(messages.length, before, 'a read-only smoke test wrote a message');
  });

  it("main.yml's production smoke test is read-only, staging's writes", async () => {
    const { readFile } = await import('node:fs/promises');
    const workflow = await readFile(new URL('../../../.github/workflows/main.yml', import.meta.url), 'utf8');
    const smokes = [...workflow.matchAll(/npm run ci:smoke -- (.*)$/gm)].map((m) => m[1]!);
    const production = smokes.filter((args) => args.includes('$PRODUCTION_STAGE'));
    const staging = smokes.filter((args) => args.includes('$STAGING_STAGE'));
    assert.ok(production.length > 0 && staging.length > 0, `ci:smoke steps: ${smokes.join(' | ')}`);
    for (const args of production) assert.match(args, /--read-only\b/);
    for (const args of staging) assert.doesNotMatch(args, /--read-only/);
  });

  it('reports an unreachable edge as a failed check, not a crash', async () => {
    const result = await smokeTest({ url: 'http://127.0.0.1:9/', attempts: 1, timeoutMs: 1000 });
    assert.equal(result.ok, false);
    assert.equal(
      result.checks.every((c) => !c.ok),
      true,
    );
  });
});
