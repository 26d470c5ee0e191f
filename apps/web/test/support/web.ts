// Starts the web tier in-process on free loopback ports, configured the way production is: env only.
import type { Service } from '@tier/runtime';
import { buildWebService } from '../../src/app.js';
import { readWebSettings } from '../../src/config.js';

export interface RunningWeb {
  readonly url: string;
  readonly service: Service;
  close(): Promise<void>;
}

export async function startWeb(env: Record<string, string>): Promise<RunningWeb> {
  const settings = readWebSettings({
    PORT: '0',
    ADMIN_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    SHUTDOWN_DRAIN_MS: '0',
    ...env,
  });
  const service = await buildWebService(settings);
  const { port } = await service.listen();
  return { url: `http://127.0.0.1:${port}`, service, close: () => service.shutdown('test done') };
}

/** Posts a form the way a browser does (application/x-www-form-urlencoded), without following redirects. */
export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
}

/** The hidden per-form token of a rendered page. */
export function formToken(page: string): string {
  const match = /name="form_token" value="([^"]+)"/.exec(page);
  if (!match?.[1]) throw new Error('page has no form_token field');
  return match[1];
}
