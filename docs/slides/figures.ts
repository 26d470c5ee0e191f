// The figures slide: a few measured figures with human labels, each read from its bench/results file with that
// run's date and machine. A figure whose file or field is missing says "not yet measured"; nothing is typed here.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, unknown>;

export interface SlideFigure {
  readonly what: string;
  readonly goal: string;
  readonly source: string;
  /** The measured value as shown, or undefined when the source does not hold it. */
  readonly read: (source: Source) => string | undefined;
}

export interface Source {
  readonly json?: Json;
  readonly text?: string;
}

interface Run {
  readonly date: string;
  readonly machine: string;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const fmt = (v: number, unit = '') =>
  `${v.toLocaleString('en-US', { maximumFractionDigits: v >= 100 ? 0 : 1 })}${unit}`;
const byKey = (list: unknown, key: string, value: string) =>
  Array.isArray(list) ? (list.find((x) => (x as Json)?.[key] === value) as Json | undefined) : undefined;

function appTarget(s: Source, name: string): Json | undefined {
  return byKey(s.json?.results, 'name', name);
}

/** A markdown table row by its first cell, split into cells. */
function mdRow(text: string | undefined, first: RegExp): string[] | undefined {
  for (const line of (text ?? '').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length > 2 && first.test(cells[1]!)) return cells.slice(1, -1);
  }
  return undefined;
}

function rollout(s: Source, tier: string): string | undefined {
  const r = byKey(s.json?.rollouts, 'tier', tier);
  const d = num(r?.durationS);
  const load = r?.load as Json | undefined;
  if (d === undefined || num(load?.failed) === undefined) return undefined;
  return `${fmt(d, ' s')}, ${fmt(num(load?.failed)!)} failed of ${fmt(num(load?.requests) ?? 0)}`;
}

export const SLIDE_FIGURES: readonly SlideFigure[] = [
  {
    what: 'API `GET /api/status`, 32 connections',
    goal: '>= 100x the original app',
    source: 'app.json',
    read: (s) => {
      const t = appTarget(s, 'api: GET /api/status');
      const rps = num(t?.reqPerSec);
      const original = num((s.json?.original as Json | undefined)?.scram);
      if (rps === undefined) return undefined;
      return `${fmt(rps)} req/s${original ? ` (${Math.round(rps / original)}x)` : ''}, p99 ${t?.p99Ms} ms`;
    },
  },
  {
    what: 'API vs a bare node:http + pg server',
    goal: '>= 70 %',
    source: 'app.json',
    read: (s) => {
      const api = num(appTarget(s, 'api: GET /api/status')?.reqPerSec);
      const ceiling = num(appTarget(s, 'ceiling: node:http + pg, SELECT now()')?.reqPerSec);
      return api && ceiling ? `${Math.round((api / ceiling) * 100)} %` : undefined;
    },
  },
  {
    what: 'Web page `GET /`, 32 connections',
    goal: '-',
    source: 'app.json',
    read: (s) => {
      const t = appTarget(s, 'web: GET /');
      return num(t?.reqPerSec) === undefined ? undefined : `${fmt(num(t?.reqPerSec)!)} req/s, p99 ${t?.p99Ms} ms`;
    },
  },
  {
    what: 'Rollout, api tier (2 replicas) under load',
    goal: '< 30 s, 0 failed',
    source: 'ops.json',
    read: (s) => rollout(s, 'api'),
  },
  {
    what: 'Rollout, web tier (2 replicas) under load',
    goal: '< 30 s, 0 failed',
    source: 'ops.json',
    read: (s) => rollout(s, 'web'),
  },
  {
    what: 'Killed replica replaced (web, api)',
    goal: '< 10 s, 0 failed',
    source: 'ops.json',
    read: (s) => {
      const web = byKey(s.json?.failovers, 'tier', 'web');
      const api = byKey(s.json?.failovers, 'tier', 'api');
      const failed = [web, api].map((f) => num((f?.load as Json | undefined)?.failed));
      if (num(web?.replaceS) === undefined || num(api?.replaceS) === undefined || failed.includes(undefined))
        return undefined;
      return `${fmt(num(web?.replaceS)!, ' s')}, ${fmt(num(api?.replaceS)!, ' s')}; ${failed.reduce((a, b) => a! + b!, 0)} failed`;
    },
  },
  {
    what: 'Frozen replicas (SIGSTOP) at 120 req/s',
    goal: '0 failed',
    source: 'failure-handling.md',
    read: (s) => {
      const row = mdRow(s.text, /frozen \(SIGSTOP\)/);
      return row ? `${row[2]} failed of ${row[1]}` : undefined;
    },
  },
  {
    what: 'Database restart under load',
    goal: 'only 200 or 503, never 500',
    source: 'ops.json',
    read: (s) => {
      const r = s.json?.dbRestart as Json | undefined;
      const load = r?.load as Json | undefined;
      const by = load?.byStatus as Json | undefined;
      if (num(r?.downtimeS) === undefined || num(load?.failed) === undefined) return undefined;
      return `${fmt(num(r?.downtimeS)!, ' s')} down, ${num(by?.['503']) ?? 0} x 503, ${num(load?.failed)} failed`;
    },
  },
  {
    what: 'Restore of 100,000 rows (safety backup included)',
    goal: '< 30 s',
    source: 'ops.json',
    read: (s) => {
      const b = s.json?.backupRestore as Json | undefined;
      return num(b?.restoreTotalS) === undefined || b?.restored !== b?.rows
        ? undefined
        : `${fmt(num(b?.restoreTotalS)!, ' s')}, ${fmt(num(b?.restored)!)} rows back`;
    },
  },
  {
    what: 'Restore point: a write is archived after',
    goal: '<= 60 s (RPO)',
    source: 'ops.json',
    read: (s) => {
      const v = num((s.json?.restorePoint as Json | undefined)?.archivedAfterS);
      return v === undefined ? undefined : fmt(v, ' s');
    },
  },
  {
    what: 'Web-only change live via `tier pipeline`',
    goal: '< 2 min',
    source: 'pipeline.md',
    read: (s) => mdRow(s.text, /^web-only change, end to end$/)?.[2],
  },
];

function runOf(name: string, s: Source): Run {
  const j = s.json;
  if (j) {
    const machine = (j.machine ?? {}) as Json;
    const date = String(machine.date ?? j.measuredAt ?? j.date ?? 'date not recorded').slice(0, 10);
    const cores = machine.cores ?? machine.cpus;
    const what = [machine.cpuModel, cores ? `${cores} cores` : undefined].filter(Boolean).join(' ');
    return { date, machine: what || 'machine not recorded' };
  }
  const text = s.text ?? '';
  const date = /\b(\d{4}-\d{2}-\d{2})\b/.exec(text)?.[1] ?? 'date not recorded';
  const cores = /(\d+)-core/.exec(text)?.[1];
  return { date, machine: cores ? `${cores} cores` : `machine in ${name}` };
}

export function loadSources(dir: string): Map<string, Source> {
  const sources = new Map<string, Source>();
  for (const name of new Set(SLIDE_FIGURES.map((f) => f.source))) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    sources.set(name, name.endsWith('.json') ? { json: JSON.parse(text) as Json } : { text });
  }
  return sources;
}

export interface FigureRow {
  readonly what: string;
  readonly measured: string | undefined;
  readonly goal: string;
  readonly source: string;
  readonly run: Run | undefined;
}

export function figureRows(dir: string): FigureRow[] {
  const sources = loadSources(dir);
  return SLIDE_FIGURES.map((f) => {
    const s = sources.get(f.source);
    return { what: f.what, goal: f.goal, source: f.source, measured: s && f.read(s), run: s && runOf(f.source, s) };
  });
}

/** The figures slide's table: what, measured, goal, and the run (file, date, machine) it comes from. */
export function figuresSlide(dir: string): string {
  const rows = ['| what | measured | goal | run |', '|---|---|---|---|'];
  for (const r of figureRows(dir)) {
    const run = r.run ? `${r.source} ${r.run.date}, ${r.run.machine}` : `${r.source}: no such file`;
    rows.push(`| ${r.what} | ${r.measured ? `**${r.measured}**` : '**not yet measured**'} | ${r.goal} | ${run} |`);
  }
  return rows.join('\n');
}
