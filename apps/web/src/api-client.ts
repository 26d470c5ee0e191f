// The web tier's only way to the API: one keep-alive pool, a time budget per call, the request id
// forwarded, and every failure turned into a typed error the routes can answer with a friendly page.
import { isIP } from 'node:net';
import { cachedLookup } from '@tier/runtime';
import { type Dispatcher, interceptors, Pool } from 'undici';

export interface StatusInfo {
  readonly time: string;
  readonly requestUuid: string;
}

export interface Message {
  readonly id: string;
  readonly author: string;
  readonly text: string;
  readonly createdAt: string;
}

export interface NewMessage {
  readonly author: string;
  readonly text: string;
}

/** The API could not answer usefully: down, slow, 5xx or a malformed answer. */
export class ApiUnavailableError extends Error {
  constructor(
    message: string,
    /** Seconds the client should wait, taken from the API's Retry-After when it sent one. */
    readonly retryAfterSeconds: number,
    /**
     * 503 when the API is down, slow or says so itself (503, 429): retrying shortly may work.
     * 502 when it failed (500 and other 5xx) or answered something we cannot read: a fault, not a wait.
     */
    readonly statusCode: 502 | 503 = 503,
  ) {
    super(message);
    this.name = 'ApiUnavailableError';
  }
}

/** The API rejected the input (400/422): the message is meant for the user. */
export class ApiRejectedError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'ApiRejectedError';
  }
}

export interface ApiClientOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly connections: number;
}

const DEFAULT_RETRY_AFTER_SECONDS = 5;
const CONNECT_TIMEOUT_MS = 1000;

function retryAfterFrom(headers: Dispatcher.ResponseData['headers']): number {
  const raw = headers['retry-after'];
  const seconds = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= 300 ? seconds : DEFAULT_RETRY_AFTER_SECONDS;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toMessage(raw: unknown): Message {
  if (!isRecord(raw) || typeof raw.author !== 'string' || typeof raw.text !== 'string') {
    throw new ApiUnavailableError('API returned a malformed message', DEFAULT_RETRY_AFTER_SECONDS, 502);
  }
  return {
    id: String(raw.id),
    author: raw.author,
    text: raw.text,
    createdAt: typeof raw.created_at === 'string' ? raw.created_at : '',
  };
}

export class ApiClient {
  private readonly dispatcher: Dispatcher;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly hostname: string;
  private readonly lookup = cachedLookup();

  constructor(private readonly opts: ApiClientOptions) {
    const url = new URL(opts.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.hostname = url.hostname;
    this.pool = new Pool(url.origin, {
      connections: opts.connections,
      // Shorter than the API's (and any balancer's) idle timeout, so we close idle sockets first.
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 30_000,
      // A connection to a balancer next door takes well under a millisecond: waiting the whole
      // budget for one would leave no time to try again.
      // The name is resolved in the background once known: a DNS retry must not spend the budget.
      connect: { timeout: Math.min(CONNECT_TIMEOUT_MS, opts.timeoutMs), lookup: this.lookup },
    });
    // Retried once, on a fresh socket: a keep-alive socket closed by the other side just as we reuse
    // it, and a connection that was never made (refused, or no handshake while a balancer reloads).
    // Nothing reached the API in either case; safe for GET, and for POST because every POST
    // carries an Idempotency-Key.
    this.dispatcher = this.pool.compose(
      interceptors.retry({
        maxRetries: 1,
        minTimeout: 20,
        methods: ['GET', 'POST'],
        errorCodes: ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT'],
        statusCodes: [],
        throwOnError: false,
      }),
    );
  }

  /**
   * Resolves the API's host name before the first request needs it (a new replica's first pages
   * would otherwise wait on DNS). Bounded, and never fatal: the API may simply not be up yet.
   */
  async resolveHost(withinMs = 6000): Promise<void> {
    if (isIP(this.hostname.replace(/^\[|\]$/g, ''))) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, withinMs);
      this.lookup(this.hostname, { all: true }, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async status(requestId: string): Promise<StatusInfo> {
    const body = await this.call('GET', '/api/status', requestId);
    const first: unknown = Array.isArray(body) ? body[0] : undefined;
    // Same reading as the original web tier: body[0].time and body[0].request_uuid.
    if (!isRecord(first) || typeof first.time !== 'string' || typeof first.request_uuid !== 'string') {
      throw new ApiUnavailableError('API returned a malformed status', DEFAULT_RETRY_AFTER_SECONDS, 502);
    }
    return { time: first.time, requestUuid: first.request_uuid };
  }

  async latestMessages(requestId: string, limit: number): Promise<Message[]> {
    const body = await this.call('GET', `/api/messages?limit=${limit}`, requestId);
    if (!isRecord(body) || !Array.isArray(body.items)) {
      throw new ApiUnavailableError('API returned a malformed message list', DEFAULT_RETRY_AFTER_SECONDS, 502);
    }
    return body.items.map(toMessage);
  }

  async postMessage(requestId: string, message: NewMessage, idempotencyKey: string): Promise<Message> {
    const body = await this.call('POST', '/api/messages', requestId, message, idempotencyKey);
    return toMessage(body);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    requestId: string,
    json?: unknown,
    idempotencyKey?: string,
  ): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json', 'x-request-id': requestId };
    if (json !== undefined) headers['content-type'] = 'application/json';
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.dispatcher.request({
        method,
        path: this.basePath + path,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        // One budget for the whole call (connect, headers, body), so a slow API cannot hold the page.
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : 'unreachable';
      throw new ApiUnavailableError(`API ${reason}: ${(err as Error).message}`, DEFAULT_RETRY_AFTER_SECONDS);
    }
    let body: unknown;
    try {
      body = await response.body.json();
    } catch (err) {
      if (response.statusCode >= 500) body = undefined;
      else if (err instanceof Error && err.name === 'TimeoutError') {
        throw new ApiUnavailableError('API timed out sending its answer', DEFAULT_RETRY_AFTER_SECONDS);
      } else throw new ApiUnavailableError('API answered something other than JSON', DEFAULT_RETRY_AFTER_SECONDS, 502);
    }
    const { statusCode } = response;
    if (statusCode >= 200 && statusCode < 300) return body;
    if (statusCode === 503 || statusCode === 429) {
      throw new ApiUnavailableError(`API answered ${statusCode}`, retryAfterFrom(response.headers));
    }
    if (statusCode >= 500) {
      throw new ApiUnavailableError(`API answered ${statusCode}`, retryAfterFrom(response.headers), 502);
    }
    const apiMessage = isRecord(body) && typeof body.message === 'string' ? body.message : `API answered ${statusCode}`;
    if (statusCode === 400 || statusCode === 413 || statusCode === 422)
      throw new ApiRejectedError(apiMessage, statusCode);
    throw new ApiUnavailableError(`API answered ${statusCode}: ${apiMessage}`, DEFAULT_RETRY_AFTER_SECONDS, 502);
  }
}
