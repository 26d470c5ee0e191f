// Property-based fuzzing of a tier's public HTTP surface: requests are generated from the routes
// Fastify registered (and their schemas), sent raw, and every answer is held to the same rules.
// Shared by apps/api/test, apps/web/test (the tiers on their own) and test/e2e (through the edge).
import { Agent, request } from 'node:http';
import fc from 'fast-check';

/** A route as the tier's route table (Fastify's onRoute) reports it. */
export interface PublicRoute {
  readonly method: string;
  readonly url: string;
  readonly schema?: unknown;
}

/** A guestbook entry: what an accepted request must have stored. */
export interface MessageContent {
  readonly author: string;
  readonly text: string;
}

export interface FuzzRequest {
  readonly method: string;
  /** Already percent-encoded: sent byte for byte. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  /** What a tier that accepts this request (201 or 303) must then serve back; undefined: it must not accept. */
  readonly message: MessageContent | undefined;
}

export interface FuzzAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  readonly ms: number;
}

// --- the generator -----------------------------------------------------------------------------

/** Characters that break naive code: NUL, lone surrogates, controls, bidi, markup, escapes. */
const TRICKY_CHARS = [
  '\u0000',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '\u0001',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u202e',
  '\ufeff',
  '\ufffd',
  '\r\n',
  '\t',
  ' ',
  '😀',
  '👩‍👩‍👧',
  'e\u0301',
  '<',
  '&',
  '"',
  "'",
  '%',
  '+',
  '\\',
  '</textarea>',
  '${',
];

const trickyChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY_CHARS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/** Text a user (or an attacker) might type: mostly short, sometimes empty or past the limits. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }) },
  { weight: 5, arbitrary: fc.string({ unit: trickyChar, minLength: 1, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: trickyChar, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: trickyChar, minLength: 60, maxLength: 1100 }) },
);

/** Percent-encodes any JS string, lone surrogates included (as their WTF-8 bytes, which are not UTF-8). */
export function percentEncode(value: string): string {
  let out = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(ch);
  }
  return out;
}

/** Encoded text that is not valid percent-encoding or UTF-8; no letters, so it never spells a field name. */
const percentJunk = fc.string({
  unit: fc.constantFrom(
    '%',
    '%%',
    '%0',
    '%FF',
    '%C0%AF',
    '%ED%A0%80',
    '%E2%82',
    '%00',
    '%09',
    '&',
    '=',
    '+',
    '0',
    '9',
    '_',
  ),
  maxLength: 12,
});

/** A keyset cursor in the API's shape (base64url of "<timestamp>|<id>") with values at and past the edges. */
const cursorLike = fc.oneof(
  fc
    .tuple(
      fc.oneof(
        fc
          .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
          .map((d) => `${d.toISOString().slice(0, 23)}000Z`),
        fc
          .tuple(
            fc.integer({ min: 0, max: 9999 }),
            fc.integer({ min: 0, max: 19 }),
            fc.integer({ min: 0, max: 39 }),
            fc.integer({ min: 0, max: 29 }),
            fc.integer({ min: 0, max: 69 }),
          )
          .map(([y, mo, d, h, mi]) => {
            const two = (n: number) => String(n).padStart(2, '0');
            return `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(mi)}.123456Z`;
          }),
      ),
      fc.oneof(
        fc.bigInt({ min: 1n, max: 9999999999999999999n }).map(String),
        fc.constantFrom('1', '9223372036854775807', '9223372036854775808', '9999999999999999999', '0', '-1', '01'),
      ),
    )
    .map(([createdAt, id]) => Buffer.from(`${createdAt}|${id}`, 'utf8').toString('base64url')),
  fc.base64String({ maxLength: 80 }).map((s) => s.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_')),
  hostileText.map(percentEncode),
);

const integerLike = fc.oneof(
  fc.integer({ min: -5, max: 205 }).map(String),
  fc.constantFrom('', '0', '1e2', '0x10', '1.5', '-0', '%207', '99999999999999999999', 'NaN', 'Infinity', '[]'),
);

type JsonSchemaObject = { properties?: Record<string, { type?: unknown }> };

function fieldsOf(schema: unknown, part: 'body' | 'querystring' | 'headers'): Array<[string, { type?: unknown }]> {
  const section = (schema as Record<string, JsonSchemaObject | undefined> | undefined)?.[part];
  return Object.entries(section?.properties ?? {});
}

/** An encoded query value for a field, by what the schema says it is. */
function queryValue(name: string, type: unknown): fc.Arbitrary<string> {
  if (name === 'cursor') return cursorLike;
  if (type === 'integer' || type === 'number') return integerLike;
  return fc.oneof(hostileText.map(percentEncode), percentJunk);
}

function queryFor(route: PublicRoute): fc.Arbitrary<string> {
  const known = fieldsOf(route.schema, 'querystring').map(([name, prop]) =>
    fc.tuple(fc.constant(name), queryValue(name, prop.type)),
  );
  const unknown = fc.tuple(fc.stringMatching(/^[a-z_]{1,8}$/), fc.oneof(hostileText.map(percentEncode), percentJunk));
  const pair = known.length > 0 ? fc.oneof({ weight: 4, arbitrary: fc.oneof(...known) }, unknown) : unknown;
  return fc.array(pair, { maxLength: 3 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
}

/** Paths: the route's own (wildcards filled in), a mutation of it, or something else entirely. */
function pathFor(route: PublicRoute): fc.Arbitrary<string> {
  const segment = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~-]{0,12}$/), percentJunk, hostileText.map(percentEncode));
  const own = fc.array(segment, { minLength: 1, maxLength: 2 }).map((fill) => {
    let i = 0;
    return route.url.replace(/\*|:[A-Za-z0-9_]+/g, () => fill[i++ % fill.length] ?? '');
  });
  return fc.oneof(
    { weight: 8, arbitrary: own },
    {
      weight: 1,
      arbitrary: fc
        .tuple(own, fc.constantFrom('/', '//', '/..', '/%2e%2e/', '%00', '.', '~', '/x', ';a', '%2F'))
        .map(([p, s]) => p + s),
    },
    { weight: 1, arbitrary: fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join('/')}`) },
  );
}

/** Header values node:http will send (printable ASCII and Latin-1): valid, tricky, and too long. */
const headerValue = fc.oneof(
  fc.uuid(),
  fc.stringMatching(/^[!-~]{1,40}$/),
  fc.string({ unit: fc.constantFrom(' ', '\t', 'a', '\u00e9', '\u00ff', '"', ',', ';', '\\', 'é'), maxLength: 20 }),
  fc.stringMatching(/^[!-~]{129,300}$/),
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/xml',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  '',
];

/** A field value no validator, strict or coercing, can turn into a string. */
const unstringable = fc.oneof(
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { minKeys: 1, maxKeys: 2 }),
  fc.array(fc.string({ maxLength: 4 }), { minLength: 2, maxLength: 3 }),
);

/** An object whose fields are each present nine times in ten: a valid request stays likely. */
function mostlyPresent<T>(entries: Array<[string, fc.Arbitrary<T>]>): fc.Arbitrary<Record<string, T>> {
  const absent = Symbol('absent');
  const slots = entries.map(([name, value]) =>
    fc.tuple(fc.constant(name), fc.oneof({ weight: 9, arbitrary: value }, fc.constant<typeof absent>(absent))),
  );
  return fc
    .tuple(...slots)
    .map((pairs) => Object.fromEntries(pairs.filter((p): p is [string, T] => p[1] !== absent)) as Record<string, T>);
}

interface Body {
  readonly contentType: string | undefined;
  readonly body: string;
  readonly message: MessageContent | undefined;
}

function messageIn(fields: Record<string, unknown>): MessageContent | undefined {
  const { author, text } = fields;
  return typeof author === 'string' && typeof text === 'string'
    ? { author: author.trim(), text: text.trim() }
    : undefined;
}

function bodyFor(route: PublicRoute): fc.Arbitrary<Body> {
  const names = fieldsOf(route.schema, 'body').map(([name]) => name);
  const fields = mostlyPresent(
    names.map((name) => [name, fc.oneof({ weight: 9, arbitrary: hostileText }, unstringable)]),
  );
  // Now and then a field the schema does not name.
  const extra = fc.oneof(
    { weight: 7, arbitrary: fc.constant(undefined) },
    fc.tuple(fc.stringMatching(/^[a-z_]{1,8}$/), hostileText),
  );
  const contentType = (preferred: string) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(preferred) },
      fc.constantFrom<string | undefined>(...CONTENT_TYPES, undefined),
    );

  const json = fc.tuple(fields, extra, contentType('application/json')).map(([values, more, type]) => {
    const object: Record<string, unknown> = { ...values, ...(more ? { [more[0]]: more[1] } : {}) };
    return { contentType: type, body: JSON.stringify(object), message: messageIn(object) };
  });
  // A browser's form: strings only, and a browser turns lone surrogates into U+FFFD before sending.
  const form = fc.tuple(mostlyPresent(names.map((name) => [name, hostileText])), extra).chain(([values, more]) => {
    const wellFormed = Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, v.replace(/[\ud800-\udfff]/gu, '\ufffd')]),
    );
    const pairs = [...Object.entries(wellFormed), ...(more ? [more] : [])];
    const body = pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
    return contentType('application/x-www-form-urlencoded').map((type) => ({
      contentType: type,
      body,
      message: messageIn(wellFormed),
    }));
  });
  const junk = fc
    .tuple(
      fc.oneof(
        percentJunk,
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
        fields.map((v) => JSON.stringify(v).slice(0, -1)),
        fc.constantFrom('', '{', '[]', 'null', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}'),
        fc.integer({ min: 17_000, max: 40_000 }).map((n) => '9'.repeat(n)),
      ),
      fc.constantFrom<string | undefined>(...CONTENT_TYPES, undefined),
    )
    .map(([body, type]) => ({ contentType: type, body, message: undefined }));
  return fc.oneof({ weight: 4, arbitrary: json }, { weight: 4, arbitrary: form }, { weight: 2, arbitrary: junk });
}

const OTHER_METHODS = ['PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function requestFor(route: PublicRoute): fc.Arbitrary<FuzzRequest> {
  const headerFields = fieldsOf(route.schema, 'headers').map(([name]) => name);
  const headers = fc.record(
    Object.fromEntries([...headerFields, 'x-request-id', 'accept', 'x-forwarded-for'].map((h) => [h, headerValue])),
    { requiredKeys: [] },
  );
  const method = fc.oneof({ weight: 9, arbitrary: fc.constant(route.method) }, fc.constantFrom(...OTHER_METHODS));
  const sendsBody = route.method === 'POST';
  const body = sendsBody
    ? bodyFor(route)
    : fc.oneof(
        { weight: 9, arbitrary: fc.constant(undefined) },
        bodyFor(route).map((b) => ({ ...b, message: undefined })),
      );
  return fc.tuple(method, pathFor(route), queryFor(route), headers, body).map(([m, path, query, hs, b]) => ({
    method: m,
    path: query ? `${path}?${query}` : path,
    headers: { ...hs, ...(b?.contentType ? { 'content-type': b.contentType } : {}) },
    body: b?.body,
    // Only the route's own method can accept; another method must not.
    message: m === route.method ? b?.message : undefined,
  }));
}

/** Requests for every route of a route table (HEAD routes included); POST, where data is written, thrice as often. */
export function requestsFor(routes: readonly PublicRoute[]): fc.Arbitrary<FuzzRequest> {
  if (routes.length === 0) throw new Error('requestsFor: the route table is empty (was the app built?)');
  return fc.oneof(
    ...routes.map((route) => ({ weight: route.method === 'POST' ? 3 : 1, arbitrary: requestFor(route) })),
  );
}

// --- sending and checking ----------------------------------------------------------------------

/** Sends a request as generated (no normalisation); an answer slower than `timeoutMs` fails. */
export function send(baseUrl: string, req: FuzzRequest, timeoutMs: number, agent?: Agent): Promise<FuzzAnswer> {
  const base = new URL(baseUrl);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: base.hostname,
        port: base.port,
        method: req.method,
        path: req.path,
        headers: {
          ...req.headers,
          ...(req.body === undefined ? {} : { 'content-length': Buffer.byteLength(req.body) }),
        },
        agent,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/** A V8 stack frame: "at fn (/path/file.js:1:2)", "at node:internal/...:1:2", "at file:///x.js:3:4". */
const STACK_FRAME = /\bat (?:async )?(?:[\w$.<>[\]]+ \()?(?:file:\/\/|node:|\/)[^\s)"'<]*:\d+:\d+/;

/** The rules every answer keeps, whatever was asked: a reason when one is broken, else undefined. */
export function brokenRule(req: FuzzRequest, res: FuzzAnswer, budgetMs: number): string | undefined {
  if (res.status >= 500) return `answered ${res.status}: ${res.body.slice(0, 300)}`;
  if (res.ms > budgetMs) return `took ${Math.round(res.ms)} ms (budget ${budgetMs} ms)`;
  if (STACK_FRAME.test(res.body)) return `the body carries a stack trace: ${res.body.slice(0, 300)}`;
  if (isAccepted(req, res) && !req.message) return `accepted (${res.status}) a request that cannot be valid`;
  return undefined;
}

/** A POST the tier acknowledged: the API's 201, or the page's post/redirect/get 303. */
export function isAccepted(req: FuzzRequest, res: FuzzAnswer): boolean {
  return req.method === 'POST' && (res.status === 201 || res.status === 303);
}

export interface StoredMessage extends MessageContent {
  readonly id: number;
  readonly created_at: string;
}

/** Every message created since `since`, read page by page from the API (newest first). */
export async function messagesSince(apiBaseUrl: string, since: Date): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  let cursor: string | null = null;
  for (;;) {
    const url = `${apiBaseUrl}/api/messages?limit=100${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`reading messages back: ${url} answered ${res.status}`);
    const page = (await res.json()) as { items: StoredMessage[]; nextCursor: string | null };
    out.push(...page.items);
    cursor = page.nextCursor;
    const last = page.items.at(-1);
    if (!cursor || !last || Date.parse(last.created_at) < since.getTime()) return out;
  }
}

export interface FuzzReport {
  readonly requests: number;
  readonly accepted: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly slowestMs: number;
  /** Accepted messages not found afterwards (must be empty). */
  readonly lost: readonly MessageContent[];
}

export interface FuzzOptions {
  /** Where to send the requests (a tier, or the edge). */
  readonly baseUrl: string;
  readonly routes: readonly PublicRoute[];
  /** The slowest answer the tier's own timeouts allow. */
  readonly budgetMs: number;
  readonly numRuns: number;
  /** Where accepted messages are read back from: the API (directly or through the edge). */
  readonly apiBaseUrl: string;
  /** Replays a failure: fast-check prints the seed and path of any counterexample. */
  readonly seed?: number;
}

/**
 * Sends `numRuns` generated requests, failing on the first broken rule (shrunk to a small
 * counterexample), then reads every message back: an acknowledged one that is missing is lost.
 */
export async function fuzzSurface(opts: FuzzOptions): Promise<FuzzReport> {
  const started = new Date(Date.now() - 60_000);
  const acknowledged: MessageContent[] = [];
  const byStatus: Record<string, number> = {};
  let requests = 0;
  let slowestMs = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await fc.assert(
      fc.asyncProperty(requestsFor(opts.routes), async (req) => {
        // A hang shows as a timeout error just past the budget, not as a stuck test.
        const res = await send(opts.baseUrl, req, opts.budgetMs + 1000, agent);
        requests += 1;
        byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
        slowestMs = Math.max(slowestMs, res.ms);
        const broken = brokenRule(req, res, opts.budgetMs);
        if (broken) throw new Error(broken);
        if (!isAccepted(req, res) || !req.message) return;
        acknowledged.push(req.message);
        if (res.status === 201) {
          const echoed = JSON.parse(res.body) as MessageContent;
          if (echoed.author !== req.message.author || echoed.text !== req.message.text) {
            throw new Error(
              `acknowledged ${JSON.stringify(echoed)} for ${JSON.stringify(req.message)}: stored altered`,
            );
          }
        }
      }),
      { numRuns: opts.numRuns, includeErrorInReport: true, ...(opts.seed === undefined ? {} : { seed: opts.seed }) },
    );
  } finally {
    agent.destroy();
  }
  const stored = new Set(
    (await messagesSince(opts.apiBaseUrl, started)).map((m) => JSON.stringify([m.author, m.text])),
  );
  const lost = acknowledged.filter((m) => !stored.has(JSON.stringify([m.author, m.text])));
  return { requests, accepted: acknowledged.length, byStatus, slowestMs: Math.round(slowestMs), lost };
}

/** FUZZ_RUNS and FUZZ_SEED override the defaults, to search longer or replay a failure. */
export function fuzzSettings(defaultRuns: number): { numRuns: number; seed?: number } {
  const runs = Number(process.env.FUZZ_RUNS ?? defaultRuns);
  const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS must be a positive integer (got ${runs})`);
  return { numRuns: runs, ...(seed === undefined ? {} : { seed }) };
}
