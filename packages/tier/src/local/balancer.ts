// HAProxy's runtime API (admin socket inside each balancer container): which replicas are in
// rotation, per-server response counters (for the rollout's error-rate guard), and hitless reloads.
import { TierError } from '../backend.js';
import { serviceContainer } from './containers.js';
import { engineRun, type OpsEnv, sleep } from './ops-env.js';

export interface ServerStat {
  readonly backend: string;
  /** Slot name from server-template (api1..api10), or BACKEND / FRONTEND for totals. */
  readonly name: string;
  /** e.g. "UP", "DOWN", "MAINT", "UP 1/2" (going down), "no check". */
  readonly status: string;
  /** ip:port, empty for an unused slot. */
  readonly addr: string;
  readonly responses: number;
  readonly errors5xx: number;
  /** The weight set on the server (`uweight`; `weight` on versions without it): its share in roundrobin. */
  readonly weight: number;
}

export const balancerOf = (tier: string) => `${tier}-lb`;

/** A tier's balancer, its container looked up once: a rollout reads its counters many times a second. */
export interface Balancer {
  readonly tier: string;
  /** Its container's name. */
  readonly name: string;
  /** `show stat` of the replicas' backend. */
  stats(): Promise<ServerStat[]>;
  /**
   * Sets servers' weights (slot name -> 0..256) in one runtime call; roundrobin shares requests by
   * weight at once, without a reload. HAProxy answers nothing for each command that worked.
   */
  setWeights(weights: ReadonlyMap<string, number>): Promise<void>;
  /** A command on its admin socket (the runtime API); resolves with the answer. */
  admin(command: string): Promise<string>;
}

export async function balancer(env: OpsEnv, tier: string): Promise<Balancer> {
  const { name } = await serviceContainer(env, balancerOf(tier));
  const admin = (command: string) =>
    engineRun(env, ['exec', '-i', name, 'socat', 'stdio', '/run/haproxy/admin.sock'], {
      input: `${command}\n`,
      timeoutMs: 15_000,
      hint: `the ${tier} balancer does not answer on its admin socket: \`tier status\`, then \`tier up\``,
    });
  return {
    tier,
    name,
    admin,
    stats: async () => parseShowStat(await admin('show stat')).filter((s) => s.backend === 'replicas'),
    async setWeights(weights) {
      if (weights.size === 0) return;
      const commands = [...weights].map(([slot, w]) => `set weight replicas/${slot} ${w}`);
      const answer = (await admin(commands.join('; '))).trim();
      if (answer) throw new TierError(`${balancerOf(tier)} refused \`${commands.join('; ')}\`: ${answer}`);
    },
  };
}

/** Parses `show stat` CSV (header line starts with "# "). */
export function parseShowStat(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l.trim());
  const header = lines.shift()?.replace(/^#\s*/, '').split(',') ?? [];
  const col = (name: string) => header.indexOf(name);
  const num = (cells: string[], name: string) => Number(cells[col(name)] || 0);
  return lines.map((line) => {
    const cells = line.split(',');
    const responses = ['hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other'].reduce(
      (sum, c) => sum + num(cells, c),
      0,
    );
    return {
      backend: cells[col('pxname')] ?? '',
      name: cells[col('svname')] ?? '',
      status: cells[col('status')] ?? '',
      addr: cells[col('addr')] ?? '',
      responses,
      errors5xx: num(cells, 'hrsp_5xx'),
      weight: num(cells, col('uweight') >= 0 ? 'uweight' : 'weight'),
    };
  });
}

/** The slot currently holding this address (DNS-discovered), if any. */
export function slotFor(stats: ServerStat[], ip: string): ServerStat | undefined {
  return stats.find((s) => s.addr.split(':')[0] === ip && s.name !== 'BACKEND');
}

/** In rotation: health checks pass and no maintenance/drain flag (a plain "UP"). */
export const inRotation = (s: ServerStat | undefined) => s !== undefined && s.status === 'UP';

/** Totals over the replicas, for error-rate deltas. */
export function totals(stats: ServerStat[]): { responses: number; errors5xx: number } {
  const servers = stats.filter((s) => s.name !== 'BACKEND' && s.name !== 'FRONTEND');
  return {
    responses: servers.reduce((n, s) => n + s.responses, 0),
    errors5xx: servers.reduce((n, s) => n + s.errors5xx, 0),
  };
}

/** The master's reload counters from `show proc` (master line: `<pid> master <reloads> [failed: <n>] …`). */
export function parseShowProc(text: string): { reloads: number; failed: number } | undefined {
  const m = /^\d+\s+master\s+(\d+)\s+\[failed:\s*(\d+)\]/m.exec(text);
  return m ? { reloads: Number(m[1]), failed: Number(m[2]) } : undefined;
}

/**
 * Hitless reload (the image's lb-reload, done from here): validate the mounted configuration, save
 * `show servers state` to the server-state-file so the new worker starts with the discovered
 * replicas UP (not MAINT), ask the master to reload, and confirm it by the master's own reload
 * counter. The master's synchronous answer ("Success=1") is not enough: it sometimes closes the
 * connection without one (while it re-executes itself or an old worker is leaving), which says
 * nothing about whether the reload happened.
 */
export async function reloadBalancer(env: OpsEnv, tier: string): Promise<void> {
  const lb = await balancer(env, tier);
  await engineRun(env, ['exec', lb.name, 'haproxy', '-c', '-q', '-f', '/usr/local/etc/haproxy/'], {
    withStderr: true,
    hint: `fix infra/local/lb/*.cfg (\`${env.engine} exec ${lb.name} haproxy -c -f /usr/local/etc/haproxy/\` shows the error); the running configuration is unchanged`,
  });
  const state = await lb.admin('show servers state');
  await engineRun(env, ['exec', '-i', lb.name, 'bash', '-c', 'cat > /run/haproxy/state/servers.state'], {
    input: state,
  });
  // The master socket refuses connections while the master re-executes; ask again.
  const master = async (command: string, wait = 10): Promise<string> =>
    engineRun(env, ['exec', '-i', lb.name, 'socat', '-t', String(wait), 'stdio', '/run/haproxy/master.sock'], {
      input: `${command}\n`,
      timeoutMs: 30_000,
    }).catch((err: Error) => {
      if (/Connection refused|No such file/.test(err.message)) return '';
      throw err;
    });
  const counters = async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const found = parseShowProc(await master('show proc', 1));
      if (found) return found;
      await sleep(500);
    }
    throw new TierError(
      `${tier}-lb's master does not answer \`show proc\``,
      `see \`tier logs ${tier}-lb --since 5m\`; the old workers keep serving`,
    );
  };
  const before = await counters();
  let answer = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    answer = await master('reload');
    if (/Success=0/.test(answer)) break;
    // Done when the counter moved: the answer may be missing even then.
    for (let poll = 0; poll < 10; poll++) {
      const now = await counters();
      if (now.failed > before.failed) break;
      if (now.reloads > before.reloads) return;
      await sleep(500);
    }
    if ((await counters()).failed > before.failed) break;
  }
  throw new TierError(
    `${tier}-lb did not reload: ${answer.trim().split('\n').slice(0, 3).join(' | ') || 'the master answered nothing and its reload counter did not move'}`,
    `see \`tier logs ${tier}-lb --since 5m\`; the old workers keep serving`,
  );
}
