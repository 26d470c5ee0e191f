// tier backup now|list|verify and tier restore: backups are only real once a restore is proven.
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { AwsBackend } from '../aws/index.js';
import { type RestoreTarget, TierError } from '../backend.js';
import type { Context } from '../context.js';
import { table } from '../ui/table.js';

export function parseRestoreTarget(opts: { latest?: boolean; backup?: string; time?: string }): RestoreTarget {
  const chosen = [opts.latest, opts.backup, opts.time].filter((v) => v !== undefined && v !== false);
  if (chosen.length !== 1) {
    throw new TierError('choose exactly one restore point', 'use --latest, --backup ID or --time 2026-01-31T12:00:00Z');
  }
  if (opts.time !== undefined) {
    if (Number.isNaN(Date.parse(opts.time))) {
      throw new TierError(`cannot read time '${opts.time}'`, 'use ISO-8601, e.g. 2026-01-31T12:00:00Z');
    }
    return { time: new Date(opts.time).toISOString() };
  }
  if (opts.backup !== undefined) return { backupId: opts.backup };
  return { latest: true };
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

export function registerBackup(program: Command, ctx: Context): void {
  const backup = program.command('backup').description('database backups: now, list, verify');

  backup
    .command('now')
    .description('take a backup now')
    .action(async () => {
      const info = await (await ctx.backend()).backupNow(ctx.progress);
      ctx.print(info, () => `✔ backup ${info.id} taken`);
    });

  backup
    .command('list')
    .description('list backups (oldest first)')
    .action(async () => {
      const list = await (await ctx.backend()).backupList();
      ctx.print(list, () => table([...list], ['id', 'type', 'startedAt', 'finishedAt', 'sizeBytes']));
    });

  backup
    .command('verify')
    .description('restore the latest backup into a scratch database and check it')
    .action(async () => {
      const result = await (await ctx.backend()).backupVerify(ctx.progress);
      ctx.print(result, () => `✔ backup ${result.backup.id} restores: ${result.rows} guestbook rows`);
    });

  program
    .command('restore')
    .description(
      'restore the database: locally in place after a safety backup; on AWS into a new instance that is verified, then switched to',
    )
    .option('--latest', 'the latest backup')
    .option('--backup <id>', 'a backup from `tier backup list`')
    .option('--time <iso>', 'a point in time (WAL replay)')
    .option('--resume', 'aws: continue the restore that stopped (its state is kept in SSM)')
    .option('--dry-run', 'aws: print the steps and change nothing')
    .option('--yes', 'do not ask for confirmation', false)
    .action(
      async (opts: {
        latest?: boolean;
        backup?: string;
        time?: string;
        resume?: boolean;
        dryRun?: boolean;
        yes: boolean;
      }) => {
        const aws = ctx.options().target === 'aws';
        if (!aws && (opts.resume || opts.dryRun)) {
          throw new TierError(
            '--resume and --dry-run are for --target aws',
            'a local restore runs in one go: drop them',
          );
        }
        const target = opts.resume && !opts.latest && !opts.backup && !opts.time ? undefined : parseRestoreTarget(opts);
        // Locally the live database is overwritten; on AWS the application is switched to a restored copy. Either
        // way writes after the restore point are gone from what the application sees.
        const question = aws
          ? 'This switches the application to the restored copy (writes after the restore point are not in it). Continue?'
          : 'This overwrites the live database. Continue?';
        if (!opts.dryRun && !opts.yes && !(await confirm(question))) {
          throw new TierError('restore not confirmed', 'answer y at the prompt, or pass --yes when not on a terminal');
        }
        const backend = await ctx.backend();
        if (aws) {
          const state = await (backend as unknown as AwsBackend).restoreDatabase(ctx.progress, {
            target,
            resume: opts.resume,
            dryRun: opts.dryRun,
          });
          ctx.print(state, () =>
            opts.dryRun ? `dry run: would restore into ${state.newId}` : `✔ ${state.newId} is the live database`,
          );
          return;
        }
        await backend.restore(ctx.progress, target ?? { latest: true });
        ctx.print({ restored: target }, () => `✔ restored to ${JSON.stringify(target)}`);
      },
    );
}
