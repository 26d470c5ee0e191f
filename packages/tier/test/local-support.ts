// A fake container engine for the local backend's tests: it answers the engine API's container list
// and inspect, and the engine CLI and compose commands the operations run (stop, rm, logs, wait,
// image inspect, the balancers' `show stat` and `set weight`, `compose up --scale`), keeps a fake clock that `sleep` advances,
// and records what happened in order, so a test can check a rollout step by step without podman.
// The balancers share each read's requests among the replicas in rotation by their slot's weight.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics, type HttpMetrics } from '@tier/runtime';
import type { Progress, TierName } from '../src/backend.js';
import { type Engine, EngineApi } from '../src/local/engine.js';
import { type OpsEnv, opsEnvFor, type RunOptions } from '../src/local/ops-env.js';
import { localPaths } from '../src/local/paths.js';

export const T0 = Date.parse('2026-03-01T10:00:00.000Z');
export const image = (tier: string, version: string) => `localhost/tier-${tier}:${version}`;

/** How a replica of a version behaves once compose starts it. Times count from its start. */
export interface ReplicaScript {
  /** In rotation (HAProxy UP) and /readyz 200 after this long. @default 2000 */
  readonly readyAfterMs?: number;
  /** HAProxy shows the slot UP this long before the replica's own /readyz answers 200. @default 0 */
  readonly readyzLagMs?: number;
  /** Exits with code 1 after `crashAfterMs`. */
  readonly crashes?: boolean;
  /** Its healthcheck reports unhealthy after `crashAfterMs`. */
  readonly unhealthy?: boolean;
  /** Never becomes ready (readiness keeps answering 503). */
  readonly neverReady?: boolean;
  /** @default 1000 */
  readonly crashAfterMs?: number;
  /** Share of its responses that are 5xx while in rotation. @default 0 */
  readonly errorShare?: number;
  /** How long each of its requests takes, as its own histogram records it. @default 5 */
  readonly latencyMs?: number;
  /** Its requests take `slowStartLatencyMs` until it is this old (a cold process). @default 0 */
  readonly slowStartMs?: number;
  /** @default 300 */
  readonly slowStartLatencyMs?: number;
  /** Its /readyz says it runs this version. @default its image's tag */
  readonly reportsVersion?: string;
  /** It runs this image content (the tag has since moved to another build). @default its image's id */
  readonly runsImageId?: string;
  /** Its traffic port answers the smoke test with a 500 (a version whose page or status is broken). @default false */
  readonly smokeFails?: boolean;
}

/** An image's content id as the fake engine has it: a hash of its reference. */
export const imageIdOf = (ref: string) => `sha256:${createHash('sha256').update(ref).digest('hex')}`;

interface FakeContainer {
  readonly id: string;
  readonly name: string;
  readonly service: string;
  readonly number: number;
  readonly image: string;
  readonly createdAt: number;
  readonly ip: string;
  /** The balancer slot it holds while it runs (web3 -> 3); 0 for services behind no balancer. */
  readonly slot: number;
  readonly script: ReplicaScript;
  running: boolean;
  state: string;
  exitCode: number;
  responses: number;
  errors5xx: number;
  /** Its admin port's metrics, the app's own registry: every request it served is observed there when read. */
  metrics?: HttpMetrics;
  observed: number;
}

/** A `set weight` a balancer received. */
export interface WeightCall {
  readonly at: number;
  readonly tier: string;
  readonly slot: string;
  readonly weight: number;
  /** The container in that slot then, if any. */
  readonly holder?: string;
}

/** What a replica answered through its balancer, kept after it is removed. */
export interface Served {
  readonly version: string;
  responses: number;
  errors5xx: number;
}

/** One thing the engine did, in order. `serving`: the replicas in rotation at that moment. */
export interface EngineEvent {
  readonly at: number;
  readonly what: 'create' | 'stop' | 'rm' | 'migrate';
  readonly name: string;
  readonly image?: string;
  readonly stopTimeoutS?: number;
  readonly serving: readonly string[];
}

export interface FakeEngineOptions {
  /** Running replicas per tier at the start, all on `version`. @default web: 2, api: 2 */
  readonly replicas?: Partial<Record<TierName, number>>;
  /** @default 'v1' */
  readonly version?: string;
  /** Images that exist besides the running ones. */
  readonly images?: readonly string[];
  /** Behaviour of replicas compose starts: by version, and the how-manieth of that version (0-based). */
  readonly script?: (version: string, nth: number) => ReplicaScript;
  /** Behaviour of the replicas running at the start. @default in rotation, no errors */
  readonly running?: ReplicaScript;
  /** Exit code of the migrate job. @default 0 */
  readonly migrateExit?: number;
  /** Responses each replica in rotation serves between two `show stat` reads. @default 10 */
  readonly responsesPerPoll?: number;
}

/**
 * Virtual time: a sleeper wakes when every other piece of work is waiting too (the fakes answer at
 * once), and the clock jumps to the earliest wake-up. Parallel waiters share one clock.
 */
export class VirtualClock {
  private readonly timers: { due: number; wake: () => void }[] = [];
  private ticking = false;

  constructor(public now: number) {}

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      this.timers.push({ due: this.now + ms, wake });
      this.tick();
    });
  }

  private tick(): void {
    if (this.ticking) return;
    this.ticking = true;
    setImmediate(() => {
      this.ticking = false;
      this.timers.sort((a, b) => a.due - b.due);
      const next = this.timers.shift();
      if (!next) return;
      this.now = Math.max(this.now, next.due);
      next.wake();
      if (this.timers.length) this.tick();
    });
  }
}

export class FakeEngine {
  readonly events: EngineEvent[] = [];
  /** How many times the container list was read (the engine API's GET /containers/json). */
  listCalls = 0;
  /** Every compose invocation's arguments after the project/file/env-file options, with the image variables it set. */
  readonly composeCalls: { args: string[]; env: Record<string, string> }[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly images: Set<string>;
  /** Every `set weight`, in order. */
  readonly weightCalls: WeightCall[] = [];
  /** Each replica's answers through its balancer (fractions: a share of a read's requests). */
  readonly served = new Map<string, Served>();
  /** Weights per slot (`web3`), as HAProxy keeps them: on the slot, whoever holds it. @default 1 */
  private readonly slotWeights = new Map<string, number>();
  private seq = 0;
  private readonly retired = new Map<string, { responses: number; errors5xx: number }>();
  private readonly started = new Map<string, number>();

  constructor(private readonly opts: FakeEngineOptions = {}) {
    const version = opts.version ?? 'v1';
    this.images = new Set(opts.images ?? []);
    for (const tier of ['web', 'api'] as const) {
      this.add(`${tier}-lb`, `localhost/tier-lb:abc`, {});
      const n = opts.replicas?.[tier] ?? 2;
      for (let i = 0; i < n; i++)
        this.add(tier, image(tier, version), { ...opts.running, readyAfterMs: 0 }, T0 - 60_000);
      this.images.add(image(tier, version));
    }
  }

  /** The replicas of a tier, oldest number first: `name image`. */
  replicas(tier: TierName): string[] {
    return [...this.containers.values()]
      .filter((c) => c.service === tier)
      .sort((a, b) => a.number - b.number)
      .map((c) => `${c.name} ${c.image.split(':').pop()}`);
  }

  /** Events as `what name`, for order checks. */
  timeline(filter: (e: EngineEvent) => boolean = () => true): string[] {
    return this.events.filter(filter).map((e) => `${e.what} ${e.name}${e.image ? ` ${e.image.split(':').pop()}` : ''}`);
  }

  /** A slot's weight: `web3` -> 1 unless set. */
  weight(slot: string): number {
    return this.slotWeights.get(slot) ?? 1;
  }

  /** The slots whose weight is not 1 now: `slot=weight`. */
  unusualWeights(): string[] {
    return [...this.slotWeights].filter(([, w]) => w !== 1).map(([slot, w]) => `${slot}=${w}`);
  }

  /** Answers through a tier's balancer so far, by version. */
  answers(tier: TierName): Record<string, { responses: number; errors5xx: number }> {
    const out: Record<string, { responses: number; errors5xx: number }> = {};
    for (const [name, s] of this.served) {
      if (!name.startsWith(`tier_${tier}_`)) continue;
      const v = out[s.version] ?? { responses: 0, errors5xx: 0 };
      v.responses += s.responses;
      v.errors5xx += s.errors5xx;
      out[s.version] = v;
    }
    return out;
  }

  private add(service: string, img: string, script: ReplicaScript, createdAt = this.now): FakeContainer {
    const siblings = [...this.containers.values()].filter((c) => c.service === service);
    const number = Math.max(0, ...siblings.map((c) => c.number)) + 1;
    const behindBalancer = service === 'web' || service === 'api';
    let slot = 0;
    if (behindBalancer) {
      const taken = new Set(siblings.filter((c) => c.running).map((c) => c.slot));
      slot = 1;
      while (taken.has(slot)) slot++;
    }
    this.seq += 1;
    const c: FakeContainer = {
      id: `id${String(this.seq).padStart(4, '0')}`,
      name: `tier_${service}_${number}`,
      service,
      number,
      image: img,
      createdAt,
      ip: `10.89.0.${this.seq + 10}`,
      slot,
      script,
      running: true,
      state: 'running',
      exitCode: 0,
      responses: 0,
      errors5xx: 0,
      observed: 0,
    };
    this.containers.set(c.name, c);
    return c;
  }

  private age(c: FakeContainer): number {
    return this.now - c.createdAt;
  }

  private settle(c: FakeContainer): void {
    if (c.running && c.script.crashes && this.age(c) >= (c.script.crashAfterMs ?? 1000)) {
      c.running = false;
      c.state = 'exited';
      c.exitCode = 1;
    }
  }

  private slotUp(c: FakeContainer): boolean {
    this.settle(c);
    if (!c.running || c.script.neverReady || c.script.crashes || this.unhealthy(c)) return false;
    return this.age(c) >= (c.script.readyAfterMs ?? 2000);
  }

  private readyz(c: FakeContainer): boolean {
    return this.slotUp(c) && this.age(c) >= (c.script.readyAfterMs ?? 2000) + (c.script.readyzLagMs ?? 0);
  }

  private unhealthy(c: FakeContainer): boolean {
    return !!c.script.unhealthy && this.age(c) >= (c.script.crashAfterMs ?? 1000);
  }

  /** The replicas of a service in rotation now. */
  private serving(service: string): string[] {
    return [...this.containers.values()]
      .filter((c) => c.service === service && this.slotUp(c))
      .sort((a, b) => a.number - b.number)
      .map((c) => c.name);
  }

  private event(e: Omit<EngineEvent, 'at' | 'serving'>): void {
    const service = this.containers.get(e.name)?.service ?? '';
    this.events.push({ ...e, at: this.now, serving: this.serving(service) });
  }

  private inspectJson(c: FakeContainer) {
    this.settle(c);
    const health = c.service.endsWith('-lb')
      ? undefined
      : this.unhealthy(c)
        ? 'unhealthy'
        : this.slotUp(c)
          ? 'healthy'
          : 'starting';
    return {
      Id: c.id,
      Name: `/${c.name}`,
      Image: c.script.runsImageId ?? imageIdOf(c.image),
      ImageName: c.image,
      Config: {
        Image: c.image,
        Labels: {
          'com.docker.compose.project': 'tier',
          'com.docker.compose.service': c.service,
          'com.docker.compose.container-number': String(c.number),
          'com.docker.compose.oneoff': 'False',
        },
      },
      State: {
        Status: c.state,
        Running: c.running,
        ExitCode: c.exitCode,
        ...(health ? { Health: { Status: health } } : {}),
      },
      RestartCount: 0,
      Created: new Date(c.createdAt).toISOString(),
      NetworkSettings: { Networks: { tier_app: { IPAddress: c.running ? c.ip : '' } } },
    };
  }

  private find(ref: string): FakeContainer | undefined {
    return [...this.containers.values()].find((c) => c.name === ref || c.id === ref);
  }

  /**
   * `show stat` of a tier's balancer; each read is a poll interval's traffic: `responsesPerPoll`
   * for each replica in rotation, shared among them by their slots' weights (roundrobin's way).
   */
  private showStat(tier: string): string {
    const per = this.opts.responsesPerPoll ?? 10;
    const running = [...this.containers.values()]
      .filter((c) => c.service === tier && c.running)
      .sort((a, b) => a.slot - b.slot);
    const up = running.filter((c) => this.slotUp(c));
    const totalWeight = up.reduce((n, c) => n + this.weight(`${tier}${c.slot}`), 0);
    for (const c of up) {
      if (totalWeight === 0) break;
      const share = (per * up.length * this.weight(`${tier}${c.slot}`)) / totalWeight;
      const errors = share * (c.script.errorShare ?? 0);
      c.responses += share;
      c.errors5xx += errors;
      this.observe(c);
      const served = this.served.get(c.name) ?? { version: c.image.split(':').pop() ?? '', responses: 0, errors5xx: 0 };
      served.responses += share;
      served.errors5xx += errors;
      this.served.set(c.name, served);
    }
    const row = (slot: string, status: string, addr: string, responses: number, errors: number) => {
      const weight = this.weight(slot);
      const [r, e] = [Math.floor(responses), Math.floor(errors)];
      return `replicas,${slot},${status},${addr},${weight},0,${r - e},0,0,${e},0,${weight}`;
    };
    const rows = running.map((c) =>
      row(`${tier}${c.slot}`, this.slotUp(c) ? 'UP' : 'DOWN', `${c.ip}:3000`, c.responses, c.errors5xx),
    );
    // A freed slot keeps its counters in HAProxy: removed replicas' responses still count.
    const gone = this.retired.get(tier) ?? { responses: 0, errors5xx: 0 };
    rows.push(row(`${tier}0`, 'MAINT', '', gone.responses, gone.errors5xx));
    return [
      '# pxname,svname,status,addr,weight,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,uweight',
      ...rows,
      'replicas,BACKEND,UP,,0,0,0,0,0,0,0,0',
      '',
    ].join('\n');
  }

  /** `set weight replicas/<slot> <w>[; …]`: HAProxy answers nothing for each command that worked. */
  private setWeight(tier: string, input: string): string {
    let answer = '';
    for (const command of input.trim().split(/\s*;\s*/)) {
      const m = /^set weight replicas\/([a-z]+)(\d+) (\d+)$/.exec(command);
      if (!m || m[1] !== tier || Number(m[2]) < 1 || Number(m[2]) > 10 || Number(m[3]) > 256) {
        answer += 'No such server.\n\n';
        continue;
      }
      const slot = `${tier}${m[2]}`;
      const holder = [...this.containers.values()].find(
        (c) => c.service === tier && c.running && `${tier}${c.slot}` === slot,
      );
      this.slotWeights.set(slot, Number(m[3]));
      this.weightCalls.push({ at: this.now, tier, slot, weight: Number(m[3]), holder: holder?.name });
    }
    return answer;
  }

  /** Counters start again at zero, as after a balancer reload. */
  resetCounters(): void {
    this.retired.clear();
    for (const c of this.containers.values()) {
      c.responses = 0;
      c.errors5xx = 0;
    }
  }

  private fail(cmd: string, args: readonly string[], why: string): never {
    throw new Error(`\`${cmd} ${args.slice(0, 4).join(' ')}\` failed: ${why}`);
  }

  private engine(args: readonly string[], opts: RunOptions): string {
    const [verb, ...rest] = args;
    switch (verb) {
      case 'image': {
        const ref = rest.at(-1) ?? '';
        if (!this.images.has(ref)) this.fail('podman', args, `${ref}: image not known`);
        return `${imageIdOf(ref)}\n`;
      }
      case 'exec': {
        const lb = this.find(rest[1] ?? '');
        const tier = lb?.service.replace(/-lb$/, '') ?? '';
        if (lb && opts.input === 'show stat\n') return this.showStat(tier);
        if (!lb || !opts.input?.startsWith('set weight ')) this.fail('podman', args, 'unexpected exec');
        return this.setWeight(tier, opts.input);
      }
      case 'stop': {
        const c = this.find(rest[2] ?? '');
        if (!c) this.fail('podman', args, 'no such container');
        this.event({ what: 'stop', name: c.name, stopTimeoutS: Number(rest[1]) });
        const gone = this.retired.get(c.service) ?? { responses: 0, errors5xx: 0 };
        this.retired.set(c.service, {
          responses: gone.responses + c.responses,
          errors5xx: gone.errors5xx + c.errors5xx,
        });
        c.responses = 0;
        c.errors5xx = 0;
        c.running = false;
        c.state = 'exited';
        return '';
      }
      case 'rm': {
        const c = this.find(rest.at(-1) ?? '');
        if (!c) this.fail('podman', args, 'no such container');
        this.event({ what: 'rm', name: c.name });
        this.containers.delete(c.name);
        return '';
      }
      case 'logs':
        return `listening\n${rest.at(-1)} exiting: boom\n`;
      case 'wait':
        return `${this.opts.migrateExit ?? 0}\n`;
      default:
        return this.fail('podman', args, 'not faked');
    }
  }

  private compose(args: readonly string[], opts: RunOptions): string {
    const own = args.slice(args.indexOf('--env-file') + 2);
    const images = Object.fromEntries(Object.entries(opts.env ?? {}).filter(([k]) => k.endsWith('_IMAGE'))) as Record<
      string,
      string
    >;
    this.composeCalls.push({ args: own, env: images });
    const service = own.at(-1) ?? '';
    if (own[0] !== 'up') this.fail('docker-compose', own, 'not faked');
    if (own.includes('--remove-orphans')) return this.upAll(own, images);
    if (service === 'migrate') {
      for (const c of this.containers.values()) if (c.service === 'migrate') this.containers.delete(c.name);
      const job = this.add('migrate', images.API_IMAGE ?? '', {});
      job.running = false;
      job.state = 'exited';
      job.exitCode = this.opts.migrateExit ?? 0;
      this.event({ what: 'migrate', name: job.name, image: job.image });
      return '';
    }
    const scale = own[own.indexOf('--scale') + 1] ?? '';
    const wanted = Number(scale.split('=')[1]);
    const img = this.configuredImage(service, images);
    const version = img.split(':').pop() ?? '';
    const current = [...this.containers.values()].filter((c) => c.service === service).length;
    for (let i = current; i < wanted; i++) {
      const nth = this.started.get(version) ?? 0;
      this.started.set(version, nth + 1);
      const c = this.add(service, img, this.opts.script?.(version, nth) ?? {});
      this.event({ what: 'create', name: c.name, image: img });
    }
    return '';
  }

  /**
   * `compose up -d --remove-orphans [--scale <tier>=<n>]…` of the app tiers, as compose does it: a
   * replica whose image is not the configured one (.env, unless the call sets it) is recreated,
   * stopped ones start, and the tier is scaled to its count (compose.yaml's 2 without --scale).
   */
  private upAll(args: readonly string[], images: Record<string, string>): string {
    for (const tier of ['web', 'api'] as const) {
      const img = this.configuredImage(tier, images);
      const scaled = args.find((a, i) => args[i - 1] === '--scale' && a.startsWith(`${tier}=`));
      const wanted = scaled ? Number(scaled.split('=')[1]) : 2;
      const mine = () =>
        [...this.containers.values()].filter((c) => c.service === tier).sort((a, b) => a.number - b.number);
      for (const c of mine()) {
        if (c.image === img) {
          c.running = true;
          c.state = 'running';
          continue;
        }
        this.event({ what: 'stop', name: c.name, stopTimeoutS: 15 });
        this.event({ what: 'rm', name: c.name });
        this.containers.delete(c.name);
      }
      for (const c of mine().slice(wanted).reverse()) {
        this.event({ what: 'stop', name: c.name, stopTimeoutS: 15 });
        this.event({ what: 'rm', name: c.name });
        this.containers.delete(c.name);
      }
      const version = img.split(':').pop() ?? '';
      for (let i = mine().length; i < wanted; i++) {
        const c = this.add(tier, img, this.opts.script?.(version, 0) ?? {});
        this.event({ what: 'create', name: c.name, image: img });
      }
    }
    return '';
  }

  /** The image compose gives a service: the call's <TIER>_IMAGE, else infra/local/.env's. */
  private configuredImage(service: string, images: Record<string, string>): string {
    const key = `${service.toUpperCase()}_IMAGE`;
    const line = readFileSync(this.envFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${key}=`));
    return images[key] ?? line?.slice(key.length + 1) ?? '';
  }

  /** Records the requests it served since the last call in its own histogram, at its latency now. */
  private observe(c: FakeContainer): HttpMetrics {
    c.metrics ??= createMetrics(c.service, c.script.reportsVersion ?? c.image.split(':').pop() ?? '');
    const cold = this.age(c) < (c.script.slowStartMs ?? 0);
    const ms = cold ? (c.script.slowStartLatencyMs ?? 300) : (c.script.latencyMs ?? 5);
    for (const served = Math.floor(c.responses); c.observed < served; c.observed++) {
      c.metrics.duration.observe({ method: 'GET', route: '/', status_code: '200' }, ms / 1000);
    }
    return c.metrics;
  }

  /** A replica's admin port: /readyz as the runtime answers it, /metrics from the runtime's own registry. */
  private async admin(url: URL): Promise<Response> {
    const c = [...this.containers.values()].find((x) => x.running && x.ip === url.hostname);
    if (!c) throw new TypeError('fetch failed');
    if (url.port === '3000') {
      // Its traffic port, as the smoke test reads it: the page, or /api/status, with the database's time.
      this.smokeRequests.push(c.name);
      if (c.script.smokeFails) return new Response('{"error":"boom"}', { status: 500 });
      const time = new Date(this.now).toISOString();
      return url.pathname === '/api/status'
        ? Response.json([{ time, request_uuid: 'fake' }])
        : new Response(`<h1>Welcome, it's ${time}</h1>`, { status: 200 });
    }
    const version = c.script.reportsVersion ?? c.image.split(':').pop() ?? '';
    const tier = c.service;
    if (url.pathname === '/metrics') {
      const metrics = this.observe(c);
      return new Response(await metrics.registry.metrics(), { status: 200 });
    }
    const ready = this.readyz(c);
    return Response.json({ status: ready ? 'ready' : 'starting', tier, version }, { status: ready ? 200 : 503 });
  }

  /** Takes a replica away as a crash and `rm -f` would: compose no longer has it. */
  kill(name: string): void {
    this.containers.delete(name);
  }

  /** Each smoke request a replica's traffic port answered, by container name. */
  readonly smokeRequests: string[] = [];
  private envFile = '';
  private readonly clock = new VirtualClock(T0);

  get now(): number {
    return this.clock.now;
  }

  /** Virtual time (see VirtualClock): parallel waiters share one clock. */
  sleep(ms: number): Promise<void> {
    return this.clock.sleep(ms);
  }

  /** The local context for the code under test: this engine, its clock, files in a temporary root. */
  env(): OpsEnv & { root: string } {
    const root = mkdtempSync(join(tmpdir(), 'tier-rollout-'));
    mkdirSync(join(root, 'infra/local'), { recursive: true });
    this.envFile = join(root, 'infra/local/.env');
    writeFileSync(this.envFile, `WEB_IMAGE=${image('web', 'v1')}\nAPI_IMAGE=${image('api', 'v1')}\n`);
    const paths = localPaths(root);
    const engine: Engine = {
      kind: 'podman',
      cli: 'podman',
      compose: ['docker-compose'],
      dockerHost: 'unix:///nonexistent/podman.sock',
      containerLogDir: join(root, 'containers'),
      api: new EngineApi('unix:///nonexistent/podman.sock'),
    };
    return opsEnvFor(paths, engine, {
      api: {
        containers: async (service?: string) => {
          this.listCalls += 1;
          return [...this.containers.values()]
            .filter((c) => !service || c.service === service)
            .map((c) => ({ Id: c.id, Names: [`/${c.name}`] }));
        },
        inspect: async <T>(ref: string) => {
          const c = this.find(ref);
          if (!c) throw new Error(`engine API GET /containers/${ref}/json: 404 no such container`);
          return this.inspectJson(c) as T;
        },
      },
      run: async (cmd, args, opts = {}) => (cmd === 'podman' ? this.engine(args, opts) : this.compose(args, opts)),
      fetch: async (input) => this.admin(new URL(String(input))),
      now: () => this.now,
      sleep: (ms) => this.sleep(ms),
    }) as OpsEnv & { root: string };
  }
}

/** What a deploy left in .env: the image variables. */
export function pinned(env: OpsEnv): Record<string, string> {
  return Object.fromEntries(
    readFileSync(env.envFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** A Progress that keeps its lines: `step …`, `info …`, `done …`, `warn …`. */
export function recorder(): Progress & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    step: (m) => lines.push(`step ${m}`),
    info: (m) => lines.push(`info ${m}`),
    done: (m) => lines.push(`done ${m ?? ''}`),
    warn: (m) => lines.push(`warn ${m}`),
  };
}
