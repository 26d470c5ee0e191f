// When the API is down or never answers, the page still answers: 503, a friendly HTML message and
// Retry-After, before a 3-second client gives up; when the API fails (500) the page says so (502).
// The stubs are the fakes here: a real API cannot be made to hang, or to fail, on demand.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../../test/support/postgres.js';
import { postForm, type RunningWeb, startWeb } from './support/web.js';

/** The user-facing budget: the page must be back before this. */
const PAGE_BUDGET_MS = 3000;

async function getPage(url: string): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(PAGE_BUDGET_MS) });
}

describe('API down (nothing listens)', () => {
  let web: RunningWeb;
  before(async () => {
    web = await startWeb({ API_HOST: `http://127.0.0.1:${await freePort()}` });
  });
  after(() => web.close());

  test('GET / answers 503 with a friendly page and Retry-After', async () => {
    const res = await getPage(`${web.url}/`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'private, no-cache');
    const body = await res.text();
    assert.match(body, /We will be right back/);
    assert.doesNotMatch(body, /ECONNREFUSED|Error:/);
  });

  test('posting a message answers 503 and gives the typed text back in the form', async () => {
    const res = await postForm(`${web.url}/`, { author: 'Ada', text: 'Still <here>', form_token: 'tok-1' });
    assert.equal(res.status, 503);
    assert.ok(res.headers.get('retry-after'));
    const body = await res.text();
    assert.match(body, /We could not save your message/);
    assert.match(body, /value="Ada"/);
    assert.match(body, />Still &lt;here&gt;<\/textarea>/);
    // Same token: resending the same text after a lost answer cannot write twice.
    assert.match(body, /name="form_token" value="tok-1"/);
  });
});

describe('API that accepts connections but never answers', () => {
  let stub: Server;
  let web: RunningWeb;
  before(async () => {
    stub = createServer(() => {
      // never respond
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const { port } = stub.address() as { port: number };
    web = await startWeb({ API_HOST: `http://127.0.0.1:${port}`, API_TIMEOUT_MS: '2000' });
  });
  after(async () => {
    await web.close();
    stub.closeAllConnections();
    await new Promise((resolve) => stub.close(resolve));
  });

  test('GET / gives up on the API and answers 503 within the page budget', async () => {
    const res = await getPage(`${web.url}/`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.match(await res.text(), /We will be right back/);
  });

  test('the web tier keeps serving static files while the API hangs', async () => {
    const [page, css] = await Promise.all([getPage(`${web.url}/`), getPage(`${web.url}/stylesheets/style.css`)]);
    assert.equal(css.status, 200);
    assert.equal(page.status, 503);
  });
});

describe('API that answers an error status', () => {
  let stub: Server;
  let web: RunningWeb;
  let answer = { status: 500, headers: {} as Record<string, string> };
  before(async () => {
    stub = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify({ error: 'Error', message: 'unexpected error; reference abc' }));
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const { port } = stub.address() as { port: number };
    web = await startWeb({ API_HOST: `http://127.0.0.1:${port}` });
  });
  after(async () => {
    await web.close();
    stub.closeAllConnections();
    await new Promise((resolve) => stub.close(resolve));
  });

  const cases: Array<[number, number, string]> = [
    [500, 502, 'a failure of the API is a bad gateway, not "unavailable"'],
    [504, 502, 'any other 5xx is a bad gateway too'],
    [503, 503, 'an API that says it is unavailable stays 503'],
    [429, 503, 'an overloaded API is 503'],
  ];
  for (const [apiStatus, pageStatus, why] of cases) {
    test(`API ${apiStatus} -> page ${pageStatus} with the request id (${why})`, async () => {
      answer = { status: apiStatus, headers: apiStatus === 503 ? { 'retry-after': '2' } : {} };
      for (const res of [
        await getPage(`${web.url}/`),
        await postForm(`${web.url}/`, { author: 'Ada', text: 'hello', form_token: 'tok-5xx' }),
      ]) {
        assert.equal(res.status, pageStatus);
        const requestId = res.headers.get('x-request-id') ?? '';
        const body = await res.text();
        assert.ok(body.includes(`<code class="request-id">${requestId}</code>`), 'the page shows the request id');
        assert.doesNotMatch(body, /unexpected error|reference abc/, "the API's own message stays in the logs");
        if (apiStatus === 503) assert.equal(res.headers.get('retry-after'), '2');
      }
    });
  }
});
