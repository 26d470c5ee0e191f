// The web tier's settings, read once from the environment at start-up (nothing else reads process.env).
import { DEFAULT_ADMIN_PORTS, EnvReader, readServiceSettings, type ServiceSettings } from '@tier/runtime';

export interface WebSettings {
  readonly service: ServiceSettings;
  /** Base URL of the API, as in node-3tier-app2 (e.g. http://api-lb:8081); may carry a path prefix. */
  readonly apiHost: string;
  /** Whole-call budget for one API request: connect, headers and body. */
  readonly apiTimeoutMs: number;
  /** Keep-alive connections kept open to the API (per web process). */
  readonly apiConnections: number;
}

export function readWebSettings(source: Record<string, string | undefined> = process.env): WebSettings {
  const env = new EnvReader(source);
  const settings: WebSettings = {
    service: readServiceSettings(env, { adminPort: DEFAULT_ADMIN_PORTS.web }),
    apiHost: env.url('API_HOST'),
    // Two API calls run in parallel per page, so the page answers within this budget (well under 3 s).
    apiTimeoutMs: env.int('API_TIMEOUT_MS', 2000, 50, 60_000),
    apiConnections: env.int('API_CONNECTIONS', 64, 1, 1024),
  };
  env.check();
  return Object.freeze(settings);
}
