// Routes against a real PostgreSQL: the original app's status contract, the guestbook, every error case.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PostgresCluster } from '../../../test/support/postgres.js';
import { postMessage, type RunningApi, startApi, startMigratedPostgres, UUID_V4 } from './support.js';

let db: PostgresCluster;
let api: RunningApi;

before(async () => {
  db = await startMigratedPostgres();
  api = await startApi(db);
});
after(async () => {
  await api?.close();
  await db?.destroy();
});

async function countRows(where = 'true', values: unknown[] = []): Promise<number> {
  const client = await db.superuserClient();
  try {
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM messages WHERE ${where}`, values);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

describe('GET /api/status (node-3tier-app2 contract)', () => {
  test('answers [{time, request_uuid}] with the database time as ISO-8601 and a v4 uuid', async () => {
    const res = await fetch(`${api.url}/api/status`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as Array<{ time: string; request_uuid: string }>;
    assert.equal(body.length, 1);
    assert.deepEqual(Object.keys(body[0]!).sort(), ['request_uuid', 'time']);
    assert.match(body[0]!.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(body[0]!.time) - Date.now()) < 5000, 'time is close to now');
    assert.match(body[0]!.request_uuid, UUID_V4);
  });

  test('gives every request a new uuid', async () => {
    type Status = Array<{ request_uuid: string }>;
    const read = () => fetch(`${api.url}/api/status`).then((r) => r.json() as Promise<Status>);
    const [a, b] = await Promise.all([read(), read()]);
    assert.notEqual(a![0]!.request_uuid, b![0]!.request_uuid);
  });

  test('sends security headers, no-store, and echoes a well-formed x-request-id', async () => {
    const res = await fetch(`${api.url}/api/status`, { headers: { 'x-request-id': 'web-abc.123' } });
    assert.equal(res.headers.get('x-request-id'), 'web-abc.123');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-powered-by'), null);
  });

  test('replaces a malformed x-request-id with a generated one', async () => {
    const res = await fetch(`${api.url}/api/status`, { headers: { 'x-request-id': 'bad id <script>' } });
    assert.match(res.headers.get('x-request-id') ?? '', UUID_V4);
  });
});

describe('POST /api/messages', () => {
  test('stores a trimmed message and answers 201 with it', async () => {
    const res = await postMessage(api.url, { author: '  Ada ', text: '\n hello guestbook \t' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('idempotent-replay'), null);
    assert.deepEqual(Object.keys(res.body).sort(), ['author', 'created_at', 'id', 'text']);
    assert.equal(res.body.author, 'Ada');
    assert.equal(res.body.text, 'hello guestbook');
    assert.equal(typeof res.body.id, 'number');
    assert.ok(Math.abs(Date.parse(res.body.created_at as string) - Date.now()) < 5000);
  });

  test('accepts the longest allowed author and text, counted in characters', async () => {
    const res = await postMessage(api.url, { author: 'é'.repeat(64), text: '😀'.repeat(1000) });
    assert.equal(res.status, 201);
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['missing author', { text: 'x' }, /body\.author is required/],
    ['missing text', { author: 'x' }, /body\.text is required/],
    ['empty author', { author: '', text: 'x' }, /body\.author/],
    ['whitespace-only text', { author: 'x', text: '   ' }, /body\.text/],
    ['author too long', { author: 'a'.repeat(65), text: 'x' }, /body\.author must NOT have more than 64/],
    ['text too long', { author: 'x', text: 't'.repeat(1001) }, /body\.text must NOT have more than 1000/],
    ['author not a string', { author: 42, text: 'x' }, /body\.author must be string/],
    ['extra field', { author: 'x', text: 'y', admin: true }, /body\.admin is not allowed/],
    ['an array body', [{ author: 'x', text: 'y' }], /body must be object/],
    ['invalid JSON', '{"author": ', /not valid JSON/],
    // PostgreSQL text cannot hold NUL: without the schema's rule this was a 500.
    ['NUL in the author', { author: '\u0000evil', text: 'x' }, /^body\.author must not contain NUL/],
    ['NUL in the text', { author: 'x', text: 'a\u0000b' }, /^body\.text must not contain NUL/],
    // A lone surrogate has no UTF-8 form: without the rule it was stored as U+FFFD, silently.
    ['a lone high surrogate', { author: 'x', text: 'a\ud800' }, /^body\.text must not contain .*unpaired surrogate/],
    ['a lone low surrogate', { author: '\udc00', text: 'x' }, /^body\.author must not contain .*unpaired surrogate/],
  ];
  for (const [name, body, message] of invalid) {
    test(`rejects ${name} with 400 naming the field`, async () => {
      const res = await postMessage(api.url, body);
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'Bad Request');
      assert.match(String(res.body.message), message);
    });
  }

  test('stores characters outside the BMP (surrogate pairs) and controls other than NUL as sent', async () => {
    const res = await postMessage(api.url, { author: 'Zoë 😀', text: 'tab\there, bell \u0007, 👩‍👩‍👧' });
    assert.equal(res.status, 201);
    assert.equal(res.body.author, 'Zoë 😀');
    assert.equal(res.body.text, 'tab\there, bell \u0007, 👩‍👩‍👧');
  });

  test('a rejected NUL writes nothing', async () => {
    const before = await countRows();
    await postMessage(api.url, { author: '\u0000evil', text: 'x' });
    assert.equal(await countRows(), before);
  });

  test('rejects a malformed Idempotency-Key with 400 naming the header', async () => {
    for (const key of ['k'.repeat(129), 'has space']) {
      const res = await postMessage(api.url, { author: 'x', text: 'y' }, { 'idempotency-key': key });
      assert.equal(res.status, 400);
      assert.match(String(res.body.message), /headers\.idempotency-key/);
    }
  });

  test('answers 413 to a body over the limit', async () => {
    const res = await postMessage(api.url, { author: 'x', text: 'y'.repeat(20_000) });
    assert.equal(res.status, 413);
    assert.equal(res.body.error, 'Payload Too Large');
  });

  test('answers 415 to a body that is not JSON', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await fetch(`${api.url}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: 'author=x&text=y',
      });
      assert.equal(res.status, 415, type);
      assert.deepEqual(await res.json(), {
        error: 'Unsupported Media Type',
        message: 'content-type must be application/json',
      });
    }
  });
});

describe('Idempotency-Key', () => {
  test('a retried POST returns the first result, marked as a replay, and writes one row', async () => {
    const key = `retry-${crypto.randomUUID()}`;
    const first = await postMessage(api.url, { author: 'Grace', text: 'once' }, { 'idempotency-key': key });
    const retry = await postMessage(api.url, { author: 'Grace', text: 'once' }, { 'idempotency-key': key });
    assert.equal(first.status, 201);
    assert.equal(retry.status, 201);
    assert.deepEqual(retry.body, first.body);
    assert.equal(retry.headers.get('idempotent-replay'), 'true');
    assert.equal(await countRows('idempotency_key = $1', [key]), 1);
  });

  test('concurrent retries of one POST write exactly one row and all return it', async () => {
    const key = `burst-${crypto.randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        postMessage(api.url, { author: 'Linus', text: 'at once' }, { 'idempotency-key': key }),
      ),
    );
    assert.ok(results.every((r) => r.status === 201));
    assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
    assert.equal(results.filter((r) => r.headers.get('idempotent-replay') === null).length, 1);
    assert.equal(await countRows('idempotency_key = $1', [key]), 1);
  });

  test('reusing a key for a different message is refused with 422 and writes nothing', async () => {
    const key = `reuse-${crypto.randomUUID()}`;
    await postMessage(api.url, { author: 'A', text: 'first' }, { 'idempotency-key': key });
    const other = await postMessage(api.url, { author: 'A', text: 'second' }, { 'idempotency-key': key });
    assert.equal(other.status, 422);
    assert.match(String(other.body.message), /Idempotency-Key/);
    assert.equal(await countRows("text = 'second'"), 0);
  });
});

describe('GET /api/messages', () => {
  test('walks every row exactly once, newest first, with nextCursor null on the last page', async () => {
    // Rows sharing one created_at (one transaction) prove the id tie-breaker works.
    const client = await db.superuserClient();
    await client.query(`INSERT INTO messages (author, text) SELECT 'bulk', 'row ' || g FROM generate_series(1, 45) g`);
    await client.end();
    const total = await countRows();

    const seen: Array<{ id: number; created_at: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Response = await fetch(`${api.url}/api/messages?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200);
      const page = (await res.json()) as {
        items: Array<{ id: number; created_at: string }>;
        nextCursor: string | null;
      };
      assert.ok(page.items.length <= 7);
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 100);

    assert.equal(seen.length, total);
    assert.equal(new Set(seen.map((m) => m.id)).size, total, 'no row twice');
    for (let i = 1; i < seen.length; i++) {
      const [prev, cur] = [seen[i - 1]!, seen[i]!];
      const newerOrTie = prev.created_at > cur.created_at || (prev.created_at === cur.created_at && prev.id > cur.id);
      assert.ok(newerOrTie, `row ${i} is older than row ${i - 1}`);
    }
  });

  test('defaults to 20 items and caps limit at 100', async () => {
    const res = await fetch(`${api.url}/api/messages`);
    const page = (await res.json()) as { items: unknown[]; nextCursor: string | null };
    assert.equal(page.items.length, 20);
    assert.equal(typeof page.nextCursor, 'string');
    const tooMany = await fetch(`${api.url}/api/messages?limit=101`);
    assert.equal(tooMany.status, 400);
    assert.match(((await tooMany.json()) as { message: string }).message, /querystring\.limit/);
  });

  test('accepts cursors at the edges of what PostgreSQL stores (the largest bigint, year 1, a leap day)', async () => {
    for (const [createdAt, id] of [
      ['2024-01-01T00:00:00.000000Z', '9223372036854775807'],
      ['0001-01-01T00:00:00.000000Z', '1'],
      ['2024-02-29T23:59:59.999999Z', '1'],
    ] as const) {
      const res = await fetch(`${api.url}/api/messages?cursor=${cursorOf(createdAt, id)}`);
      assert.equal(res.status, 200, `${createdAt}|${id}`);
    }
  });

  test('rejects bad limits and malformed cursors with 400 naming the parameter', async () => {
    const cases: Array<[string, RegExp]> = [
      ['limit=0', /querystring\.limit/],
      ['limit=abc', /querystring\.limit/],
      ['limit=2.5', /querystring\.limit/],
      ['cursor=not*base64', /querystring\.cursor/],
      ['cursor=bm9wZQ', /querystring\.cursor is malformed/],
      [`cursor=${Buffer.from('2024-01-01T00:00:00.000000Z|0').toString('base64url')}`, /querystring\.cursor/],
      // Shaped right but out of PostgreSQL's range: each of these was a 500 (found by fuzz.test.ts).
      ['limit=Infinity', /querystring\.limit must be a finite number/],
      ['limit=1e999', /querystring\.limit must be a finite number/],
      [`cursor=${cursorOf('2024-01-01T00:00:00.000000Z', '9223372036854775808')}`, /querystring\.cursor is malformed/],
      [`cursor=${cursorOf('2021-02-30T00:00:00.000000Z', '1')}`, /querystring\.cursor is malformed/],
      [`cursor=${cursorOf('0000-01-01T00:00:00.000000Z', '1')}`, /querystring\.cursor is malformed/],
      // Not a cursor the API ever hands out (PostgreSQL would read it as the next midnight).
      [`cursor=${cursorOf('2024-01-01T24:00:00.000000Z', '1')}`, /querystring\.cursor is malformed/],
    ];
    for (const [query, message] of cases) {
      const res = await fetch(`${api.url}/api/messages?${query}`);
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { error: string; message: string };
      assert.equal(body.error, 'Bad Request');
      assert.match(body.message, message, query);
    }
  });
});

function cursorOf(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString('base64url');
}

describe('errors', () => {
  test('an unknown path is a JSON 404', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['DELETE', '/api/messages'],
      ['GET', '/api/status/../../etc/passwd'],
    ] as const) {
      const res = await fetch(`${api.url}${path}`, { method });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { error: string }).error, 'Not Found');
    }
  });

  test('an unexpected database error is a generic 500, logged with the request id, with no stack trace', async () => {
    const client = await db.superuserClient();
    await client.query('ALTER TABLE messages RENAME TO messages_gone');
    try {
      const res = await fetch(`${api.url}/api/messages`, { headers: { 'x-request-id': 'trace-500' } });
      assert.equal(res.status, 500);
      const text = await res.text();
      assert.deepEqual(JSON.parse(text), {
        error: 'Internal Server Error',
        message: 'unexpected error; reference trace-500',
      });
      assert.doesNotMatch(text, /messages_gone|relation|at .*\.js/);
      const logged = api.logs.find((line) => line.request_id === 'trace-500' && line.msg === 'unexpected error');
      assert.ok(logged, 'the error is logged with the request id');
    } finally {
      await client.query('ALTER TABLE messages_gone RENAME TO messages');
      await client.end();
    }
  });

  test('request logs carry method, route, status and duration', async () => {
    await fetch(`${api.url}/api/status`, { headers: { 'x-request-id': 'log-check' } });
    const line = api.logs.find((l) => l.request_id === 'log-check' && l.msg === 'request');
    assert.ok(line);
    assert.equal(line.method, 'GET');
    assert.equal(line.route, '/api/status');
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, 'number');
  });
});

describe('admin port', () => {
  test('exports pool gauges and per-route metrics; readiness does not depend on the database', async () => {
    const metrics = await (await fetch(`${api.adminUrl}/metrics`)).text();
    for (const name of ['db_pool_total', 'db_pool_idle', 'db_pool_waiting']) {
      assert.match(metrics, new RegExp(`^${name}\\{[^}]*tier="api"[^}]*\\} \\d+$`, 'm'));
    }
    assert.match(metrics, /http_request_duration_seconds_bucket\{[^}]*route="\/api\/status"/);
    assert.equal((await fetch(`${api.adminUrl}/readyz`)).status, 200);
    assert.equal((await fetch(`${api.adminUrl}/livez`)).status, 200);
    assert.equal((await fetch(`${api.url}/metrics`)).status, 404, 'metrics are not on the public port');
  });
});
