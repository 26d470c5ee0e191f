// Change detection against what runs: each tier's base is the version its target stage runs, not the previous push,
// so a cancelled, failed or rolled-back delivery leaves its changes for the next run instead of stranding them.
import { type DeployTarget, detectChanges, TIERS, type TierName } from '@tier/cli';

export interface RunningChangeInputs {
  /** The version (image tag, a git sha) each tier runs on the target; undefined when it cannot be read. */
  readonly running: Readonly<Partial<Record<TierName, string>>>;
  /** The commit being delivered (full sha). */
  readonly head: string;
  /** A version as a full commit sha of this clone, or undefined when it is not one. */
  resolve(version: string): string | undefined;
  /** Paths changed between a commit and head. */
  diff(base: string): readonly string[];
  readonly target: DeployTarget;
  /** A manual run: ship every tier that does not run head, whatever the diff says. */
  readonly redeployDiffering?: boolean;
}

export interface RunningChanges {
  readonly tiers: TierName[];
  /** Per tier: why it ships or not. */
  readonly reasons: Record<string, string>;
  /** Infrastructure paths changed since the oldest base. */
  readonly infrastructure: string[];
}

export function changesAgainstRunning(i: RunningChangeInputs): RunningChanges {
  const tiers: TierName[] = [];
  const reasons: Record<string, string> = {};
  const infrastructure = new Set<string>();
  for (const tier of TIERS) {
    const version = i.running[tier];
    const base = version ? i.resolve(version) : undefined;
    if (!version || !base) {
      tiers.push(tier);
      reasons[tier] = `runs ${version ?? 'nothing readable'}, not a commit of this repository: ships`;
      continue;
    }
    if (base === i.head) {
      reasons[tier] = `runs ${version}, the commit being delivered`;
      continue;
    }
    const change = detectChanges(i.diff(base), i.target);
    for (const path of change.infrastructure) infrastructure.add(path);
    if (i.redeployDiffering) {
      tiers.push(tier);
      reasons[tier] = `runs ${version}, not ${i.head.slice(0, 12)}: a manual run redeploys it`;
    } else if (change.tiers.includes(tier)) {
      tiers.push(tier);
      const paths = change.decisions.filter((d) => d.tiers.includes(tier)).map((d) => d.path);
      reasons[tier] = `runs ${version}; changed since: ${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ', …' : ''}`;
    } else reasons[tier] = `runs ${version}; nothing it is built from changed since`;
  }
  return { tiers, reasons, infrastructure: [...infrastructure] };
}

/** Tiers a stage needs that this run does not ship: a later stage lagging behind the first one. */
export function notShipped(change: RunningChanges, shipped: readonly string[]): TierName[] {
  return change.tiers.filter((t) => !shipped.includes(t));
}
