// The page against the real API and a real PostgreSQL: the original app's contract, the guestbook
// (post/redirect/get, idempotent double-submit, validation errors, escaping), request id forwarding,
// and the API answering 5xx while its database is down.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type RealApi, startRealApi } from './support/real-api.js';
import { formToken, postForm, type RunningWeb, startWeb } from './support/web.js';

const UUID_V4 = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/;

async function page(url: string, headers: Record<string, string> = {}): Promise<{ res: Response; body: string }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { res, body: await res.text() };
}

/** Messages as the API stores them (newest first). */
async function storedMessages(api: RealApi): Promise<{ author: string; text: string }[]> {
  const res = await fetch(`${api.url}/api/messages?limit=100`);
  return ((await res.json()) as { items: { author: string; text: string }[] }).items;
}

describe('web tier with the real API', () => {
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

  test('GET / keeps the original contract: title, welcome with the time, request uuid, image, stylesheet', async () => {
    const { res, body } = await page(`${web.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(body, /<title>3tier App<\/title>/);
    const welcome = /Welcome, it's <time class="status-time" datetime="([^"]+)">([^<]+)<\/time>/.exec(body);
    assert.ok(welcome, 'welcome line with the time');
    assert.equal(welcome[1], welcome[2]);
    assert.ok(!Number.isNaN(Date.parse(welcome[2] ?? '')), `time is a date: ${welcome[2]}`);
    assert.match(body, new RegExp(`<code class="request-uuid">${UUID_V4.source}</code>`));
    assert.match(body, /<img class="brand-logo" src="\/images\/logo\.[0-9a-f]{12}\.svg"/);
    assert.match(
      body,
      /<link rel="stylesheet" href="\/stylesheets\/style\.[0-9a-f]{12}\.css" data-unversioned-href="\/stylesheets\/style\.css">/,
    );
    assert.doesNotMatch(body, /<script|style="/, 'no inline script or style (the CSP forbids them)');
  });

  test('GET / has the HTML cache policy and the security headers', async () => {
    const { res } = await page(`${web.url}/`);
    assert.equal(res.headers.get('cache-control'), 'private, no-cache');
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  test('every render has its own uuid and its own form token', async () => {
    const [a, b] = await Promise.all([page(`${web.url}/`), page(`${web.url}/`)]);
    assert.notEqual(UUID_V4.exec(a.body)?.[0], UUID_V4.exec(b.body)?.[0]);
    assert.notEqual(formToken(a.body), formToken(b.body));
  });

  test('the request id is forwarded to the API', async () => {
    const id = `web-test-${randomUUID()}`;
    const { res } = await page(`${web.url}/`, { 'x-request-id': id });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), id);
    // The API logs each request with the id it received; give its stdout a moment to arrive.
    for (let i = 0; i < 50; i++) {
      const routes = api.logs.filter((l) => l.request_id === id).map((l) => l.route);
      if (routes.includes('/api/status') && routes.includes('/api/messages')) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(`API logs have no requests with id ${id}`);
  });

  test('a posted message redirects to / (303) and is listed there', async () => {
    const form = await page(`${web.url}/`);
    const text = `hello from the test ${randomUUID()}`;
    const res = await postForm(`${web.url}/`, { author: 'Grace', text, form_token: formToken(form.body) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/');
    const { body } = await page(`${web.url}/`);
    assert.match(body, /<span class="message-author">Grace<\/span>/);
    assert.ok(body.includes(`<p class="message-text">${text}</p>`));
  });

  test('POST /messages works like POST /', async () => {
    const text = `via /messages ${randomUUID()}`;
    const res = await postForm(`${web.url}/messages`, { author: 'Linus', text, form_token: randomUUID() });
    assert.equal(res.status, 303);
    assert.ok((await storedMessages(api)).some((m) => m.text === text));
  });

  test('a double-submitted form writes the message once', async () => {
    const token = formToken((await page(`${web.url}/`)).body);
    const text = `double submit ${randomUUID()}`;
    const fields = { author: 'Margaret', text, form_token: token };
    const [first, second] = await Promise.all([postForm(`${web.url}/`, fields), postForm(`${web.url}/`, fields)]);
    assert.equal(first.status, 303);
    assert.equal(second.status, 303);
    const third = await postForm(`${web.url}/`, fields);
    assert.equal(third.status, 303);
    assert.equal((await storedMessages(api)).filter((m) => m.text === text).length, 1);
  });

  test('a form reused with different text (back button) still writes the new text', async () => {
    const token = formToken((await page(`${web.url}/`)).body);
    const one = `first ${randomUUID()}`;
    const two = `second ${randomUUID()}`;
    assert.equal((await postForm(`${web.url}/`, { author: 'Ken', text: one, form_token: token })).status, 303);
    assert.equal((await postForm(`${web.url}/`, { author: 'Ken', text: two, form_token: token })).status, 303);
    const texts = (await storedMessages(api)).map((m) => m.text);
    assert.ok(texts.includes(one) && texts.includes(two));
  });

  test('a validation error from the API re-renders the page with 400, the error, and the input kept', async () => {
    const author = 'A'.repeat(65);
    const text = 'Kept "as typed" & <intact>';
    const res = await postForm(`${web.url}/`, { author, text, form_token: 'tok-validation' });
    assert.equal(res.status, 400);
    const body = await res.text();
    assert.match(body, /<p class="form-error" role="alert">Please enter your name \(1 to 64 characters\)\.<\/p>/);
    assert.match(body, /name="author"[^>]*aria-invalid="true"/);
    assert.ok(body.includes(`value="${author}"`));
    assert.ok(body.includes('>Kept &quot;as typed&quot; &amp; &lt;intact&gt;</textarea>'));
    assert.match(body, /Welcome, it's/, 'the rest of the page is there too');
    assert.equal((await storedMessages(api)).filter((m) => m.author === author).length, 0);
  });

  test('a NUL character in the name is refused with 400 and the field marked, not a 5xx page; nothing is stored', async () => {
    // The form's encoding of "\u0000evil": PostgreSQL cannot store NUL, so the API's schema refuses it.
    const res = await postForm(`${web.url}/`, { author: '\u0000evil', text: 'x', form_token: randomUUID() });
    assert.equal(res.status, 400);
    const body = await res.text();
    assert.match(body, /<p class="form-error" role="alert">Your name contains a character that cannot be saved/);
    assert.match(body, /name="author"[^>]*aria-invalid="true"/);
    assert.doesNotMatch(body, /<textarea id="text"[^>]*aria-invalid/);
    assert.equal((await storedMessages(api)).filter((m) => m.author.endsWith('evil')).length, 0);
  });

  test('a NUL character in the message marks the message field', async () => {
    const res = await postForm(`${web.url}/messages`, { author: 'Ada', text: 'before\u0000after' });
    assert.equal(res.status, 400);
    const body = await res.text();
    assert.match(body, /Your message contains a character that cannot be saved/);
    assert.match(body, /<textarea id="text"[^>]*aria-invalid="true"/);
  });

  test('an empty message is refused with the field named', async () => {
    const res = await postForm(`${web.url}/`, { author: 'Empty', text: '   ' });
    assert.equal(res.status, 400);
    const body = await res.text();
    assert.match(body, /<p class="form-error" role="alert">Please write a message \(1 to 1000 characters\)\.<\/p>/);
    assert.match(body, /<textarea id="text"[^>]*aria-invalid="true"/);
  });

  test('HTML in a posted message is shown as text, never as markup', async () => {
    const author = '"><b>bold</b>';
    const text = `<script>alert('xss')</script><img src=x onerror=alert(1)> ${randomUUID()}`;
    const res = await postForm(`${web.url}/`, { author, text, form_token: randomUUID() });
    assert.equal(res.status, 303);
    const { body } = await page(`${web.url}/`);
    assert.doesNotMatch(body, /<script|<b>bold|<img src=x/);
    assert.ok(body.includes('&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(body.includes('&quot;&gt;&lt;b&gt;bold&lt;/b&gt;'));
  });

  test('while the database is down the API answers 503 and so does the page; then it recovers', async () => {
    await api.db.stop();
    try {
      const down = await fetch(`${web.url}/`, { signal: AbortSignal.timeout(3000) });
      assert.equal(down.status, 503);
      assert.match(down.headers.get('retry-after') ?? '', /^\d+$/);
      const downPage = await down.text();
      assert.match(downPage, /We will be right back/);
      const requestId = down.headers.get('x-request-id') ?? '';
      assert.ok(downPage.includes(`<code class="request-id">${requestId}</code>`), 'the page shows the request id');
    } finally {
      await api.db.start();
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(`${web.url}/`)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(status, 200);
  });
});
