// The local edge (Varnish) against the tiers' own route tables, with real requests: every route
// reaches the tier that serves it (that tier's log line names the route, the method and the query
// string), the headers and query parameters its schema reads arrive (a value the schema refuses
// comes back as that tier's 400 naming it), a body's Content-Type arrives, and only answers the app
// marks shareable come from the cache. The CloudFront distribution is held to the same tables in
// infra/aws/test/conformance-edge.test.ts, so the two edges cannot drift apart.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { samplePath, shareable, type TierRoute, tierRoutes } from '../support/routes.js';
import { containers, engine, ensureEnvironment, waitFor } from './support/ops.js';

let edge = 'http://127.0.0.1:8080';
let routes: TierRoute[] = [];

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  enum?: unknown[];
}

/** A value the property's schema refuses, or undefined when the schema refuses nothing simple. */
function refusedValue(schema: JsonSchema): string | undefined {
  if (schema.enum) return '__not-one-of-them__';
  if (schema.type === 'integer' || schema.type === 'number') {
    if (schema.minimum !== undefined) return String(schema.minimum - 1);
    if (schema.maximum !== undefined) return String(schema.maximum + 1);
  }
  if (schema.type === 'string') {
    if (schema.maxLength !== undefined) return 'a'.repeat(schema.maxLength + 1);
    if (schema.minLength) return '';
  }
  return undefined;
}

/** The smallest body the route's schema accepts: its required strings at their minimum length. */
function acceptedBody(schema: JsonSchema | undefined): Record<string, string> {
  const body: Record<string, string> = {};
  for (const name of schema?.required ?? []) {
    body[name] = 'e'.repeat(Math.max(1, schema?.properties?.[name]?.minLength ?? 1));
  }
  return body;
}

/** The encodings each tier's public routes parse: the API JSON, the web tier its HTML form. */
function encoded(route: TierRoute, body: Record<string, string>): { type: string; text: string } {
  return route.tier === 'api'
    ? { type: 'application/json', text: JSON.stringify(body) }
    : { type: 'application/x-www-form-urlencoded', text: new URLSearchParams(body).toString() };
}

interface Sent {
  readonly status: number;
  readonly body: string;
  readonly headers: Headers;
  readonly requestId: string;
}

async function send(
  route: TierRoute,
  opts: { query?: string; headers?: Record<string, string>; body?: Record<string, string> } = {},
): Promise<Sent> {
  const requestId = `edge-route-${randomUUID()}`;
  const headers: Record<string, string> = { 'x-request-id': requestId, ...opts.headers };
  let body: string | undefined;
  if (route.method !== 'GET' && route.method !== 'HEAD') {
    const payload = encoded(route, opts.body ?? acceptedBody(route.schema?.body as JsonSchema | undefined));
    headers['content-type'] = payload.type;
    body = payload.text;
  }
  const url = `${edge}${samplePath(route.url)}${opts.query ? `?${opts.query}` : ''}`;
  const res = await fetch(url, { method: route.method, headers, body, redirect: 'manual' });
  return { status: res.status, body: await res.text(), headers: res.headers, requestId };
}

interface StoredLine {
  readonly tier: string;
  readonly method?: string;
  readonly route?: string;
  readonly url?: string;
  readonly msg?: string;
}

/** The central log store's lines of some requests, by request id. */
async function storedLines(requestIds: readonly string[]): Promise<Map<string, StoredLine[]>> {
  const [logs] = await containers('logs');
  assert.ok(logs, 'the log store runs');
  const out = await engine(
    'exec',
    logs,
    'sh',
    '-c',
    `cat /var/log/central/*.jsonl | grep -F -e ${requestIds.map((id) => `'${id}'`).join(' -e ')} || true`,
  );
  const found = new Map<string, StoredLine[]>();
  for (const line of out.split('\n').filter(Boolean)) {
    const id = requestIds.find((r) => line.includes(r));
    if (!id) continue;
    // The store keeps a tier's own JSON line as the message text.
    const stored = JSON.parse(line) as StoredLine;
    const own = stored.msg?.startsWith('{') ? (JSON.parse(stored.msg) as Partial<StoredLine>) : {};
    found.set(id, [...(found.get(id) ?? []), { ...own, ...stored }]);
  }
  return found;
}

describe('the local edge passes what the tiers serve (local environment)', { timeout: 5 * 60_000 }, () => {
  before(async () => {
    edge = (await ensureEnvironment()).endpoints.edge ?? edge;
    routes = await tierRoutes();
    assert.ok(routes.some((r) => r.tier === 'api') && routes.some((r) => r.tier === 'web'), 'both route tables');
  });

  it('sends every route, with its method and query string, to the tier that serves it', async () => {
    const sent: Array<{ route: TierRoute; probe: string; requestId: string }> = [];
    for (const route of routes) {
      const probe = `edge_probe=${randomUUID().slice(0, 8)}`;
      const answer = await send(route, { query: probe });
      assert.notEqual(answer.status, 405, `${route.method} ${route.url}: the edge refused the method`);
      assert.ok(answer.status < 500, `${route.method} ${route.url}: ${answer.status} ${answer.body.slice(0, 200)}`);
      sent.push({ route, probe, requestId: answer.requestId });
    }
    const served = await waitFor(
      "every route's line in the central log store",
      async () => {
        const lines = await storedLines(sent.map((s) => s.requestId));
        const missing = sent.filter(
          (s) => !(lines.get(s.requestId) ?? []).some((l) => l.tier === s.route.tier && l.route === s.route.url),
        );
        return missing.length === 0 ? lines : undefined;
      },
      30_000,
    ).catch(async (err: Error) => {
      const lines = await storedLines(sent.map((s) => s.requestId));
      const wrong = sent
        .filter((s) => !(lines.get(s.requestId) ?? []).some((l) => l.tier === s.route.tier && l.route === s.route.url))
        .map(
          (s) =>
            `${s.route.method} ${s.route.url} (${s.route.tier}): ${JSON.stringify((lines.get(s.requestId) ?? []).map((l) => [l.tier, l.route]))}`,
        );
      throw new Error(`${err.message}; not served by their tier:\n${wrong.join('\n')}`);
    });
    for (const s of sent) {
      const line = (served.get(s.requestId) ?? []).find((l) => l.tier === s.route.tier && l.route === s.route.url);
      // A cache fetches a HEAD it may store as a GET (the whole object, to answer later GETs too).
      const arrived = s.route.method === 'HEAD' ? ['HEAD', 'GET'] : [s.route.method];
      assert.ok(arrived.includes(line?.method ?? ''), `${s.route.method} ${s.route.url}: ${line?.method} arrived`);
      assert.ok(line?.url?.includes(s.probe), `${s.route.method} ${s.route.url}: the query string arrived`);
    }
  });

  it('passes the headers and query parameters each route reads, and a body with its Content-Type', async () => {
    let checked = 0;
    for (const route of routes) {
      const schema = route.schema as { headers?: JsonSchema; querystring?: JsonSchema } | undefined;
      for (const [name, property] of Object.entries(schema?.headers?.properties ?? {})) {
        const value = refusedValue(property);
        if (value === undefined) continue;
        const answer = await send(route, { headers: { [name]: value } });
        assert.equal(answer.status, 400, `${route.method} ${route.url} header ${name}: ${answer.body.slice(0, 200)}`);
        assert.match(answer.body, new RegExp(`headers\\.${name}`), `the ${route.tier} tier named the header it read`);
        checked++;
      }
      for (const [name, property] of Object.entries(schema?.querystring?.properties ?? {})) {
        const value = refusedValue(property);
        if (value === undefined) continue;
        const answer = await send(route, { query: `${name}=${encodeURIComponent(value)}` });
        assert.equal(answer.status, 400, `${route.method} ${route.url} ?${name}: ${answer.body.slice(0, 200)}`);
        if (route.method !== 'HEAD') assert.match(answer.body, new RegExp(`querystring\\.${name}`));
        checked++;
      }
      if (route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH') {
        const answer = await send(route);
        assert.notEqual(answer.status, 415, `${route.method} ${route.url}: the Content-Type arrived`);
        checked++;
      }
    }
    assert.ok(checked >= 3, `a header, a query parameter and a body were checked (${checked} checks)`);
  });

  it('serves from its cache exactly the answers the app marks shareable', async () => {
    const readable = routes.filter((r) => r.method === 'GET');
    let cached = 0;
    for (const route of readable) {
      const first = await send(route);
      const second = await send(route);
      const cacheControl = first.headers.get('cache-control') ?? undefined;
      const hit = second.headers.get('x-cache') === 'HIT';
      assert.equal(
        hit,
        shareable(cacheControl) && first.status === 200,
        `GET ${route.url}: Cache-Control "${cacheControl ?? ''}", second answer X-Cache ${second.headers.get('x-cache')}`,
      );
      if (hit) cached++;
    }
    assert.ok(cached > 0 && cached < readable.length, `some routes cached (${cached} of ${readable.length}), not all`);
  });
});
