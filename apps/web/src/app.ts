// Wires the web tier: the shared service (servers, logs, metrics, shutdown), security headers,
// form parsing, static assets, the pages, and the API pool closed on shutdown.
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import { createService, type Logger, type Service } from '@tier/runtime';
import { ApiClient } from './api-client.js';
import { loadAssets, registerAssetRoutes } from './assets.js';
import type { WebSettings } from './config.js';
import { errorHandlers } from './routes/errors.js';
import { homeRoutes } from './routes/home.js';

/** Largest form accepted (413 beyond): a full-length message in any script fits several times. */
export const FORM_BODY_LIMIT = 32 * 1024;

const REQUIRED_ASSETS = ['/stylesheets/style.css', '/images/logo.svg'];

export interface WebAppOptions {
  /** Where the static files live; defaults to apps/web/public. */
  readonly publicDir?: string;
  readonly logger?: Logger;
}

export async function buildWebService(settings: WebSettings, opts: WebAppOptions = {}): Promise<Service> {
  const service = createService({
    tier: 'web',
    settings: settings.service,
    bodyLimit: FORM_BODY_LIMIT,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const { app } = service;
  const assets = await loadAssets(opts.publicDir);
  // The page needs these: a build that lost them fails here, not on the first visitor.
  for (const required of REQUIRED_ASSETS) assets.url(required);
  const api = new ApiClient({
    baseUrl: settings.apiHost,
    timeoutMs: settings.apiTimeoutMs,
    connections: settings.apiConnections,
  });
  app.addHook('onClose', async () => api.close());
  // Before listening, so a replica is not ready (in no balancer) until the API's address is known.
  await api.resolveHost();

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    // Ignored by browsers over plain HTTP (local environment); effective behind the TLS edge.
    strictTransportSecurity: { maxAge: 15_552_000, includeSubDomains: false },
  });
  await app.register(formbody, { bodyLimit: FORM_BODY_LIMIT });

  const ctx = { assets, version: settings.service.version };
  registerAssetRoutes(app, assets);
  homeRoutes(app, api, ctx);
  errorHandlers(app, ctx);
  return service;
}
