// A bounded load generator on loopback for the operations tests: a steady rate (default 120 req/s)
// of page views (GET /), status reads (GET /api/status) and guestbook writes (POST /api/messages
// with an Idempotency-Key) through the edge. Every response is counted by status; every
// acknowledged write (201) is recorded with its key, id and time, so tests can check none is lost.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

export interface AckedWrite {
  readonly key: string;
  readonly id: number;
  readonly author: string;
  readonly text: string;
  /** When the client received the 201 (the write committed before this). */
  readonly ackedAt: number;
  /** When the client sent the request (the write committed after this). */
  readonly sentAt: number;
}

export interface LoadResult {
  readonly total: number;
  /** Count per status code; 'error' for connection failures and timeouts. */
  readonly byStatus: Record<string, number>;
  /** Responses that are neither 2xx nor 3xx (and not in `allowed`), plus connection errors. */
  readonly failed: number;
  readonly acked: AckedWrite[];
  readonly durationMs: number;
  /** Requests not sent because `maxInFlight` were already waiting (the system could not keep up). */
  readonly skipped: number;
  /** Requests resent once after the keep-alive race (an idle connection closed as it was reused). */
  readonly staleRetries: number;
  /** A few failures, for the assertion message. */
  readonly samples: string[];
  /** The edge's X-Request-Id of the first failed answers: `tier logs --request-id` follows one through every tier. */
  readonly failedRequestIds: string[];
  /** First and last time (ms since epoch) each non-2xx status (or 'error') was seen: outage windows. */
  readonly windows: Record<string, { first: number; last: number }>;
  /** The slowest answer (ms from send to the end of the response, or to the error) per status. */
  readonly slowestMs: Record<string, number>;
}

export interface LoadOptions {
  readonly baseUrl?: string;
  readonly ratePerSecond?: number;
  /** Share of requests that are guestbook writes (default 0.2); the rest split between / and /api/status. */
  readonly writeShare?: number;
  readonly maxInFlight?: number;
  readonly timeoutMs?: number;
  /** Statuses that do not count as failures (e.g. 503 while the db restarts). */
  readonly allowed?: number[];
  /** Marks every write's author, so a test can tell its rows from others'. */
  readonly tag?: string;
}

export interface LoadRun {
  /** Stops sending, waits for in-flight requests, returns the counts. */
  stop(): Promise<LoadResult>;
  /** Counts so far (a snapshot). */
  snapshot(): LoadResult;
}

export function startLoad(opts: LoadOptions = {}): LoadRun {
  const base = new URL(opts.baseUrl ?? process.env.TIER_EDGE_URL ?? 'http://127.0.0.1:8080');
  const rate = opts.ratePerSecond ?? 120;
  const writeShare = opts.writeShare ?? 0.2;
  const maxInFlight = opts.maxInFlight ?? 200;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const allowed = new Set(opts.allowed ?? []);
  const tag = opts.tag ?? `load-${Date.now()}`;
  // One socket per request in flight: a client-side queue would count as server latency.
  // Idle sockets closed after 4 s, before Varnish's timeout_idle (5 s) closes them: otherwise a
  // burst that reaches for long-idle sockets meets several closing at once, and a resend can pick
  // another one (4 hang-ups in one millisecond, nothing logged by the edge). Each request sets its
  // own timeout while it runs.
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight, timeout: 4000 });
  const started = Date.now();
  const byStatus: Record<string, number> = {};
  const acked: AckedWrite[] = [];
  const samples: string[] = [];
  const failedRequestIds: string[] = [];
  const windows: Record<string, { first: number; last: number }> = {};
  const slowestMs: Record<string, number> = {};
  let total = 0;
  let failed = 0;
  let skipped = 0;
  let staleRetries = 0;
  const keys = new Map<number, string>();
  let inFlight = 0;
  let seq = 0;
  let stopped = false;
  let drained: (() => void) | undefined;

  const count = (key: string, bad: boolean, detail: string, sentAt: number, requestId?: string) => {
    total++;
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    slowestMs[key] = Math.max(slowestMs[key] ?? 0, Date.now() - sentAt);
    if (!/^2/.test(key)) {
      const now = Date.now();
      windows[key] ??= { first: now, last: now };
      windows[key].last = now;
    }
    if (bad) {
      failed++;
      if (samples.length < 10) samples.push(`${new Date().toISOString()} ${detail}`);
      if (requestId && failedRequestIds.length < 10) failedRequestIds.push(requestId);
    }
  };

  const send = (n = seq++, attempt = 0) => {
    if (inFlight >= maxInFlight) {
      skipped++;
      return;
    }
    const roll = (n * 0.618034) % 1; // a deterministic, even spread of the mix
    const write = roll < writeShare;
    const path = write ? '/api/messages' : roll < writeShare + (1 - writeShare) / 2 ? '/' : '/api/status';
    const key = write ? (keys.get(n) ?? `${tag}-${n}-${randomUUID().slice(0, 8)}`) : undefined;
    if (key) keys.set(n, key);
    const body = write ? JSON.stringify({ author: tag.slice(0, 64), text: `message ${n}` }) : undefined;
    const sentAt = Date.now();
    inFlight++;
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        path,
        method: write ? 'POST' : 'GET',
        agent,
        timeout: timeoutMs,
        headers: write
          ? { 'content-type': 'application/json', 'idempotency-key': key, 'content-length': Buffer.byteLength(body!) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const ok = (status >= 200 && status < 400) || allowed.has(status);
          const requestId = String(res.headers['x-request-id'] ?? '');
          count(
            String(status),
            !ok,
            `${write ? 'POST' : 'GET'} ${path} -> ${status} after ${Date.now() - sentAt} ms (request id ${requestId || 'none'}) ${Buffer.concat(chunks).toString().replace(/\s+/g, ' ').slice(0, 100)}`,
            sentAt,
            requestId || undefined,
          );
          if (write && status === 201) {
            const row = JSON.parse(Buffer.concat(chunks).toString()) as { id: number; author: string; text: string };
            acked.push({ key: key!, id: row.id, author: row.author, text: row.text, ackedAt: Date.now(), sentAt });
          }
          if (key) keys.delete(n);
          done();
        });
        res.on('error', (err) => {
          count('error', true, `${path} response error ${err.message}`, sentAt);
          done();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The keep-alive race every HTTP client handles: the server closed an idle connection just as
      // this request was written on it (nothing was processed). Browsers resend; so does this once
      // (writes carry an Idempotency-Key, so a resend cannot duplicate).
      if (req.reusedSocket && err.code === 'ECONNRESET' && attempt === 0) {
        staleRetries++;
        inFlight--;
        send(n, 1);
        return;
      }
      count('error', true, `${write ? 'POST' : 'GET'} ${path} ${err.message}`, sentAt);
      done();
    });
    req.end(body);
  };

  const done = () => {
    inFlight--;
    if (stopped && inFlight === 0) drained?.();
  };

  // A fixed schedule (not "as fast as possible"): the number of requests due by now, sent in 10 ms ticks.
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (sent < due) {
      sent++;
      send();
    }
  }, 10);

  const snapshot = (): LoadResult => ({
    total,
    byStatus: { ...byStatus },
    failed,
    acked: [...acked],
    durationMs: Date.now() - started,
    skipped,
    staleRetries,
    samples: [...samples],
    failedRequestIds: [...failedRequestIds],
    windows: structuredClone(windows),
    slowestMs: { ...slowestMs },
  });

  return {
    snapshot,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      agent.destroy();
      return snapshot();
    },
  };
}

/** Runs `work` under load; resolves with the work's result and the load counts. */
export async function underLoad<T>(
  opts: LoadOptions,
  work: (load: LoadRun) => Promise<T>,
): Promise<{ result: T; load: LoadResult }> {
  const load = startLoad(opts);
  try {
    // A short warm-up: the numbers then include steady state before and after the operation.
    await new Promise((r) => setTimeout(r, 2000));
    const result = await work(load);
    await new Promise((r) => setTimeout(r, 2000));
    return { result, load: await load.stop() };
  } catch (err) {
    await load.stop();
    throw err;
  }
}

export const describeLoad = (r: LoadResult) =>
  `${r.total} requests in ${(r.durationMs / 1000).toFixed(1)}s (${Math.round((r.total * 1000) / r.durationMs)}/s), ` +
  `${r.failed} failed, statuses ${JSON.stringify(r.byStatus)}, slowest ms ${JSON.stringify(r.slowestMs)}, ${r.acked.length} writes acknowledged, ${r.skipped} skipped, ${r.staleRetries} resent after a stale keep-alive` +
  (r.samples.length ? `\n  first failures:\n  ${r.samples.join('\n  ')}` : '');
