// Hitless configuration reloads of the infrastructure tiers: balancers (HAProxy master-worker with
// the servers' state saved first), edge (Varnish vcl.load + vcl.use) and metrics (Prometheus /-/reload).
import { type Progress, TIERS, TierError } from '../backend.js';
import { reloadBalancer } from './balancer.js';
import type { Container } from './containers.js';
import { serviceContainer } from './containers.js';
import { engineRun, type OpsEnv, sleep } from './ops-env.js';

export const RELOADABLE = ['lb', 'web-lb', 'api-lb', 'edge', 'metrics'] as const;
export type Reloadable = (typeof RELOADABLE)[number];

/**
 * After `tier up`: the edge resolves the balancers' names when its VCL loads, so a recreated
 * balancer (new address) is unreachable from the edge until the VCL is loaded again. Reloads once
 * the engine's DNS, asked from inside the edge, names exactly the balancers' current addresses (it
 * can still hold a removed container's for a moment), then checks what the edge resolved.
 */
export async function reloadEdgeAfterUp(env: OpsEnv, containers: readonly Container[]): Promise<void> {
  const edge = containers.find((c) => c.service === 'edge');
  if (!edge) return;
  const wanted = TIERS.map((tier) => {
    const lb = containers.find((c) => c.service === `${tier}-lb`);
    return { host: `${tier}-lb`, ip: lb?.addresses.public ?? '' };
  });
  const resolved = async (host: string) =>
    (await engineRun(env, ['exec', edge.name, 'getent', 'ahostsv4', host]).catch(() => ''))
      .split('\n')
      .map((line) => line.split(/\s+/)[0])
      .filter((ip, i, all) => ip && all.indexOf(ip) === i);
  for (let attempt = 0; ; attempt++) {
    const answers = await Promise.all(wanted.map(async (w) => ({ ...w, got: await resolved(w.host) })));
    const stale = answers.filter((a) => a.got.length !== 1 || a.got[0] !== a.ip);
    if (stale.length === 0) break;
    if (attempt === 20) {
      throw new TierError(
        `the edge resolves ${stale.map((a) => `${a.host} to ${a.got.join(', ') || 'nothing'} (the balancer is at ${a.ip || 'no address'})`).join('; ')}`,
        'run `tier up` again; if it persists, `tier down` then `tier up`',
      );
    }
    await sleep(500);
  }
  await engineRun(env, ['exec', edge.name, 'edge-reload'], {
    timeoutMs: 30_000,
    hint: "fix infra/local/edge/default.vcl (the error above is varnish's compiler)",
  });
}

export async function reload(env: OpsEnv, progress: Progress, what: Reloadable): Promise<void> {
  if (what === 'lb' || what === 'web-lb' || what === 'api-lb') {
    const tiers = what === 'lb' ? [...TIERS] : [what.replace('-lb', '')];
    for (const tier of tiers) {
      progress.step(`${tier}-lb: validate, save server state, reload workers`);
      await reloadBalancer(env, tier);
      progress.done();
    }
    return;
  }
  if (what === 'edge') {
    progress.step('edge: load the VCL under a new name and switch to it');
    const edge = await serviceContainer(env, 'edge');
    const out = await engineRun(env, ['exec', edge.name, 'edge-reload'], {
      timeoutMs: 30_000,
      hint: "fix infra/local/edge/default.vcl (the error above is varnish's compiler); the running VCL is unchanged",
    });
    progress.done(out.trim().split('\n').pop());
    return;
  }
  if (what === 'metrics') {
    progress.step('prometheus: POST /-/reload');
    const res = await fetch(`${env.prometheusUrl}/-/reload`, {
      method: 'POST',
      signal: AbortSignal.timeout(15_000),
    }).catch((err: Error) => {
      throw new TierError(`Prometheus does not answer at ${env.prometheusUrl}: ${err.message}`, 'run `tier up`');
    });
    if (!res.ok) {
      throw new TierError(
        `Prometheus rejected the configuration: ${(await res.text()).trim().slice(0, 300)}`,
        'fix infra/local/metrics/prometheus.yml; the running configuration is unchanged',
      );
    }
    progress.done();
    return;
  }
  throw new TierError(`cannot reload '${String(what)}'`, `use one of: ${RELOADABLE.join(', ')}`);
}
