// Both tiers' public route tables, read from the apps themselves (built, never listening, no
// database call): the surface the edges must pass and the fuzzers walk.
import { EnvReader, type RouteEntry } from '@tier/runtime';
import { buildApi } from '../../apps/api/src/app.js';
import { readApiConfig } from '../../apps/api/src/config.js';
import { buildWebService } from '../../apps/web/src/app.js';
import { readWebSettings } from '../../apps/web/src/config.js';

export interface TierRoute extends RouteEntry {
  readonly tier: 'web' | 'api';
}

export async function tierRoutes(): Promise<TierRoute[]> {
  const api = await buildApi(
    readApiConfig(
      new EnvReader({ DB: 'routes', DBUSER: 'routes', DBPASS: 'routes', DBHOST: '127.0.0.1', LOG_LEVEL: 'silent' }),
    ),
  );
  const web = await buildWebService(readWebSettings({ API_HOST: 'http://127.0.0.1:9', LOG_LEVEL: 'silent' }));
  await Promise.all([api.app.ready(), web.app.ready()]);
  const routes = [
    ...api.routes.map((r) => ({ ...r, tier: 'api' as const })),
    ...web.routes.map((r) => ({ ...r, tier: 'web' as const })),
  ];
  await Promise.all([api.app.close(), web.app.close()]);
  return routes;
}

/** A concrete request path for a route (`:param` and `*` filled in). */
export function samplePath(url: string): string {
  return url.replace(/:[A-Za-z0-9_]+/g, 'x').replace(/\*/g, 'x');
}

/** Whether a shared cache may keep the answer, by the app's own Cache-Control (unmarked: no). */
export function shareable(cacheControl: string | undefined): boolean {
  const cc = (cacheControl ?? '').toLowerCase();
  if (!cc || /\b(no-store|no-cache|private)\b/.test(cc)) return false;
  return /\b(s-maxage|max-age)=[1-9]/.test(cc) || /\bimmutable\b/.test(cc);
}
