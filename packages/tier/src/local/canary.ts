// A local canary's arithmetic: the HAProxy weights that give one new replica its share of a tier's
// requests, the slots held at those weights and put back, and the judgement of its 5xx rate
// (HAProxy's per-server counters, as the rollout guard reads them) and of its p99 latency (the
// replicas' own request-duration histograms) against the replicas it would replace.
import type { CanaryOptions } from '../backend.js';
import { type Balancer, type ServerStat, slotFor } from './balancer.js';

export const CANARY_DEFAULTS = {
  /** The bake when `--canary` is given without `--bake`. */
  bakeMs: 60_000,
  /** The canary fails when its p99 is above this many times the old replicas' (`--max-p99-ratio`). */
  maxP99Ratio: 1.5,
  /**
   * ... and above theirs by more than this: the p99 is read from histogram buckets, and those near
   * the p99s of a loaded 2-core machine are 25-50 ms wide ((25, 50], (50, 100]). With 25 ms a good
   * version was rolled back for 84 ms against 47 ms, one bucket boundary apart.
   */
  p99SlackMs: 50,
  /**
   * The latency window starts this long into the bake (at most a quarter of it): a fresh replica's
   * first requests are slower (JIT, the pool's first connections), and 1 % of a bake's requests is few.
   */
  latencyWarmupMs: 5000,
  /** A p99 needs this many requests on each side of the comparison; with fewer it is not judged. */
  minLatencyRequests: 100,
  /** How often the balancer's counters are read while the canary bakes. */
  pollMs: 1000,
  /** How often the bake prints its figures. */
  reportMs: 15_000,
} as const;

/** HAProxy's largest server weight. */
const MAX_WEIGHT = 256;

/** A canary's options with the defaults filled in (no absolute p99 ceiling unless one is given). */
export type ResolvedCanary = Required<Omit<CanaryOptions, 'maxP99Ms'>> & Pick<CanaryOptions, 'maxP99Ms'>;

/** A canary's options with the defaults filled in; the error says which value is wrong. */
export function resolveCanary(canary: CanaryOptions): ResolvedCanary {
  const bakeMs = canary.bakeMs ?? CANARY_DEFAULTS.bakeMs;
  const maxP99Ratio = canary.maxP99Ratio ?? CANARY_DEFAULTS.maxP99Ratio;
  if (!(canary.percent > 0 && canary.percent < 100)) {
    throw new Error(`a canary's share must be more than 0 and less than 100 percent, not ${canary.percent}`);
  }
  if (!(Number.isFinite(bakeMs) && bakeMs >= 0)) {
    throw new Error(`a canary's bake must be a duration of 0 s or more, not ${bakeMs} ms`);
  }
  if (!(Number.isFinite(maxP99Ratio) && maxP99Ratio >= 1)) {
    throw new Error(`a canary's p99 ratio to the old version must be 1 or more, not ${maxP99Ratio}`);
  }
  if (canary.maxP99Ms !== undefined && !(Number.isFinite(canary.maxP99Ms) && canary.maxP99Ms > 0)) {
    throw new Error(`a canary's p99 ceiling must be a duration above 0, not ${canary.maxP99Ms} ms`);
  }
  return { percent: canary.percent, bakeMs, maxP99Ratio, maxP99Ms: canary.maxP99Ms };
}

/**
 * Integer weights for one canary beside `baseline` equal servers so that roundrobin sends it
 * `percent` of the requests: canary / (canary + baseline × each) = percent / 100, as close as
 * weights of 1..256 allow.
 */
export function canaryWeights(percent: number, baseline: number): { canary: number; baseline: number } {
  const wanted = percent / 100;
  let best = { canary: 1, baseline: 1, off: Number.POSITIVE_INFINITY };
  for (let each = 1; each <= MAX_WEIGHT; each++) {
    const canary = Math.round((each * baseline * wanted) / (1 - wanted));
    if (canary < 1 || canary > MAX_WEIGHT) continue;
    const off = Math.abs(canary / (canary + baseline * each) - wanted);
    if (off < best.off - 1e-12) best = { canary, baseline: each, off };
  }
  return { canary: best.canary, baseline: best.baseline };
}

/**
 * Holds a tier's slots at chosen weights, found by replica address on every read (a slot is
 * DNS-filled, so the address is what stays), and puts back the weight the tier's replicas had.
 * The replicas of a tier are equal (one server-template): there is one weight to return to.
 */
export class HeldWeights {
  private readonly wanted = new Map<string, number>();
  private readonly touched = new Set<string>();
  private normal: number | undefined;

  constructor(private readonly lb: Balancer) {}

  hold(ip: string, weight: number): void {
    this.wanted.set(ip, weight);
  }

  /** Sets the slots whose weight differs from the one held (after a reload, or once DNS filled the canary's slot). */
  async apply(stats: ServerStat[]): Promise<void> {
    const changes = new Map<string, number>();
    for (const [ip, weight] of this.wanted) {
      const slot = slotFor(stats, ip);
      if (!slot) continue;
      // The first weight seen on a replica's slot, before any change, is the tier's normal one.
      this.normal ??= slot.weight || 1;
      if (slot.weight !== weight) changes.set(slot.name, weight);
      this.touched.add(slot.name);
    }
    await this.lb.setWeights(changes);
  }

  /** Every slot this held goes back to the tier's normal weight; nothing is held any more. */
  async restore(): Promise<void> {
    this.wanted.clear();
    const normal = this.normal ?? 1;
    await this.lb.setWeights(new Map([...this.touched].map((slot) => [slot, normal])));
    this.touched.clear();
  }
}

interface Counts {
  responses: number;
  errors5xx: number;
}

export interface CanaryFigures {
  readonly canary: Counts;
  readonly baseline: Counts;
}

const rate = (c: Counts) => c.errors5xx / Math.max(c.responses, 1);
const pct = (c: Counts) => `${(100 * rate(c)).toFixed(1)}%`;

export const describeFigures = (f: CanaryFigures) =>
  `canary ${f.canary.errors5xx} 5xx of ${f.canary.responses} (${pct(f.canary)}), old replicas ${f.baseline.errors5xx} of ${f.baseline.responses} (${pct(f.baseline)})`;

/**
 * Compares the canary's 5xx rate with the old replicas' since the canary's slot first appeared
 * (a reused slot keeps its previous replica's counters, and a reload zeroes them: both start the
 * count again). It fails when the canary has at least `minErrors` 5xx and its rate is above the old
 * replicas' by more than `maxErrorRate`: errors the old version makes too (the database away) are
 * not the new version's fault.
 */
export class CanaryJudge {
  private base: Map<string, Counts> | undefined;
  private figures: CanaryFigures = { canary: { responses: 0, errors5xx: 0 }, baseline: { responses: 0, errors5xx: 0 } };

  constructor(
    private readonly canaryIp: () => string,
    private readonly baselineIps: readonly string[],
    private readonly limits: { readonly maxErrorRate: number; readonly minErrors: number },
  ) {}

  /** The counts so far. */
  get current(): CanaryFigures {
    return this.figures;
  }

  /** Reads the counters; resolves with why the canary fails, if it does. */
  observe(stats: ServerStat[]): string | undefined {
    const ip = this.canaryIp();
    const now = new Map<string, Counts>();
    for (const addr of [ip, ...this.baselineIps]) {
      const slot = addr ? slotFor(stats, addr) : undefined;
      if (slot) now.set(addr, { responses: slot.responses, errors5xx: slot.errors5xx });
    }
    if (!now.has(ip)) return undefined;
    const restarted = [...now].some(([a, c]) => {
      const was = this.base?.get(a);
      return was !== undefined && c.responses < was.responses;
    });
    if (!this.base || restarted) {
      this.base = now;
      return undefined;
    }
    for (const [a, c] of now) if (!this.base.has(a)) this.base.set(a, c);
    const delta = (a: string): Counts => {
      const c = now.get(a);
      const b = this.base?.get(a);
      return c && b
        ? { responses: c.responses - b.responses, errors5xx: c.errors5xx - b.errors5xx }
        : { responses: 0, errors5xx: 0 };
    };
    const baseline = this.baselineIps
      .map(delta)
      .reduce((sum, c) => ({ responses: sum.responses + c.responses, errors5xx: sum.errors5xx + c.errors5xx }), {
        responses: 0,
        errors5xx: 0,
      });
    this.figures = { canary: delta(ip), baseline };
    const { canary } = this.figures;
    if (canary.errors5xx >= this.limits.minErrors && rate(canary) > rate(baseline) + this.limits.maxErrorRate) {
      return `${describeFigures(this.figures)}: above the old version's rate by more than ${(100 * this.limits.maxErrorRate).toFixed(1)} points`;
    }
    return undefined;
  }
}

/**
 * A replica's request durations as its admin port's /metrics has them: the cumulative count per
 * bucket upper bound in seconds (+Inf last) of `http_request_duration_seconds`, summed over routes,
 * methods and status codes. It is the app's own time from request received to response sent
 * (Fastify's elapsed time), not the time a request queued in the balancer.
 */
export type LatencyHistogram = ReadonlyMap<number, number>;

export function parseLatencyHistogram(text: string): LatencyHistogram {
  const sums = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('http_request_duration_seconds_bucket{')) continue;
    const le = /[{,]le="([^"]+)"/.exec(line)?.[1];
    const count = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(count)) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    sums.set(bound, (sums.get(bound) ?? 0) + count);
  }
  return new Map([...sums].sort((a, b) => a[0] - b[0]));
}

const requestsIn = (h: LatencyHistogram) => h.get(Number.POSITIVE_INFINITY) ?? 0;

/** `later` minus `earlier` per bucket; a replica whose counts went down restarted: all of `later` is new. */
function since(later: LatencyHistogram, earlier: LatencyHistogram | undefined): LatencyHistogram {
  if (!earlier || requestsIn(later) < requestsIn(earlier)) return later;
  return new Map([...later].map(([le, n]) => [le, n - (earlier.get(le) ?? 0)]));
}

function sum(histograms: readonly LatencyHistogram[]): LatencyHistogram {
  const out = new Map<number, number>();
  for (const h of histograms) for (const [le, n] of h) out.set(le, (out.get(le) ?? 0) + n);
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

/**
 * The q-quantile in seconds as Prometheus' histogram_quantile estimates it: linear within the
 * bucket that holds the rank; in the +Inf bucket, the highest finite bound (so "at least" that).
 * Undefined without requests.
 */
export function histogramQuantile(q: number, h: LatencyHistogram): number | undefined {
  const total = requestsIn(h);
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, n] of h) {
    if (n >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(n - below, 1e-9);
    }
    lower = le;
    below = n;
  }
  return lower;
}

export interface LatencyFigures {
  /** The canary's p99 over the window, ms (undefined: no request). */
  readonly canaryP99Ms?: number;
  readonly baselineP99Ms?: number;
  readonly canaryRequests: number;
  readonly baselineRequests: number;
}

const ms = (v: number | undefined) => (v === undefined ? '-' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);

export const describeLatency = (f: LatencyFigures) =>
  `p99 ${ms(f.canaryP99Ms)} over ${Math.floor(f.canaryRequests)} requests, old replicas ${ms(f.baselineP99Ms)} over ${Math.floor(f.baselineRequests)}`;

/**
 * The canary's p99 against the old replicas' over one window (from `start` to the last `read`), from
 * each replica's own histogram. Judged once, over the bake after its warm-up: a p99 over a few
 * seconds' requests is noise.
 */
export class LatencyJudge {
  private base = new Map<string, LatencyHistogram>();
  private last = new Map<string, LatencyHistogram>();

  constructor(
    private readonly canaryIp: () => string,
    private readonly baselineIps: readonly string[],
    private readonly limits: Pick<ResolvedCanary, 'maxP99Ratio' | 'maxP99Ms'>,
  ) {}

  /** Where the window starts: each replica's histogram now (one missing here counts from zero). */
  start(histograms: ReadonlyMap<string, LatencyHistogram>): void {
    this.base = new Map(histograms);
    this.last = new Map(histograms);
  }

  /** The histograms now (a replica missing keeps its last reading). */
  read(histograms: ReadonlyMap<string, LatencyHistogram>): void {
    for (const [ip, h] of histograms) this.last.set(ip, h);
  }

  get current(): LatencyFigures {
    const window = (ip: string) => since(this.last.get(ip) ?? new Map(), this.base.get(ip));
    const canary = window(this.canaryIp());
    const baseline = sum(this.baselineIps.map(window));
    const p99 = (h: LatencyHistogram) => {
      const s = histogramQuantile(0.99, h);
      return s === undefined ? undefined : s * 1000;
    };
    return {
      canaryP99Ms: p99(canary),
      baselineP99Ms: p99(baseline),
      canaryRequests: requestsIn(canary),
      baselineRequests: requestsIn(baseline),
    };
  }

  /**
   * Why the canary fails on latency, if it does: its p99 above `maxP99Ms`, or above `maxP99Ratio` times
   * the old replicas' and by more than the slack. `judged` is false when a side had too few requests.
   */
  verdict(): { failed?: string; judged: boolean } {
    const f = this.current;
    const { maxP99Ratio, maxP99Ms } = this.limits;
    const enough = (n: number) => n >= CANARY_DEFAULTS.minLatencyRequests;
    if (!enough(f.canaryRequests) || f.canaryP99Ms === undefined) return { judged: false };
    if (maxP99Ms !== undefined && f.canaryP99Ms > maxP99Ms) {
      return { judged: true, failed: `${describeLatency(f)}: above the ceiling of ${ms(maxP99Ms)}` };
    }
    if (!enough(f.baselineRequests) || f.baselineP99Ms === undefined) return { judged: maxP99Ms !== undefined };
    if (f.canaryP99Ms > f.baselineP99Ms * maxP99Ratio && f.canaryP99Ms - f.baselineP99Ms > CANARY_DEFAULTS.p99SlackMs) {
      return { judged: true, failed: `${describeLatency(f)}: above ${maxP99Ratio}× the old version's` };
    }
    return { judged: true };
  }
}
