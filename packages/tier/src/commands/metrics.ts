// tier metrics: request rate, error rate and latency per tier from the metrics history.
import type { Command } from 'commander';
import { TierError } from '../backend.js';
import type { Context } from '../context.js';
import { sparkline, table } from '../ui/table.js';

export function parseWindow(value: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(value);
  if (!match) throw new TierError(`cannot read --window '${value}'`, 'use a duration like 5m, 1h or 90s');
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
  if (seconds < 30 || seconds > 15 * 86400) throw new TierError('--window must be between 30s and 15 days');
  return seconds;
}

export function registerMetrics(program: Command, ctx: Context): void {
  program
    .command('metrics')
    .description('request rate, error rate, p50/p99 latency per tier over a window, with a chart')
    .option('--window <duration>', 'how far back to look', '5m')
    .action(async (opts: { window: string }) => {
      const windowSeconds = parseWindow(opts.window);
      const rows = await (await ctx.backend()).metrics({ windowSeconds });
      ctx.print(rows, () =>
        table(
          rows.map((r) => ({
            tier: r.tier,
            'req/s': r.requestRate,
            'errors %': r.errorRate * 100,
            'p50 ms': r.p50Ms,
            'p99 ms': r.p99Ms,
            [`req/s over ${opts.window}`]: sparkline(r.series),
          })),
        ),
      );
    });
}
