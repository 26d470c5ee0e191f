// tier deploy | rollback | history: zero-downtime rollouts and their record.
import { type Command, InvalidArgumentError } from 'commander';
import { type CanaryOptions, type DeployRecord, TierError } from '../backend.js';
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

/** `10`, `10%` or `2.5%`: the canary's share of the requests. */
export function parsePercent(value: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(value.trim());
  const n = m ? Number(m[1]) : Number.NaN;
  if (!(n > 0 && n < 100)) throw new InvalidArgumentError('a share of the requests above 0 and below 100, e.g. 10%');
  return n;
}

/** `60s`, `2m`, `1m30s` or plain seconds (`90`): the bake. */
export function parseDuration(value: string): number {
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!text || parts.map((p) => p[0]).join('') !== text)
    throw new InvalidArgumentError('a duration such as 60s, 2m or 1m30s');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  return parts.reduce((ms, p) => ms + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
}

/** `1.5`: the canary's p99 against the old version's. */
export function parseRatio(value: string): number {
  const n = Number(value.trim());
  if (!(Number.isFinite(n) && n >= 1)) throw new InvalidArgumentError('a ratio of 1 or more, e.g. 1.5');
  return n;
}

/**
 * Ctrl-C (or SIGTERM) while a canary deploy runs aborts it, so the canary is removed and the old
 * version kept; a second one ends the process at once (the canary may then be left running).
 */
async function withInterrupt<T>(ctx: Context, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
    ctx.progress.warn('interrupted: putting the old version back (Ctrl-C again to stop at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await run(interrupt.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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
    .option(
      '--canary <percent>',
      'first one new replica takes this share of the requests (e.g. 10%) and is judged on its 5xx rate and p99 latency against the old replicas; removed by itself if it fails (local target)',
      parsePercent,
    )
    .option('--bake <duration>', 'how long the canary is judged before the rest rolls (default: 60s)', parseDuration)
    .option(
      '--max-p99-ratio <ratio>',
      "the canary fails when its p99 over the bake (from the replicas' request-duration histograms) is above this many times the old replicas' and 50 ms above it (default: 1.5)",
      parseRatio,
    )
    .option(
      '--max-p99 <duration>',
      'the canary fails when its p99 over the bake is above this (e.g. 250ms)',
      parseDuration,
    )
    .action(
      async (opts: {
        version?: string;
        tier?: string[];
        canary?: number;
        bake?: number;
        maxP99Ratio?: number;
        maxP99?: number;
      }) => {
        const tiers = parseTiers(opts.tier);
        for (const [flag, value] of [
          ['--bake', opts.bake],
          ['--max-p99-ratio', opts.maxP99Ratio],
          ['--max-p99', opts.maxP99],
        ] as const) {
          if (value !== undefined && opts.canary === undefined) {
            throw new TierError(`${flag} judges a canary`, 'add --canary <percent>, e.g. `--canary 10% --bake 60s`');
          }
        }
        const canary: CanaryOptions | undefined =
          opts.canary === undefined
            ? undefined
            : { percent: opts.canary, bakeMs: opts.bake, maxP99Ratio: opts.maxP99Ratio, maxP99Ms: opts.maxP99 };
        const backend = await ctx.backend();
        const records = canary
          ? await withInterrupt(ctx, (signal) =>
              backend.deploy(ctx.progress, { version: opts.version, tiers, canary, signal }),
            )
          : await backend.deploy(ctx.progress, { version: opts.version, tiers });
        const failed = records.filter((r) => r.outcome !== 'succeeded');
        ctx.print(
          records,
          () => `${renderRecords(records)}\n\n${failed.length ? '✖' : '✔'} deploy ${summary(records)}`,
        );
        if (failed.length) process.exitCode = 1;
      },
    );

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
