// tier reload lb|web-lb|api-lb|edge|metrics: apply a changed infrastructure configuration hitlessly.
import type { Command } from 'commander';
import { TierError } from '../backend.js';
import type { Context } from '../context.js';

const WHAT = ['lb', 'web-lb', 'api-lb', 'edge', 'metrics'] as const;

export function registerReload(program: Command, ctx: Context): void {
  program
    .command('reload <what>')
    .description(`apply changed configuration without dropping requests: ${WHAT.join(', ')}`)
    .action(async (what: string) => {
      if (!WHAT.includes(what as (typeof WHAT)[number])) {
        throw new TierError(`cannot reload '${what}'`, `use one of: ${WHAT.join(', ')}`);
      }
      const local = await ctx.localOperations(
        new TierError(
          '`tier reload` applies to the local environment',
          'on AWS, configuration changes ship with `cdk deploy`',
        ),
      );
      await local.reload(ctx.progress, what as (typeof WHAT)[number]);
      ctx.print({ reloaded: what }, () => `✔ ${what} reloaded`);
    });
}
