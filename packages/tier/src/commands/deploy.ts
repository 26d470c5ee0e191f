// tier deploy | rollback | history: zero-downtime rollouts and their record.
import type { Command } from 'commander';
import type { DeployRecord } from '../backend.js';
import { type Context, parseTiers } from '../context.js';
import { table } from '../ui/table.js';

function renderRecords(records: DeployRecord[]): string {
  return table(
    records.map((r) => ({
      ...r,
      duration: `${((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)}s`,
    })),
    ['tier', 'previousVersion', 'version', 'outcome', 'duration', 'finishedAt', 'detail'],
  );
}

export function registerDeploy(program: Command, ctx: Context): void {
  program
    .command('deploy')
    .description('roll out a version start-first, one replica at a time; rolls back by itself on failure')
    .option(
      '--version <version>',
      'version (image tag) to deploy; locally the default builds the working tree, on AWS it is required',
    )
    .option('--tier <tier...>', 'web and/or api (default: both)')
    .action(async (opts: { version?: string; tier?: string[] }) => {
      const tiers = parseTiers(opts.tier);
      const records = await (await ctx.backend()).deploy(ctx.progress, { version: opts.version, tiers });
      const failed = records.filter((r) => r.outcome !== 'succeeded');
      ctx.print(records, () => `${renderRecords(records)}\n\n${failed.length ? '✖' : '✔'} deploy ${summary(records)}`);
      if (failed.length) process.exitCode = 1;
    });

  program
    .command('rollback')
    .description('roll back to the previously deployed version')
    .option('--tier <tier...>', 'web and/or api (default: both)')
    .action(async (opts: { tier?: string[] }) => {
      const records = await (await ctx.backend()).rollback(ctx.progress, { tiers: parseTiers(opts.tier) });
      // A rollback that did not land (failed, or undone by the platform) leaves an unknown version serving.
      const failed = records.filter((r) => r.outcome !== 'succeeded');
      ctx.print(
        records,
        () => `${renderRecords(records)}\n\n${failed.length ? '✖' : '✔'} rollback ${summary(records)}`,
      );
      if (failed.length) process.exitCode = 1;
    });

  program
    .command('history')
    .description('deployments: version, time, outcome')
    .action(async () => {
      const records = await (await ctx.backend()).history();
      ctx.print(records, () => renderRecords(records));
    });
}

function summary(records: DeployRecord[]): string {
  return records.map((r) => `${r.tier} ${r.previousVersion} -> ${r.version}: ${r.outcome}`).join('; ');
}
