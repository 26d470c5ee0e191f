// The host ports `tier up` publishes, checked before compose starts anything: a port another
// program holds would otherwise surface as one container's start error, deep in compose's output.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { TierError } from '../backend.js';
import type { Container } from './containers.js';
import { DEFAULT_PORTS, type Settings } from './settings.js';

const exec = promisify(execFile);

/** Which service publishes each port setting on 127.0.0.1 (infra/local/compose.yaml). */
export const PUBLISHED: Record<keyof typeof DEFAULT_PORTS, { service: string; what: string }> = {
  EDGE_PORT: { service: 'edge', what: 'the edge' },
  API_PORT: { service: 'api-lb', what: "the API's balancer" },
  PROM_PORT: { service: 'prometheus', what: 'Prometheus' },
};

function listenable(port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** "python3 (pid 4242)" from `ss`, when it is installed and allowed to tell. */
async function holder(port: number): Promise<string> {
  const out = await exec('ss', ['-Hltnp', `sport = :${port}`]).then(
    (r) => r.stdout,
    () => '',
  );
  const m = out.match(/users:\(\("([^"]+)",pid=(\d+)/);
  return m ? ` by ${m[1]} (pid ${m[2]})` : '';
}

/** Fails naming the port, its holder and the setting to change, unless our own container holds it. */
export async function assertPortsFree(settings: Settings, containers: readonly Container[]): Promise<void> {
  const taken: string[] = [];
  const keys: string[] = [];
  for (const [key, { service, what }] of Object.entries(PUBLISHED)) {
    if (containers.some((c) => c.service === service && c.running)) continue;
    const port = Number(settings[key] ?? DEFAULT_PORTS[key as keyof typeof DEFAULT_PORTS]);
    const err = await listenable(port);
    if (!err) continue;
    const why = err.code === 'EADDRINUSE' ? `is in use${await holder(port)}` : `cannot be opened (${err.code})`;
    taken.push(`127.0.0.1:${port}, for ${what}, ${why}`);
    keys.push(`${key}=<free port>`);
  }
  if (taken.length) {
    throw new TierError(
      taken.join('; '),
      `stop what holds it, or publish elsewhere: ${keys.join(' ')} npx tier up (remembered for later runs)`,
    );
  }
}
