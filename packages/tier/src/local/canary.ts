// A local canary's arithmetic: the HAProxy weights that give one new replica its share of a tier's
// requests, the slots held at those weights and put back, and the judgement of its 5xx rate
// against the replicas it would replace (HAProxy's per-server counters, as the rollout guard reads them).
import type { CanaryOptions } from '../backend.js';
import { type Balancer, type ServerStat, slotFor } from './balancer.js';

export const CANARY_DEFAULTS = {
  /** The bake when `--canary` is given without `--bake`. */
  bakeMs: 60_000,
  /** How often the balancer's counters are read while the canary bakes. */
  pollMs: 1000,
  /** How often the bake prints its figures. */
  reportMs: 15_000,
} as const;

/** HAProxy's largest server weight. */
const MAX_WEIGHT = 256;

/** A canary's options with the defaults filled in; the error says which value is wrong. */
export function resolveCanary(canary: CanaryOptions): Required<CanaryOptions> {
  const bakeMs = canary.bakeMs ?? CANARY_DEFAULTS.bakeMs;
  if (!(canary.percent > 0 && canary.percent < 100)) {
    throw new Error(`a canary's share must be more than 0 and less than 100 percent, not ${canary.percent}`);
  }
  if (!(Number.isFinite(bakeMs) && bakeMs >= 0)) {
    throw new Error(`a canary's bake must be a duration of 0 s or more, not ${bakeMs} ms`);
  }
  return { percent: canary.percent, bakeMs };
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
