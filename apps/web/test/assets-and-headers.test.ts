// Static assets, cache policies, security headers, the 404 page, size limits and configuration
// errors: everything the web tier answers without needing the API.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../test/support/postgres.js';
import { buildWebService } from '../src/app.js';
import { IMMUTABLE_CACHE, loadAssets, SHORT_CACHE } from '../src/assets.js';
import { readWebSettings } from '../src/config.js';
import { type RunningWeb, startWeb } from './support/web.js';

const CSP_REQUIRED = ["default-src 'self'", "style-src 'self'", "script-src 'self'", "frame-ancestors 'none'"];

function assertSecurityHeaders(res: Response): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  for (const directive of CSP_REQUIRED) assert.ok(csp.includes(directive), `CSP lacks ${directive}: ${csp}`);
  assert.ok(!csp.includes('unsafe-inline'), 'CSP must not allow inline code');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'strict-origin-when-cross-origin');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
}

describe('web tier without an API', () => {
  let web: RunningWeb;
  before(async () => {
    // Nothing listens on this port: only pages that need no API answer normally.
    web = await startWeb({ API_HOST: `http://127.0.0.1:${await freePort()}` });
  });
  after(() => web.close());

  test('the plain stylesheet path is served with a short public cache', async () => {
    const res = await fetch(`${web.url}/stylesheets/style.css`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), SHORT_CACHE);
    assert.match(await res.text(), /\.site-header/);
    assertSecurityHeaders(res);
  });

  test('every public file has a fingerprinted copy cached for a year, immutable', async () => {
    const catalog = await loadAssets();
    const paths = catalog.all.map((a) => a.plainPath).sort();
    assert.deepEqual(paths, ['/images/logo.svg', '/stylesheets/style.css']);
    for (const asset of catalog.all) {
      assert.match(asset.fingerprintedPath, /\.[0-9a-f]{12}\.(css|svg)$/);
      const res = await fetch(web.url + asset.fingerprintedPath);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), IMMUTABLE_CACHE);
      assert.equal(res.headers.get('content-type'), asset.contentType);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), asset.body);
    }
  });

  test('the logo is an SVG image under /images/ with a short cache at its plain path', async () => {
    const res = await fetch(`${web.url}/images/logo.svg`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    assert.equal(res.headers.get('cache-control'), SHORT_CACHE);
    assert.match(await res.text(), /^<svg /);
  });

  test('a fingerprint that does not match the content is not found', async () => {
    const res = await fetch(`${web.url}/stylesheets/style.000000000000.css`);
    assert.equal(res.status, 404);
  });

  test('a revalidation with the current ETag gets 304 without a body', async () => {
    const first = await fetch(`${web.url}/stylesheets/style.css`);
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${web.url}/stylesheets/style.css`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
  });

  test('an unknown path answers a 404 HTML page with the security headers and no stack trace', async () => {
    const res = await fetch(`${web.url}/no/such/page?x=<b>`);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'private, no-cache');
    const body = await res.text();
    assert.match(body, /<title>Page not found · 3tier App<\/title>/);
    assert.match(body, /href="\/stylesheets\/style\.[0-9a-f]{12}\.css"/);
    assert.doesNotMatch(body, /at \w+ \(|Error:/);
    assertSecurityHeaders(res);
  });

  test('the request id is accepted from the client and echoed', async () => {
    const res = await fetch(`${web.url}/stylesheets/style.css`, { headers: { 'x-request-id': 'client-id-123' } });
    assert.equal(res.headers.get('x-request-id'), 'client-id-123');
  });

  test('a form bigger than the limit is refused with 413 as an HTML page', async () => {
    const res = await fetch(`${web.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ author: 'big', text: 'x'.repeat(64 * 1024) }).toString(),
    });
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await res.text(), /too long/);
  });

  test('a form in an unsupported encoding is refused with 415', async () => {
    const res = await fetch(`${web.url}/`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b' });
    assert.equal(res.status, 415);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  });
});

describe('web tier configuration', () => {
  const server = fileURLToPath(new URL('../src/server.ts', import.meta.url));
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', server], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });

  test('a missing API_HOST stops start-up with a message naming it', () => {
    const result = run({});
    assert.equal(result.status, 2);
    assert.match(result.stderr, /API_HOST is required/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  test('malformed settings are each named', () => {
    const result = run({ API_HOST: 'api-lb:8081', API_TIMEOUT_MS: 'soon' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /API_HOST must be an http\(s\) URL/);
    assert.match(result.stderr, /API_TIMEOUT_MS must be an integer/);
  });
});

describe('web tier start-up checks', () => {
  test('a public directory without the stylesheet or logo stops start-up with a message naming it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'web-public-'));
    try {
      const settings = readWebSettings({ API_HOST: 'http://127.0.0.1:1', LOG_LEVEL: 'silent' });
      await assert.rejects(buildWebService(settings, { publicDir: empty }), /\/stylesheets\/style\.css is missing/);
    } finally {
      await rm(empty, { recursive: true });
    }
  });
});
