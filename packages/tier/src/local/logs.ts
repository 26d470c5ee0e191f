// tier logs for the local environment: reads the central log store (rsyslog's JSON-lines files
// /var/log/central/tier-YYYY-MM-DD.jsonl on the 'logs' volume) through the log container, filters
// by time, tier, text and request id, and flattens each app line's JSON into the record.
import type { LogQuery } from '../backend.js';
import { TierError } from '../backend.js';
import { serviceContainer } from './containers.js';
import { engineRun, type OpsEnv } from './ops-env.js';

const DIR = '/var/log/central';

/** The day files covering [since, now] (UTC). */
export function dayFiles(since: Date, now = new Date()): string[] {
  const files: string[] = [];
  const day = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate()));
  while (day.getTime() <= now.getTime()) {
    files.push(`${DIR}/tier-${day.toISOString().slice(0, 10)}.jsonl`);
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return files.slice(-31);
}

/** One stored line: the store's envelope plus, when the message is JSON (app logs), its fields. */
export function parseLine(line: string): Record<string, unknown> | undefined {
  let outer: Record<string, unknown>;
  try {
    outer = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { msg, ...envelope } = outer;
  if (typeof msg === 'string' && msg.startsWith('{')) {
    try {
      const inner = JSON.parse(msg) as Record<string, unknown>;
      // The envelope's time and tier (service) win; the app's own fields follow.
      const { time: _t, tier: innerTier, ...fields } = inner;
      return { ...envelope, ...(innerTier && innerTier !== envelope.tier ? { source: innerTier } : {}), ...fields };
    } catch {
      /* not JSON after all: keep the text */
    }
  }
  return { ...envelope, msg };
}

export function matches(record: Record<string, unknown>, raw: string, q: LogQuery, sinceMs: number): boolean {
  const time = Date.parse(String(record.time ?? ''));
  if (Number.isFinite(time) && time < sinceMs) return false;
  // Tiers are compose services: web, api, web-lb, api-lb, edge, db, backup, ...
  if (q.tier && record.tier !== q.tier && record.source !== q.tier) return false;
  if (q.requestId && record.request_id !== q.requestId && !raw.includes(q.requestId)) return false;
  if (q.grep) {
    const text = `${raw}\n${JSON.stringify(record)}`.toLowerCase();
    if (!text.includes(q.grep.toLowerCase())) return false;
  }
  return true;
}

/** The longest run of characters that are stored unescaped (for the coarse in-container grep). */
export function coarse(needle: string | undefined): string | undefined {
  if (!needle) return undefined;
  const words = needle.match(/[A-Za-z0-9._:/ -]+/g) ?? [];
  return words.sort((a, b) => b.length - a.length)[0] || undefined;
}

export async function queryLogs(env: OpsEnv, q: LogQuery): Promise<Record<string, unknown>[]> {
  const store = await serviceContainer(env, 'logs');
  if (!store.running) throw new TierError('the log store is not running', 'start it with `tier start logs`');
  const since = q.since ? new Date(q.since) : new Date(Date.now() - 15 * 60_000);
  const files = dayFiles(since);
  // Narrow in the container first (fixed-string grep; without one, the newest 200 000 lines per day), so only candidate lines cross the socket.
  // App lines are stored JSON-escaped inside the envelope's msg, so the in-container pre-filter uses
  // the needle's longest plain word; the exact match runs on the parsed record below.
  const needle = q.requestId ?? coarse(q.grep);
  // Only the day files that exist (ls drops the others), then a fixed-string grep or the newest lines.
  const script = needle
    ? 'ls -1 "$@" 2>/dev/null | xargs -r grep -hiF -- "$NEEDLE" || true'
    : 'ls -1 "$@" 2>/dev/null | xargs -r tail -q -n 200000 || true';
  const out = await engineRun(
    env,
    ['exec', '-e', `NEEDLE=${needle ?? ''}`, store.name, 'bash', '-c', script, 'logs', ...files],
    {
      timeoutMs: 60_000,
      hint: 'the log store does not answer: `tier status`',
    },
  );
  const sinceMs = since.getTime();
  const found: Record<string, unknown>[] = [];
  for (const raw of out.split('\n')) {
    if (!raw) continue;
    const record = parseLine(raw);
    if (record && matches(record, raw, q, sinceMs)) found.push(record);
  }
  found.sort((a, b) => String(a.time).localeCompare(String(b.time)));
  return found.slice(-(q.limit ?? 200));
}
