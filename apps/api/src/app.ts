// Assembles the API: the runtime's service (servers, logs, metrics, shutdown), one pool, the routes.
import { createService, type Logger, type Service } from '@tier/runtime';
import { Ajv } from 'ajv';
import type pg from 'pg';
import type { ApiConfig } from './config.js';
import { createPool } from './db.js';
import { registerErrorHandling } from './errors.js';
import { type FaultSettings, injectFaults } from './fault.js';
import { messageRoutes } from './routes/messages.js';
import { statusRoutes } from './routes/status.js';

/** Security and caching headers on every answer, errors and 404s included. */
const API_RESPONSE_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  // Answers are per request (time, uuid, fresh pages): no cache may keep them.
  'cache-control': 'no-store',
} as const;

export interface Api extends Service {
  readonly pool: pg.Pool;
}

/** Bodies are small JSON documents; 16 KiB leaves room for a 1000-character message in any script. */
const BODY_LIMIT = 16 * 1024;

export async function buildApi(
  config: ApiConfig,
  opts: { logger?: Logger /** Test-only. @default off */; fault?: FaultSettings } = {},
): Promise<Api> {
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
  // Ajv coerces "Infinity" and "1e999" to integers and then skips minimum/maximum (ajv#2212,
  // fastify#6718): `finite: true` in a schema closes that gap until Ajv does.
  for (const ajv of [strict, coercing]) {
    ajv.addKeyword({
      keyword: 'finite',
      schemaType: 'boolean',
      errors: false,
      validate: (wanted: boolean, data: unknown) => !wanted || typeof data !== 'number' || Number.isFinite(data),
    });
  }
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));

  // A JSON API: anything but application/json is 415 (Fastify would otherwise accept text/plain).
  app.removeContentTypeParser(['text/plain']);

  // Set once per request from a constant: the few headers that matter for a JSON API (helmet would
  // recompute its CSP and a dozen browser-page headers on every request, on the hottest path).
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(API_RESPONSE_HEADERS);
    done();
  });

  if (opts.fault) injectFaults(app, opts.fault);
  registerErrorHandling(app);
  statusRoutes(app, pool);
  messageRoutes(app, pool);
  await app.ready();
  return Object.assign(service, { pool });
}
