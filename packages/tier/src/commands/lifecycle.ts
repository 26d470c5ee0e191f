// tier up | down | stop <tier> | start <tier>: bring the environment or one tier up and down.
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { renderStatus } from './status.js';

export function registerLifecycle(program: Command, ctx: Context): void {
  program
    .command('up')
    .description('install what is missing, build images, start everything and wait until healthy')
    .action(async () => {
      const backend = await ctx.backend();
      const status = await backend.up(ctx.progress);
      ctx.print(status, () => `${renderStatus(status)}\n\n✔ up in ${(ctx.progress.elapsed() / 1000).toFixed(1)}s`);
    });

  program
    .command('down')
    .description('stop and remove the environment (data volumes are kept unless --volumes)')
    .option('--volumes', 'also delete data, logs, metrics and backups', false)
    .action(async (opts: { volumes: boolean }) => {
      const backend = await ctx.backend();
      await backend.down(ctx.progress, { volumes: opts.volumes });
      ctx.print({ down: true, volumes: opts.volumes }, () =>
        opts.volumes ? '✔ down; volumes deleted' : '✔ down; volumes kept (use --volumes to delete them)',
      );
    });

  program
    .command('stop <tier>')
    .description('stop every replica of a tier (web, api, db, ...)')
    .action(async (tier: string) => {
      await (await ctx.backend()).stop(ctx.progress, tier);
      ctx.print({ stopped: tier }, () => `✔ ${tier} stopped`);
    });

  program
    .command('start <tier>')
    .description('start a stopped tier again')
    .action(async (tier: string) => {
      await (await ctx.backend()).start(ctx.progress, tier);
      ctx.print({ started: tier }, () => `✔ ${tier} started`);
    });
}
