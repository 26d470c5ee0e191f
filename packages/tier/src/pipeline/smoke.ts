// Smoke test through the edge: the page renders with the time, /api/status answers, the guestbook reads; where
// writes are allowed (not production), a guestbook write reads back too.
import { randomUUID } from 'node:crypto';

export interface SmokeCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SmokeResult {
  readonly ok: boolean;
  readonly url: string;
  readonly checks: SmokeCheck[];
}

export interface SmokeOptions {
  /** Base URL of the edge (local: the edge cache; AWS: the CloudFront domain). */
  readonly url: string;
  /** Written into the smoke message so a reader of the guestbook knows where it came from. */
  readonly version?: string;
  /** Attempts per check: absorbs one transient miss (e.g. a balancer still settling), never a broken version. */
  readonly attempts?: number;
  readonly timeoutMs?: number;
  /** Also write a guestbook message and read it back. Off for production: its guestbook is its users'. */
  readonly write?: boolean;
  readonly fetch?: typeof fetch;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function smokeTest(opts: SmokeOptions): Promise<SmokeResult> {
  const base = opts.url.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const request = (path: string, init: RequestInit = {}) =>
    doFetch(`${base}${path}`, {
      ...init,
      headers: { 'user-agent': 'tier-pipeline-smoke', ...(init.headers as Record<string, string>) },
      signal: AbortSignal.timeout(timeoutMs),
    });
  /** "503 after 2.6 s: <the answer's first words>": who answered and how fast says which hop failed. */
  const answered = async (res: Response, startedAt: number) => {
    const text = (await res.clone().text())
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    return `${res.status} after ${((performance.now() - startedAt) / 1000).toFixed(1)} s: ${text.slice(0, 100)}`;
  };

  const checks: SmokeCheck[] = [];
  const check = async (name: string, body: () => Promise<string>) => {
    let detail = '';
    for (let attempt = 1; attempt <= (opts.attempts ?? 2); attempt++) {
      try {
        checks.push({ name, ok: true, detail: await body() });
        return;
      } catch (err) {
        detail = err instanceof Error ? err.message : String(err);
        if (attempt < (opts.attempts ?? 2)) await new Promise((r) => setTimeout(r, 1000));
      }
    }
    checks.push({ name, ok: false, detail });
  };

  await check('page renders with the time', async () => {
    // A query string the edge has not seen: the check must reach a web replica, not a cached copy.
    const startedAt = performance.now();
    const res = await request(`/?smoke=${randomUUID()}`);
    if (res.status !== 200) throw new Error(`GET / answered ${await answered(res, startedAt)}`);
    const html = await res.text();
    expect(/<title>[^<]*3tier App[^<]*<\/title>/i.test(html), 'GET / has no "3tier App" title');
    const time = /Welcome, it(?:'|&#39;|&#x27;|’)s\s*(?:<[^>]*>)?\s*([^<\s]+)/.exec(html)?.[1];
    expect(time !== undefined, `GET / does not say "Welcome, it's <time>"`);
    expect(ISO_TIME.test(time ?? '') || !Number.isNaN(Date.parse(time ?? '')), `GET / shows "${time}", not a time`);
    return `200, time ${time}`;
  });

  await check('/api/status answers 200 with a time and a request uuid', async () => {
    const startedAt = performance.now();
    const res = await request('/api/status');
    if (res.status !== 200) throw new Error(`GET /api/status answered ${await answered(res, startedAt)}`);
    const body = (await res.json()) as Array<{ time?: string; request_uuid?: string }>;
    const first = Array.isArray(body) ? body[0] : undefined;
    expect(ISO_TIME.test(first?.time ?? ''), `GET /api/status: no ISO time in ${JSON.stringify(body).slice(0, 120)}`);
    expect(UUID.test(first?.request_uuid ?? ''), 'GET /api/status: no request_uuid');
    return `200, time ${first?.time}`;
  });

  if (opts.write === false) {
    await check('the guestbook reads (read-only: nothing written)', async () => {
      const startedAt = performance.now();
      const res = await request('/api/messages?limit=1');
      if (res.status !== 200) throw new Error(`GET /api/messages answered ${await answered(res, startedAt)}`);
      const { items } = (await res.json()) as { items?: unknown };
      expect(Array.isArray(items), 'GET /api/messages has no items list');
      return `200, ${items.length} message(s) on the first page`;
    });
    return { ok: checks.every((c) => c.ok), url: base, checks };
  }

  await check('a guestbook message is stored and read back', async () => {
    const key = `smoke-${randomUUID()}`;
    const text = `pipeline smoke test ${opts.version ?? ''} ${key}`.replace(/\s+/g, ' ').trim();
    // The same Idempotency-Key on a retry returns the first write instead of adding a second row.
    const startedAt = performance.now();
    const res = await request('/api/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ author: 'tier pipeline', text }),
    });
    if (res.status !== 201) throw new Error(`POST /api/messages answered ${await answered(res, startedAt)}`);
    const created = (await res.json()) as { id?: number };
    expect(typeof created.id === 'number', 'POST /api/messages returned no id');
    const list = await request('/api/messages?limit=100');
    expect(list.status === 200, `GET /api/messages answered ${list.status}`);
    const { items } = (await list.json()) as { items?: Array<{ id: number; text: string }> };
    expect(
      (items ?? []).some((m) => m.id === created.id && m.text === text),
      `message ${created.id} is not in GET /api/messages`,
    );
    return `201, id ${created.id} read back`;
  });

  return { ok: checks.every((c) => c.ok), url: base, checks };
}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
