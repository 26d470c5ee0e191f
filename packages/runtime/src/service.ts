// One place for a tier's lifecycle: public server, admin server (health and metrics, never
// routed from the internet), request ids, request logs, metrics, and graceful shutdown.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifySchema, type FastifyServerOptions, LogController } from 'fastify';
import type { ServiceSettings } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type HttpMetrics } from './metrics.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface ServiceOptions {
  readonly tier: string;
  readonly settings: ServiceSettings;
  /** Largest request body accepted; bigger ones get 413. */
  readonly bodyLimit?: number;
  readonly logger?: Logger;
}

/** One method of one public route, as Fastify registered it (HEAD included), with its schema. */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly schema: FastifySchema | undefined;
}

export interface Service {
  readonly app: FastifyInstance;
  /** The public server's route table, from Fastify's onRoute hook: the surface tests walk (fuzzing). */
  readonly routes: readonly RouteEntry[];
  readonly admin: FastifyInstance;
  readonly log: Logger;
  readonly metrics: HttpMetrics;
  /** Reports whether the process should receive traffic; false while draining. */
  isReady(): boolean;
  /** Start both listeners; resolves with the bound addresses. */
  listen(): Promise<{ port: number; adminPort: number }>;
  /** Drain, close listeners, run onClose hooks (pools), in that order. */
  shutdown(reason: string): Promise<void>;
  /** SIGTERM/SIGINT run shutdown and exit 0; a hard timer exits 1 if it hangs. */
  handleSignals(): void;
}

export function createService(opts: ServiceOptions): Service {
  const { settings, tier } = opts;
  const log = opts.logger ?? createLogger({ tier, version: settings.version, level: settings.logLevel });
  const metrics = createMetrics(tier, settings.version);
  let draining = false;
  let shuttingDown: Promise<void> | undefined;

  const common: FastifyServerOptions = {
    loggerInstance: log,
    // One log line per request comes from the onResponse hook below, with the fields we query on.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    // Bounded request time: slowloris-style clients cannot hold a socket forever.
    requestTimeout: 30_000,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  };

  const app = Fastify({
    ...common,
    bodyLimit: opts.bodyLimit ?? 16 * 1024,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  }) as unknown as FastifyInstance;

  // First hook of all, so every route (plugins' included) is recorded as Fastify sees it.
  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, schema: route.schema });
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    // While draining, tell keep-alive clients (balancers included) to open a new connection elsewhere.
    if (draining) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const labels = { method: req.method, route, status_code: String(reply.statusCode) };
    const seconds = reply.elapsedTime / 1000;
    metrics.duration.observe(labels, seconds);
    metrics.requests.inc(labels);
    req.log.info(
      {
        method: req.method,
        route,
        url: req.url,
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });

  const admin = Fastify({ ...common, logger: false, loggerInstance: undefined }) as unknown as FastifyInstance;
  admin.get('/livez', async () => ({ status: 'alive', tier, version: settings.version }));
  admin.get('/readyz', async (_req, reply) => {
    if (draining) return reply.code(503).send({ status: 'draining', tier, version: settings.version });
    return { status: 'ready', tier, version: settings.version };
  });
  admin.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  async function shutdown(reason: string): Promise<void> {
    shuttingDown ??= (async () => {
      draining = true;
      log.info({ reason, drain_ms: settings.drainMs }, 'shutdown: draining');
      await new Promise((resolve) => setTimeout(resolve, settings.drainMs));
      log.info('shutdown: closing listener, finishing in-flight requests');
      await app.close();
      await admin.close();
      log.info('shutdown: complete');
    })();
    return shuttingDown;
  }

  return {
    app,
    routes,
    admin,
    log,
    metrics,
    isReady: () => !draining,
    async listen() {
      await app.listen({ port: settings.port, host: settings.host });
      await admin.listen({ port: settings.adminPort, host: settings.host });
      const port = (app.server.address() as { port: number }).port;
      const adminPort = (admin.server.address() as { port: number }).port;
      log.info({ port, admin_port: adminPort }, 'listening');
      return { port, adminPort };
    },
    shutdown,
    handleSignals() {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          const hardStop = setTimeout(() => {
            log.error({ timeout_ms: settings.shutdownTimeoutMs }, 'shutdown: timed out, exiting');
            process.exit(1);
          }, settings.shutdownTimeoutMs);
          hardStop.unref();
          shutdown(signal).then(
            () => process.exit(0),
            (err: unknown) => {
              log.error({ err }, 'shutdown: failed');
              process.exit(1);
            },
          );
        });
      }
    },
  };
}
