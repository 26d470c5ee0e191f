// tier logs [tier]: query the central log store.
import type { Command } from 'commander';
import { TierError } from '../backend.js';
import type { Context } from '../context.js';

/** Accepts a duration (30s, 15m, 2h, 1d) or an ISO time; returns an ISO time. */
export function parseSince(value: string, now = Date.now()): string {
  const match = /^(\d+)(s|m|h|d)$/.exec(value);
  if (match) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(match[1]) * unit * 1000).toISOString();
  }
  if (!Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  throw new TierError(`cannot read --since '${value}'`, 'use a duration like 15m or 2h, or an ISO time');
}

export function registerLogs(program: Command, ctx: Context): void {
  program
    .command('logs [tier]')
    .description('search the central log store (every tier, balancers, edge, db)')
    .option('--since <when>', 'duration (15m, 2h) or ISO time', '15m')
    .option('--grep <text>', 'only lines containing this text')
    .option('--request-id <id>', 'only lines of one request, across tiers')
    .option('--limit <n>', 'at most this many lines (newest kept)', '200')
    .action(
      async (tier: string | undefined, opts: { since: string; grep?: string; requestId?: string; limit: string }) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new TierError('--limit must be a positive integer');
        const since = parseSince(opts.since);
        const lines = await (await ctx.backend()).logs({
          tier,
          since,
          grep: opts.grep,
          requestId: opts.requestId,
          limit,
        });
        ctx.print(lines, () =>
          lines.length === 0
            ? 'no matching log lines'
            : lines
                .map((l) => {
                  const { time, tier: t, container, msg, ...rest } = l as Record<string, unknown>;
                  return `${String(time ?? '')} ${String(t ?? '')} ${String(container ?? '')} ${String(msg ?? '')} ${JSON.stringify(rest)}`;
                })
                .join('\n'),
        );
      },
    );
}
