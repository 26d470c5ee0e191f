// Assembles the API: the runtime's service (servers, logs, metrics, shutdown), one pool, the routes.
import helmet from '@fastify/helmet';
import { createService, type Logger, type Service } from '@tier/runtime';
import { Ajv } from 'ajv';
import type pg from 'pg';
import type { ApiConfig } from './config.js';
import { createPool } from './db.js';
import { registerErrorHandling } from './errors.js';
import { messageRoutes } from './routes/messages.js';
import { statusRoutes } from './routes/status.js';

export interface Api extends Service {
  readonly pool: pg.Pool;
}

/** Bodies are small JSON documents; 16 KiB leaves room for a 1000-character message in any script. */
const BODY_LIMIT = 16 * 1024;

export async function buildApi(config: ApiConfig, opts: { logger?: Logger } = {}): Promise<Api> {
  const service = createService({
    tier: 'api',
    settings: config.service,
    bodyLimit: BODY_LIMIT,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const { app } = service;
  const pool = createPool(config.db, service.log, service.metrics.registry);
  // Runs after in-flight requests have finished, during the runtime's graceful shutdown.
  app.addHook('onClose', async () => {
    await pool.end();
  });

  // Bodies are validated strictly (no type coercion, extra fields rejected rather than silently
  // dropped, as Fastify's default would); query strings and headers are text, so they are coerced.
  const strict = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes: false, allErrors: false });
  const coercing = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));

  // A JSON API: anything but application/json is 415 (Fastify would otherwise accept text/plain).
  app.removeContentTypeParser(['text/plain']);

  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    // Answers are per-request (time, uuid, fresh pages): no cache may keep them.
    reply.header('cache-control', 'no-store');
    return payload;
  });

  registerErrorHandling(app);
  statusRoutes(app, pool);
  messageRoutes(app, pool);
  await app.ready();
  return Object.assign(service, { pool });
}
