// A replica's own ports (reached from the host through the engine's bridge networks): on its admin
// port (9100) its readiness, the version it says it runs and its request-duration histogram; on its
// traffic port (3000) the smoke test a canary passes before the balancer sends it anything.
import { type LatencyHistogram, parseLatencyHistogram } from './canary.js';
import type { OpsEnv } from './ops-env.js';

/** The admin port of both app tiers (runtime DEFAULT_ADMIN_PORTS; compose does not change it). */
const ADMIN_PORT = 9100;
/** Their traffic port (compose: the balancers' server-template). */
const TRAFFIC_PORT = 3000;

/**
 * The read-only smoke test of one replica, before any user request reaches it: the page renders with
 * the database's time (web, through the API), /api/status answers with it (api). Undefined when it
 * passes, else what it answered.
 */
export async function smokeReplica(env: OpsEnv, tier: string, ip: string): Promise<string | undefined> {
  const path = tier === 'api' ? '/api/status' : '/';
  try {
    const res = await env.fetch(`http://${ip}:${TRAFFIC_PORT}${path}`, {
      headers: { 'user-agent': 'tier-canary-smoke' },
      signal: AbortSignal.timeout(5000),
    });
    const body = await res.text();
    if (res.status !== 200) return `GET ${path} answered ${res.status}: ${body.replace(/\s+/g, ' ').slice(0, 100)}`;
    const shows = tier === 'api' ? /"time":"\d{4}-/.test(body) : /Welcome, it/.test(body);
    return shows ? undefined : `GET ${path} answered 200 without the database's time`;
  } catch (err) {
    return `GET ${path}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** What /readyz answers (packages/runtime/src/service.ts). */
export interface Readiness {
  readonly status: string;
  readonly tier?: string;
  readonly version?: string;
}

/** GET /readyz: undefined when the replica does not answer within a second. */
export async function replicaReadiness(env: OpsEnv, ip: string): Promise<(Readiness & { ok: boolean }) | undefined> {
  try {
    const res = await env.fetch(`http://${ip}:${ADMIN_PORT}/readyz`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json().catch(() => ({}))) as Partial<Readiness>;
    return {
      ok: res.status === 200,
      status: String(body.status ?? res.status),
      tier: body.tier,
      version: body.version,
    };
  } catch {
    return undefined;
  }
}

/**
 * The replica's own readiness. Checked besides HAProxy's view because a DNS-filled slot can show UP
 * with the slot's previous check result before the new app listens.
 */
export async function replicaReady(env: OpsEnv, ip: string): Promise<boolean> {
  return (await replicaReadiness(env, ip))?.ok === true;
}

/** Its request durations so far (GET /metrics); undefined when it does not answer. */
export async function replicaLatency(env: OpsEnv, ip: string): Promise<LatencyHistogram | undefined> {
  try {
    const res = await env.fetch(`http://${ip}:${ADMIN_PORT}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    return parseLatencyHistogram(await res.text());
  } catch {
    return undefined;
  }
}

/** The histograms of the replicas that answered, by address. */
export async function latencyOf(env: OpsEnv, ips: readonly string[]): Promise<Map<string, LatencyHistogram>> {
  const read = await Promise.all(ips.map(async (ip) => [ip, await replicaLatency(env, ip)] as const));
  return new Map(read.filter((r): r is readonly [string, LatencyHistogram] => r[1] !== undefined));
}
