// "Up" means served: healthy containers are not enough. `tier up` returns only when a user's first
// request works through the edge, every app replica is in its balancer's rotation, and Prometheus
// has scraped every target (so the metrics history has started for each replica).
import { type Progress, TIERS, TierError } from '../backend.js';
import { balancer, inRotation, slotFor } from './balancer.js';
import type { Container } from './containers.js';
import type { OpsEnv } from './ops-env.js';

export interface Served {
  /** Paths that answered 200 through the edge. */
  readonly edge: readonly string[];
  readonly inRotation: number;
  readonly replicas: number;
  readonly targetsUp: number;
  readonly targets: number;
}

/** What a user requests first: the page, and the API through the edge. */
export const FIRST_REQUESTS = ['/', '/api/status'] as const;

async function answers200(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

interface Target {
  readonly health: string;
  readonly lastScrape: string;
  readonly discoveredLabels?: Record<string, string>;
  readonly labels?: Record<string, string>;
  readonly scrapeUrl: string;
}

async function scrapeTargets(prometheusUrl: string): Promise<Target[]> {
  try {
    const res = await fetch(`${prometheusUrl}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(3000) });
    const body = (await res.json()) as { data?: { activeTargets?: Target[] } };
    return body.data?.activeTargets ?? [];
  } catch {
    return [];
  }
}

/** One look at the three conditions; `missing` names what is not there yet. */
export async function checkServed(
  env: OpsEnv,
  edgeUrl: string,
  containers: readonly Container[],
): Promise<Served & { missing: string[] }> {
  const missing: string[] = [];
  const edgeOk = await Promise.all(FIRST_REQUESTS.map((p) => answers200(`${edgeUrl}${p}`)));
  for (const [i, p] of FIRST_REQUESTS.entries()) if (!edgeOk[i]) missing.push(`GET ${p} through the edge`);

  const replicas = containers.filter((c) => c.running && !c.oneOff && (TIERS as readonly string[]).includes(c.service));
  let rotating = 0;
  for (const tier of TIERS) {
    const stats = await balancer(env, tier)
      .then((lb) => lb.stats())
      .catch(() => []);
    for (const c of replicas.filter((r) => r.service === tier)) {
      if (inRotation(slotFor(stats, c.addresses.app ?? ''))) rotating++;
      else missing.push(`${c.name} in the ${tier} balancer`);
    }
  }

  const targets = await scrapeTargets(env.prometheusUrl);
  const scraped = (t: Target) => t.health === 'up' && !t.lastScrape.startsWith('0001-');
  for (const c of replicas) {
    const ip = c.addresses.app ?? '';
    if (!targets.some((t) => scraped(t) && new URL(t.scrapeUrl).hostname === ip)) missing.push(`${c.name} scraped`);
  }
  for (const t of targets)
    if (!scraped(t)) missing.push(`${t.labels?.job ?? 'target'} ${new URL(t.scrapeUrl).host} scraped`);
  if (targets.length === 0) missing.push('Prometheus targets');

  return {
    edge: FIRST_REQUESTS.filter((_, i) => edgeOk[i]),
    inRotation: rotating,
    replicas: replicas.length,
    targetsUp: targets.filter(scraped).length,
    targets: targets.length,
    missing,
  };
}

/** Waits until served; a timeout names exactly what is still missing. */
export async function waitServed(
  env: OpsEnv,
  edgeUrl: string,
  containers: readonly Container[],
  progress: Progress,
  timeoutMs = 90_000,
): Promise<Served> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const state = await checkServed(env, edgeUrl, containers);
    if (state.missing.length === 0) return state;
    const line = `waiting for ${state.missing.join(', ')}`;
    if (line !== last) progress.info(line);
    last = line;
    if (Date.now() > deadline) {
      throw new TierError(
        `not served after ${timeoutMs / 1000}s: ${state.missing.join(', ')}`,
        'look at `tier status` and `tier logs edge --since 5m`',
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
