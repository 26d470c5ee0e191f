// Reads bench/results/*.json into flat, classified figures (throughput, latency, rollout, failover, ...) with machine and date.
// The benchmark files are written by another part of the repository; this reader keeps to what any of them can hold
// (numbers under descriptive keys, optional machine/date fields) and never makes up a value.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

export type Category = 'throughput' | 'latency' | 'rollout' | 'failover' | 'backup' | 'pipeline' | 'failures' | 'other';

export const CATEGORY_TITLES: Readonly<Record<Category, string>> = {
  throughput: 'Throughput',
  latency: 'Latency',
  rollout: 'Rollout (deploy)',
  failover: 'Failover and replacement',
  backup: 'Backup and restore',
  pipeline: 'Pipeline',
  failures: 'Failed requests',
  other: 'Other figures',
};

export interface Figure {
  /** Result file name without .json. */
  readonly source: string;
  /** Path of the value inside the file, e.g. `web.p99_ms`. */
  readonly path: string;
  readonly value: number;
  readonly unit: string;
  readonly category: Category;
}

export interface ResultFile {
  readonly source: string;
  readonly title: string;
  readonly machine: string;
  readonly date: string;
  readonly figures: readonly Figure[];
}

const MACHINE_KEYS = ['machine', 'host', 'system', 'environment', 'env'];
const DATE_KEYS = [
  'date',
  'timestamp',
  'generatedAt',
  'generated_at',
  'startedAt',
  'started_at',
  'finishedAt',
  'at',
  'time',
  'when',
];
const TITLE_KEYS = ['title', 'name', 'benchmark', 'scenario'];

/** `reqPerSec` -> `req_per_sec`, `p99Ms` -> `p99_ms`: one spelling for the patterns below. */
const normalise = (path: string) => path.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** Keys that hold settings, goals or raw samples, not results. */
const NOT_FIGURES = new Set(['settings', 'config', 'targets', 'target', 'goals', 'runs', 'samples', 'raw', 'command']);

/** Unit from the key's suffix or words; '' when the key does not say. */
export function unitOf(path: string): string {
  const key = normalise(path);
  if (/(^|[._])(rps|req_per_s|requests_per_s(ec(ond)?)?|throughput)([._]|$)|per_?s(ec)?$|persecond/.test(key))
    return 'req/s';
  if (/(_|\.|^)ms$|millis|_ms_|latency_?ms/.test(key)) return 'ms';
  if (/(_|\.|^)(s|sec|secs|seconds)$/.test(key)) return 's';
  if (/bytes$/.test(key)) return 'bytes';
  if (/(_|\.|^)(mb|mib)$/.test(key)) return 'MiB';
  if (/percent|pct|ratio|rate$/.test(key)) return key.includes('ratio') ? 'ratio' : '%';
  if (/count|failed|errors|requests|rows|replicas|total|non_?2xx|n$/.test(key)) return 'count';
  return '';
}

/** Category from the words in the path (first match wins, most specific first). */
export function categoryOf(path: string): Category {
  const key = normalise(path);
  if (/fail(ed|ures)?(_|\.|$)|errors?(_|\.|$)|non_?2xx|5xx|dropped/.test(key) && !/failover/.test(key))
    return 'failures';
  if (/pipeline|stage|commit_to|live_in/.test(key)) return 'pipeline';
  if (/rollout|deploy|rollback/.test(key)) return 'rollout';
  if (/failover|replace|replacement|kill|restart|recover|hung|sigstop|takeover/.test(key)) return 'failover';
  if (/backup|restore|rpo|restore_point|wal|pitr/.test(key)) return 'backup';
  if (/latency|p50|p90|p95|p99|p999|median|mean_ms|avg_ms|duration_ms/.test(key)) return 'latency';
  if (/rps|throughput|req_per|requests_per|per_s/.test(key)) return 'throughput';
  return 'other';
}

function findString(obj: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = obj[k];
    if (typeof v === 'string' && v.trim()) return v;
    if (typeof v === 'number' && k !== 'name') return new Date(v > 1e12 ? v : v * 1000).toISOString();
  }
  return undefined;
}

/** A short human description of a machine object (cpus, model, memory, os, node). */
export function describeMachine(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return 'not recorded';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null || typeof v === 'object') continue;
    parts.push(`${k}: ${String(v)}`);
  }
  return parts.length > 0 ? parts.join(', ') : 'not recorded';
}

function flatten(value: unknown, path: string, out: [string, number][]): void {
  if (typeof value === 'number' && Number.isFinite(value)) {
    out.push([path, value]);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const label =
        item && typeof item === 'object'
          ? findString(item as Record<string, unknown>, ['name', 'tier', 'stage', 'scenario', 'label'])
          : undefined;
      flatten(item, path ? `${path}.${label ?? i}` : (label ?? String(i)), out);
    });
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (MACHINE_KEYS.includes(k) || DATE_KEYS.includes(k) || NOT_FIGURES.has(k)) continue;
      flatten(v, path ? `${path}.${k}` : k, out);
    }
  }
}

/** Parses one result file's JSON; throws with the file name on malformed input. */
export function parseResult(source: string, text: string): ResultFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`bench result ${source}.json is not valid JSON: ${(err as Error).message}`);
  }
  const obj =
    data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : { results: data };
  const machineKey = MACHINE_KEYS.find((k) => k in obj);
  const pairs: [string, number][] = [];
  flatten(obj, '', pairs);
  return {
    source,
    title: findString(obj, TITLE_KEYS) ?? source,
    machine: machineKey ? describeMachine(obj[machineKey]) : 'not recorded',
    date:
      findString(obj, DATE_KEYS) ??
      (machineKey && obj[machineKey] && typeof obj[machineKey] === 'object'
        ? findString(obj[machineKey] as Record<string, unknown>, DATE_KEYS)
        : undefined) ??
      'not recorded',
    figures: pairs.map(([path, value]) => ({
      source,
      path,
      value,
      unit: unitOf(path),
      category: categoryOf(`${source}.${path}`),
    })),
  };
}

/** Every *.json in the results folder, sorted by name; an absent folder means "not yet measured". */
export async function loadResults(dir: string): Promise<ResultFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return Promise.all(names.map(async (n) => parseResult(basename(n, '.json'), await readFile(join(dir, n), 'utf8'))));
}

/** Formats a figure for tables: integers plain, others with 2-3 significant decimals. */
export function formatValue(value: number, unit: string): string {
  const digits = Number.isInteger(value) ? 0 : Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit && unit !== 'count' ? `${text} ${unit}` : text;
}
