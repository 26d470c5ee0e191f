// Fuzzing every public route of the web tier (from its own route table) in front of the real API
// and a real PostgreSQL: no 5xx, no page slower than the tier's API budget, no stack trace, and
// every 303 (message accepted) readable from the API afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fuzzSettings, fuzzSurface } from '../../../test/support/fuzz.js';
import { readWebSettings } from '../src/config.js';
import { type RealApi, startRealApi } from './support/real-api.js';
import { type RunningWeb, startWeb } from './support/web.js';

let api: RealApi;
let web: RunningWeb;

before(async () => {
  api = await startRealApi();
  web = await startWeb({ API_HOST: api.url });
});
after(async () => {
  await web?.close();
  await api?.stop();
});

test('fuzzed requests to every web route get 2xx/3xx/4xx in time, without stack traces, and lose nothing accepted', async (t) => {
  // A refused form costs two API rounds in sequence: the POST, then the page's parallel reads.
  const { apiTimeoutMs } = readWebSettings({ API_HOST: api.url });
  const report = await fuzzSurface({
    baseUrl: web.url,
    apiBaseUrl: api.url,
    routes: web.service.routes,
    budgetMs: 2 * apiTimeoutMs,
    ...fuzzSettings(1000),
  });
  t.diagnostic(JSON.stringify(report));
  assert.deepEqual(report.lost, [], 'every accepted message is readable from the API');
  assert.ok(report.accepted > 0, 'some generated forms were valid and stored (the property was exercised)');
  const errors = api.logs.filter((line) => Number(line.level) >= 50);
  assert.deepEqual(errors, [], 'the API logged no error while the web tier was fuzzed');
});
