// tier scale web=N api=M: change replica counts without downtime.
import type { Command } from 'commander';
import { TIERS, TierError, type TierName } from '../backend.js';
import type { Context } from '../context.js';

export function parseScaleArgs(args: string[]): Partial<Record<TierName, number>> {
  if (args.length === 0) throw new TierError('nothing to scale', 'example: tier scale web=3 api=2');
  const counts: Partial<Record<TierName, number>> = {};
  for (const arg of args) {
    const match = /^([a-z]+)=(\d+)$/.exec(arg);
    if (!match) throw new TierError(`cannot read '${arg}'`, 'write TIER=COUNT, for example web=3');
    const [, tier, count] = match as unknown as [string, string, string];
    if (!TIERS.includes(tier as TierName)) throw new TierError(`unknown tier '${tier}'`, `use ${TIERS.join(' or ')}`);
    const n = Number(count);
    if (n < 1 || n > 50) {
      throw new TierError(`${tier}=${n} is out of range`, 'use 1 to 50 replicas (`tier stop <tier>` stops a tier)');
    }
    counts[tier as TierName] = n;
  }
  return counts;
}

export function registerScale(program: Command, ctx: Context): void {
  program
    .command('scale <tier=count...>')
    .description('set replica counts, e.g. `tier scale web=4 api=3`')
    .action(async (args: string[]) => {
      const counts = parseScaleArgs(args);
      await (await ctx.backend()).scale(ctx.progress, counts);
      ctx.print(
        counts,
        () =>
          `✔ scaled ${Object.entries(counts)
            .map(([t, n]) => `${t}=${n}`)
            .join(' ')}`,
      );
    });
}
