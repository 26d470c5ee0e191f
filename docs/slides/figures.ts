// The deck's measured figures, each read from bench/results with that run's date and machine: the figures slide's
// table, and `[[figure:<id>]]` anywhere in deck.md (slides and speaker notes). Nothing measured is typed into the deck.
// A figure several result files measure (a db restart is in ops.json and failure-handling.md) comes from the newest
// file that holds it, so a later run is never hidden behind an older one; a figure no file holds is "not yet measured".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, unknown>;

export interface Source {
  readonly json?: Json;
  readonly text?: string;
}

export interface FigureSource {
  /** A file in bench/results. */
  readonly file: string;
  /** The measured value as shown, or undefined when this file does not hold it. */
  readonly read: (source: Source) => string | undefined;
}

export interface SlideFigure {
  /** Named in deck.md as `[[figure:<id>]]`. */
  readonly id: string;
  readonly what: string;
  readonly goal: string;
  /** Every result file that measures it; the newest that holds it wins. */
  readonly from: readonly FigureSource[];
  /** A row of the figures slide's table. @default true */
  readonly inTable?: boolean;
}

export interface Run {
  /** YYYY-MM-DD, or "date not recorded". */
  readonly date: string;
  /** As precise as the file records it (ISO date and time), for ordering runs. */
  readonly at: string;
  readonly machine: string;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const fmt = (v: number, unit = '') =>
  `${v.toLocaleString('en-US', { maximumFractionDigits: v >= 100 ? 0 : 1 })}${unit}`;
const byKey = (list: unknown, key: string, value: string) =>
  Array.isArray(list) ? (list.find((x) => (x as Json)?.[key] === value) as Json | undefined) : undefined;
/** "2 177 (998 × 503)" -> 2177: the markdown files group thousands with spaces. */
const leadingNumber = (cell: string | undefined) => {
  const m = /^\s*(\d[\d ,]*(?:\.\d+)?)/.exec(cell ?? '');
  return m ? Number(m[1]!.replace(/[ ,]/g, '')) : undefined;
};

function appTarget(s: Source, name: string): Json | undefined {
  return byKey(s.json?.results, 'name', name);
}

/** Markdown table rows whose first cell matches, split into cells. */
function mdRows(text: string | undefined, first: RegExp): string[][] {
  const rows: string[][] = [];
  for (const line of (text ?? '').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length > 2 && first.test(cells[1]!)) rows.push(cells.slice(1, -1));
  }
  return rows;
}
const mdRow = (text: string | undefined, first: RegExp) => mdRows(text, first)[0];

function rollout(s: Source, tier: string): string | undefined {
  const r = byKey(s.json?.rollouts, 'tier', tier);
  const d = num(r?.durationS);
  const load = r?.load as Json | undefined;
  if (d === undefined || num(load?.failed) === undefined) return undefined;
  return `${fmt(d, ' s')}, ${fmt(num(load?.failed)!)} failed of ${fmt(num(load?.requests) ?? 0)}`;
}

/** A row of local.md's throughput table: path and via (edge or direct). */
function localPath(s: Source, path: string, via: RegExp): string | undefined {
  const row = mdRows(s.text, new RegExp(`^${path.replace(/\//g, '\\/')}$`)).find((r) => via.test(r[1] ?? ''));
  if (!row) return undefined;
  const [rps, , p99, errors] = row.slice(2).map(leadingNumber);
  if (rps === undefined || p99 === undefined) return undefined;
  return `${fmt(rps)} req/s, p99 ${fmt(p99)} ms, ${errors ?? 0} errors`;
}

export const SLIDE_FIGURES: readonly SlideFigure[] = [
  {
    id: 'api-status',
    what: 'API `GET /api/status`, 32 connections',
    goal: '>= 100x the original app',
    from: [
      {
        file: 'app.json',
        read: (s) => {
          const t = appTarget(s, 'api: GET /api/status');
          const rps = num(t?.reqPerSec);
          const original = num((s.json?.original as Json | undefined)?.scram);
          if (rps === undefined) return undefined;
          return `${fmt(rps)} req/s${original ? ` (${Math.round(rps / original)}x)` : ''}, p99 ${t?.p99Ms} ms`;
        },
      },
    ],
  },
  {
    id: 'api-vs-ceiling',
    what: 'API vs a bare node:http + pg server',
    goal: '>= 70 %',
    from: [
      {
        file: 'app.json',
        read: (s) => {
          const api = num(appTarget(s, 'api: GET /api/status')?.reqPerSec);
          const ceiling = num(appTarget(s, 'ceiling: node:http + pg, SELECT now()')?.reqPerSec);
          return api && ceiling ? `${Math.round((api / ceiling) * 100)} %` : undefined;
        },
      },
    ],
  },
  {
    id: 'web-page',
    what: 'Web page `GET /`, 32 connections',
    goal: '-',
    from: [
      {
        file: 'app.json',
        read: (s) => {
          const t = appTarget(s, 'web: GET /');
          return num(t?.reqPerSec) === undefined ? undefined : `${fmt(num(t?.reqPerSec)!)} req/s, p99 ${t?.p99Ms} ms`;
        },
      },
    ],
  },
  {
    id: 'edge-status',
    what: '`/api/status` through the edge, 10 connections',
    goal: '0 errors',
    inTable: false,
    from: [{ file: 'local.md', read: (s) => localPath(s, '/api/status', /^edge$/) }],
  },
  {
    id: 'edge-page',
    what: 'Page `/` through the edge, 10 connections',
    goal: '0 errors',
    inTable: false,
    from: [{ file: 'local.md', read: (s) => localPath(s, '/', /^edge$/) }],
  },
  {
    id: 'tier-up',
    what: '`tier up` on a warm machine to all healthy',
    goal: '-',
    inTable: false,
    from: [
      { file: 'local.md', read: (s) => /`tier up` on a warm machine[^*\n]*\*\*([\d.]+ s)\*\*/.exec(s.text ?? '')?.[1] },
    ],
  },
  {
    id: 'rollout-api',
    what: 'Rollout, api tier (2 replicas) under load',
    goal: '< 30 s, 0 failed',
    from: [{ file: 'ops.json', read: (s) => rollout(s, 'api') }],
  },
  {
    id: 'rollout-web',
    what: 'Rollout, web tier (2 replicas) under load',
    goal: '< 30 s, 0 failed',
    from: [{ file: 'ops.json', read: (s) => rollout(s, 'web') }],
  },
  {
    id: 'replica-replaced',
    what: 'Killed replica replaced (web, api)',
    goal: '< 10 s, 0 failed',
    from: [
      {
        file: 'ops.json',
        read: (s) => {
          const web = byKey(s.json?.failovers, 'tier', 'web');
          const api = byKey(s.json?.failovers, 'tier', 'api');
          const failed = [web, api].map((f) => num((f?.load as Json | undefined)?.failed));
          if (num(web?.replaceS) === undefined || num(api?.replaceS) === undefined || failed.includes(undefined))
            return undefined;
          return `${fmt(num(web?.replaceS)!, ' s')}, ${fmt(num(api?.replaceS)!, ' s')}; ${failed.reduce((a, b) => a! + b!, 0)} failed`;
        },
      },
    ],
  },
  {
    id: 'frozen-replicas',
    what: 'Frozen replicas (SIGSTOP) under load',
    goal: '0 failed',
    from: [
      {
        file: 'failure-handling.md',
        read: (s) => {
          const row = mdRow(s.text, /frozen \(SIGSTOP\)/);
          return row ? `${row[2]} failed of ${fmt(leadingNumber(row[1]) ?? 0)}` : undefined;
        },
      },
    ],
  },
  {
    id: 'db-restart',
    what: 'Database restart under load',
    goal: 'only 200 or 503, never 500',
    from: [
      {
        file: 'ops.json',
        read: (s) => {
          const r = s.json?.dbRestart as Json | undefined;
          const load = r?.load as Json | undefined;
          const by = load?.byStatus as Json | undefined;
          if (num(r?.downtimeS) === undefined || num(load?.failed) === undefined) return undefined;
          return `${fmt(num(r?.downtimeS)!, ' s')} down, ${num(by?.['503']) ?? 0} x 503, ${num(load?.failed)} failed of ${fmt(num(load?.requests) ?? 0)}`;
        },
      },
      {
        file: 'failure-handling.md',
        read: (s) => {
          const runs = mdRows(s.text, /^db restart, run \d/);
          if (runs.length === 0) return undefined;
          const sum = (f: (r: string[]) => number | undefined) => runs.reduce((a, r) => a + (f(r) ?? 0), 0);
          const requests = sum((r) => leadingNumber(r[1]));
          const refused = sum((r) => leadingNumber(/\(([\d ]+)\s*×\s*503\)/.exec(r[1] ?? '')?.[1]));
          const failed = sum((r) => leadingNumber(r[2]));
          const slowest = Math.max(...runs.map((r) => leadingNumber(r[3]) ?? 0));
          return `${runs.length} restarts, ${fmt(failed)} failed of ${fmt(requests)} (${fmt(refused)} x 503), slowest ${fmt(slowest)} ms`;
        },
      },
    ],
  },
  {
    id: 'backup-full',
    what: 'Full backup of 100,000 rows',
    goal: '-',
    inTable: false,
    from: [
      {
        file: 'ops.json',
        read: (s) => {
          const v = num((s.json?.backupRestore as Json | undefined)?.backupFullS);
          return v === undefined ? undefined : fmt(v, ' s');
        },
      },
    ],
  },
  {
    id: 'restore',
    what: 'Restore of 100,000 rows (safety backup included)',
    goal: '< 30 s',
    from: [
      {
        file: 'ops.json',
        read: (s) => {
          const b = s.json?.backupRestore as Json | undefined;
          return num(b?.restoreTotalS) === undefined || b?.restored !== b?.rows
            ? undefined
            : `${fmt(num(b?.restoreTotalS)!, ' s')}, ${fmt(num(b?.restored)!)} rows back`;
        },
      },
    ],
  },
  {
    id: 'restore-point',
    what: 'Restore point: a write is archived after',
    goal: '<= 60 s (RPO)',
    from: [
      {
        file: 'ops.json',
        read: (s) => {
          const v = num((s.json?.restorePoint as Json | undefined)?.archivedAfterS);
          return v === undefined ? undefined : fmt(v, ' s');
        },
      },
    ],
  },
  {
    id: 'pipeline-web-only',
    what: 'Web-only change live via `tier pipeline`',
    goal: '< 2 min',
    from: [{ file: 'pipeline.md', read: (s) => mdRow(s.text, /^web-only change, end to end$/)?.[2] }],
  },
  {
    id: 'pipeline-broken',
    what: 'Broken web version: failed smoke, rolled back',
    goal: '-',
    inTable: false,
    from: [{ file: 'pipeline.md', read: (s) => mdRow(s.text, /^broken web version, end to end$/)?.[2] }],
  },
];

const DATE_TIME = /(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?(?!\d)/;

/** The date and machine of the run a result file records (JSON fields, or the first date in a markdown file). */
export function runOf(name: string, s: Source): Run {
  const j = s.json;
  if (j) {
    const machine = (j.machine ?? {}) as Json;
    const stamp = String(machine.date ?? j.measuredAt ?? j.date ?? '');
    const m = DATE_TIME.exec(stamp);
    const cores = machine.cores ?? machine.cpus;
    const what = [machine.cpuModel, cores ? `${cores} cores` : undefined].filter(Boolean).join(' ');
    return {
      date: m ? m[1]! : 'date not recorded',
      at: m ? `${m[1]}T${m[2] ?? '00:00'}` : '',
      machine: what || 'machine not recorded',
    };
  }
  const text = s.text ?? '';
  const m = DATE_TIME.exec(text);
  const cores = /(\d+)[- ]cores?\b/.exec(text)?.[1];
  return {
    date: m ? m[1]! : 'date not recorded',
    at: m ? `${m[1]}T${m[2] ?? '00:00'}` : '',
    machine: cores ? `${cores} cores` : `machine not recorded in ${name}`,
  };
}

/** Every result file a figure may read, by name (absent files are left out). */
export function loadSources(dir: string): Map<string, Source> {
  const sources = new Map<string, Source>();
  const present = existsSync(dir) ? new Set(readdirSync(dir)) : new Set<string>();
  for (const name of new Set(SLIDE_FIGURES.flatMap((f) => f.from.map((s) => s.file)))) {
    if (!present.has(name)) continue;
    const text = readFileSync(join(dir, name), 'utf8');
    sources.set(name, name.endsWith('.json') ? { json: JSON.parse(text) as Json } : { text });
  }
  return sources;
}

export interface FigureRow {
  readonly id: string;
  readonly what: string;
  readonly measured: string | undefined;
  readonly goal: string;
  /** The file the value comes from (the first candidate when none holds it). */
  readonly source: string;
  readonly run: Run | undefined;
  /** Candidate files that exist but do not hold the figure: a reader that no longer matches its file. */
  readonly unread: readonly string[];
  readonly inTable: boolean;
}

/** Each figure from the newest result file that holds it. */
export function figureRows(dir: string): FigureRow[] {
  const sources = loadSources(dir);
  return SLIDE_FIGURES.map((f) => {
    const candidates = f.from.flatMap((c) => {
      const s = sources.get(c.file);
      return s ? [{ file: c.file, run: runOf(c.file, s), measured: c.read(s) }] : [];
    });
    const held = candidates.filter((c) => c.measured !== undefined).sort((a, b) => b.run.at.localeCompare(a.run.at));
    const chosen = held[0] ?? candidates[0];
    return {
      id: f.id,
      what: f.what,
      goal: f.goal,
      source: chosen?.file ?? f.from[0]!.file,
      measured: chosen?.measured,
      run: chosen?.run,
      unread: candidates.filter((c) => c.measured === undefined).map((c) => c.file),
      inTable: f.inTable ?? true,
    };
  });
}

/** Where a figure comes from, as the slides show it: file, date and machine of the run. */
export const runLabel = (r: FigureRow) =>
  r.run ? `${r.source} ${r.run.date}, ${r.run.machine}` : `${r.source}: no such file`;

/** A figure in running text: `**value** (file date, machine)`; `plain` for speaker notes, which show no markup. */
export function inlineFigure(r: FigureRow, plain = false): string {
  const value = r.measured ?? 'not yet measured';
  return `${plain ? value : `**${value}**`} (${runLabel(r)})`;
}

export const FIGURE_MARKER = /\[\[figure:([a-z0-9-]+)\]\]/g;

/** Replaces every `[[figure:<id>]]` of an assembled deck; an unknown id is an error naming it. */
export function fillFigureMarkers(deck: string, dir: string): string {
  const rows = new Map(figureRows(dir).map((r) => [r.id, r]));
  const fill = (text: string, plain: boolean) =>
    text.replace(FIGURE_MARKER, (_, id: string) => {
      const row = rows.get(id);
      if (!row)
        throw new Error(`docs/slides/deck.md names [[figure:${id}]], which docs/slides/figures.ts does not define.`);
      return inlineFigure(row, plain);
    });
  // Comments are speaker notes (plain text in the PPTX); the rest is slide markdown.
  return deck
    .split(/(<!--[\s\S]*?-->)/)
    .map((part) => fill(part, part.startsWith('<!--')))
    .join('');
}

/** The figures slide's table: what, measured, goal, and the run (file, date, machine) it comes from. */
const FIGURES_HEADER = '| what | measured | goal | run |';

export function figuresSlide(dir: string): string {
  const rows = [FIGURES_HEADER, '|---|---|---|---|'];
  for (const r of figureRows(dir).filter((x) => x.inTable)) rows.push(tableRow(r));
  return rows.join('\n');
}

/** The figures slide's table row of a figure, as figuresSlide writes it. */
export const tableRow = (r: FigureRow) =>
  `| ${r.what} | ${r.measured ? `**${r.measured}**` : '**not yet measured**'} | ${r.goal} | ${runLabel(r)} |`;

/**
 * What is wrong with the figures of an assembled (rendered) deck against the result files as they are now: a
 * figure whose shown value or run differs from the newest result file (the render is stale), a figure without the
 * date of its run, a marker left unfilled, a reader that no longer finds its figure in an existing file.
 */
export function figureProblems(renderedDeck: string, sourceDeck: string, dir: string): string[] {
  const problems: string[] = [];
  const rows = figureRows(dir);
  for (const r of rows) {
    for (const file of r.unread)
      problems.push(`${r.id}: ${file} exists but does not hold "${r.what}": fix its reader in docs/slides/figures.ts`);
    if (r.run && !/^\d{4}-\d{2}-\d{2}$/.test(r.run.date))
      problems.push(`${r.id}: ${r.source} records no date for its run: a figure on the slides needs one`);
  }
  const stale = 'is stale: run npm run docs:render and commit docs/rendered';
  if (/<!-- figures -->/.test(sourceDeck)) {
    for (const r of rows.filter((x) => x.inTable))
      if (!renderedDeck.includes(tableRow(r)))
        problems.push(`figures slide, "${r.what}": the newest result says ${inlineFigure(r, true)}; the deck ${stale}`);
  }
  for (const id of new Set([...sourceDeck.matchAll(FIGURE_MARKER)].map((m) => m[1]!))) {
    const r = rows.find((x) => x.id === id);
    if (!r) {
      problems.push(`[[figure:${id}]] is not defined in docs/slides/figures.ts`);
      continue;
    }
    if (!renderedDeck.includes(inlineFigure(r)) && !renderedDeck.includes(inlineFigure(r, true)))
      problems.push(`[[figure:${id}]]: the newest result says ${inlineFigure(r, true)}; the deck ${stale}`);
  }
  if (/\[\[figure:/.test(renderedDeck)) problems.push('the rendered deck has an unfilled [[figure:...]] marker');
  // Rows of the rendered figures table that name no date of their run (typed by hand, or a file without a date).
  const table = renderedDeck.split(FIGURES_HEADER)[1]?.split(/\n(?!\|)/)[0] ?? '';
  for (const line of table.split('\n').slice(2)) {
    const cells = line.split('|').map((c) => c.trim());
    if (!/\d{4}-\d{2}-\d{2}/.test(cells[4] ?? ''))
      problems.push(`figures slide row "${cells[1]}" shows no date of its run`);
  }
  // Figures typed into the deck: a value the results hold, written in the deck's source instead of its marker.
  const typed = sourceDeck.replace(/<!-- figures -->/g, '');
  for (const r of rows)
    if (r.measured && typed.includes(r.measured))
      problems.push(`docs/slides/deck.md types "${r.measured}" (${r.id}): write [[figure:${r.id}]] instead`);
  return problems;
}
