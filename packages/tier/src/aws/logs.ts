// tier logs on AWS: one CloudWatch Logs Insights query across the tiers' log groups, bounded in time.
import {
  GetQueryResultsCommand,
  type ResultField,
  StartQueryCommand,
  StopQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { type LogQuery, TIERS, TierError, type TierName } from '../backend.js';
import { type AwsContext, parseTierArg } from './context.js';
import { callAws } from './errors.js';
import { logGroupOutputKey, need } from './outputs.js';

export const DEFAULT_SINCE_MS = 60 * 60_000;
/** Insights bills by bytes scanned; a week is plenty for incident work and keeps a typo from scanning months. */
export const MAX_SINCE_MS = 7 * 86_400_000;
const MAX_LIMIT = 10_000;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A string literal for a Logs Insights query: the user's text can never end the literal early. */
function literal(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function buildQuery(q: { grep?: string; requestId?: string; limit: number }): string {
  const lines = ['fields @timestamp, @message, @log, @logStream'];
  // request_id is a field of every JSON log line (docs/conventions.md); Insights discovers it by itself.
  if (q.requestId !== undefined) lines.push(`filter request_id = ${literal(q.requestId)}`);
  if (q.grep !== undefined) lines.push(`filter @message like ${literal(q.grep)}`);
  lines.push('sort @timestamp desc', `limit ${q.limit}`);
  return lines.join('\n| ');
}

/** `2026-01-31 12:00:00.123` (UTC, as Insights prints it) -> ISO-8601. */
function isoTimestamp(value: string): string {
  const t = Date.parse(`${value.replace(' ', 'T')}Z`);
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}

function toRecord(row: ResultField[], tierOfGroup: Map<string, string>): Record<string, unknown> {
  const field = (name: string) => row.find((f) => f.field === name)?.value ?? '';
  const group = field('@log').replace(/^\d{12}:/, '');
  const message = field('@message');
  let parsed: Record<string, unknown> | undefined;
  try {
    const value: unknown = JSON.parse(message);
    if (value && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
  } catch {
    // Not JSON (e.g. the PostgreSQL log): keep the line as the message.
  }
  return {
    ...(parsed ?? { msg: message }),
    time: isoTimestamp(field('@timestamp')),
    tier: parsed?.tier ?? tierOfGroup.get(group) ?? group,
    container: field('@logStream').split('/').pop() ?? '',
  };
}

export async function logs(ctx: AwsContext, query: LogQuery): Promise<Record<string, unknown>[]> {
  const now = ctx.now();
  const since = query.since === undefined ? now - DEFAULT_SINCE_MS : Date.parse(query.since);
  if (Number.isNaN(since) || since > now) {
    throw new TierError(`cannot search logs since '${query.since}'`, 'use a past time or a duration like 15m');
  }
  if (now - since > MAX_SINCE_MS) {
    throw new TierError(
      'logs on AWS search at most the last 7 days',
      'use --since 7d or less, or CloudWatch Logs Insights in the console',
    );
  }
  if (query.requestId !== undefined && !REQUEST_ID.test(query.requestId)) {
    throw new TierError(`'${query.requestId}' is not a request id`, 'copy it from the x-request-id response header');
  }
  const limit = Math.min(Math.max(1, Math.floor(query.limit ?? 200)), MAX_LIMIT);

  const out = await ctx.outputs();
  const tiers: (TierName | 'db')[] =
    query.tier === undefined ? [...TIERS] : [parseTierArg(query.tier, [...TIERS, 'db'] as const)];
  const tierOfGroup = new Map<string, string>();
  for (const tier of tiers) {
    const group =
      tier === 'db'
        ? // RDS log export names the group after the instance.
          `/aws/rds/instance/${need(out.dbInstanceIdentifier, 'DbInstanceId', out)}/postgresql`
        : need(out.logGroups[tier], logGroupOutputKey(tier), out);
    tierOfGroup.set(group, tier);
  }

  const started = await callAws('logs:StartQuery', () =>
    ctx.clients.logs.send(
      new StartQueryCommand({
        logGroupNames: [...tierOfGroup.keys()],
        startTime: Math.floor(since / 1000),
        endTime: Math.ceil(now / 1000),
        queryString: buildQuery({ grep: query.grep, requestId: query.requestId, limit }),
        limit,
      }),
    ),
  );
  const queryId = started.queryId ?? '';
  const deadline = ctx.now() + ctx.queryTimeoutMs;
  for (;;) {
    const result = await callAws('logs:GetQueryResults', () =>
      ctx.clients.logs.send(new GetQueryResultsCommand({ queryId })),
    );
    if (result.status === 'Complete') {
      // Newest were kept by the query; print them oldest first, like a log tail.
      return (result.results ?? []).map((row) => toRecord(row, tierOfGroup)).reverse();
    }
    if (result.status === 'Failed' || result.status === 'Cancelled' || result.status === 'Timeout') {
      throw new TierError(`the log query ended ${result.status}`, 'narrow it with --since, a tier or --grep and retry');
    }
    if (ctx.now() > deadline) {
      await callAws('logs:StopQuery', () => ctx.clients.logs.send(new StopQueryCommand({ queryId }))).catch(() => {});
      throw new TierError(
        `the log query did not finish within ${Math.round(ctx.queryTimeoutMs / 1000)}s`,
        'narrow it with a shorter --since, a tier, --grep or --request-id',
      );
    }
    await ctx.sleep(Math.min(ctx.pollIntervalMs, 1000));
  }
}
