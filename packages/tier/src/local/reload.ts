// Hitless configuration reloads of the infrastructure tiers: balancers (HAProxy master-worker with
// the servers' state saved first), edge (Varnish vcl.load + vcl.use) and metrics (Prometheus /-/reload).
import { type Progress, TierError } from '../backend.js';
import { reloadBalancer } from './balancer.js';
import { engineRun, type OpsEnv } from './ops-env.js';
import { serviceContainer } from './replicas.js';

export const RELOADABLE = ['lb', 'web-lb', 'api-lb', 'edge', 'metrics'] as const;
export type Reloadable = (typeof RELOADABLE)[number];

export async function reload(env: OpsEnv, progress: Progress, what: Reloadable): Promise<void> {
  if (what === 'lb' || what === 'web-lb' || what === 'api-lb') {
    const tiers = what === 'lb' ? ['web', 'api'] : [what.replace('-lb', '')];
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
