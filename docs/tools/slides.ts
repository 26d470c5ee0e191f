// Assembles docs/slides/deck.md with the measured figures and exports it with Marp (Debian's chromium) to PDF and PPTX.
import { execFile } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requirementsTable } from '../slides/requirements.js';
import { CATEGORY_TITLES, type Category, formatValue, loadResults, type ResultFile } from './bench-results.js';
import { BENCH_RESULTS_DIR, DOCS_DIR, REPO_DIR } from './paths.js';

const run = promisify(execFile);
const FIGURES_MARKER = '<!-- figures -->';
const REQUIREMENTS_MARKERS = ['<!-- requirements:1 -->', '<!-- requirements:2 -->'] as const;
const SHOWN: readonly Category[] = ['throughput', 'latency', 'rollout', 'failover', 'backup', 'pipeline', 'failures'];
const MAX_ROWS = 12;

/** The figures slide body: a few figures per category from the result files, or "not yet measured". */
export function figuresTable(results: readonly ResultFile[]): string {
  const rows: string[] = ['| what | figure | value | source |', '|---|---|---|---|'];
  let shown = 0;
  for (const c of SHOWN) {
    const figs = results.flatMap((r) => r.figures).filter((f) => f.category === c);
    if (figs.length === 0) {
      rows.push(`| ${CATEGORY_TITLES[c]} | - | **not yet measured** | - |`);
      continue;
    }
    for (const f of figs.slice(0, 2)) {
      if (shown >= MAX_ROWS) break;
      rows.push(`| ${CATEGORY_TITLES[c]} | \`${f.path}\` | ${formatValue(f.value, f.unit)} | \`${f.source}.json\` |`);
      shown++;
    }
  }
  const where =
    results.length === 0
      ? 'No benchmark result files yet (bench/results/): nothing here is invented.'
      : `Machines and dates: ${[...new Set(results.map((r) => `${r.machine} (${r.date})`))].slice(0, 2).join('; ')}. Full tables: docs/performance.md.`;
  return `${rows.join('\n')}\n\n_${where}_\n`;
}

export async function assembleDeck(out: string, resultsDir = BENCH_RESULTS_DIR): Promise<string> {
  const source = await readFile(join(DOCS_DIR, 'slides', 'deck.md'), 'utf8');
  for (const marker of [FIGURES_MARKER, ...REQUIREMENTS_MARKERS]) {
    if (!source.includes(marker)) throw new Error(`docs/slides/deck.md lost its ${marker} marker.`);
  }
  const deck = source
    .replace(FIGURES_MARKER, figuresTable(await loadResults(resultsDir)))
    .replace(REQUIREMENTS_MARKERS[0], requirementsTable(REPO_DIR, undefined, 1))
    .replace(REQUIREMENTS_MARKERS[1], requirementsTable(REPO_DIR, undefined, 2))
    // The assembled deck lives in <out>/slides/: images are siblings there, other docs two levels up.
    .replace(/\]\(\.\.\/(?!rendered\/)/g, '](../../')
    .replace(/\]\(\.\.\/rendered\//g, '](../');
  const dir = join(out, 'slides');
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'deck.md');
  await writeFile(file, deck);
  return file;
}

/** Debian's chromium; CHROME_PATH wins when set. Marp must never download a browser. */
export async function chromePath(): Promise<string> {
  const path = process.env.CHROME_PATH ?? '/usr/bin/chromium';
  try {
    await access(path);
  } catch {
    throw new Error(
      `no browser at ${path}: run \`bash scripts/install-deps.sh\` (Debian package chromium) or set CHROME_PATH.`,
    );
  }
  return path;
}

export async function renderSlides(out: string, resultsDir = BENCH_RESULTS_DIR): Promise<string[]> {
  const deck = await assembleDeck(out, resultsDir);
  const chrome = await chromePath();
  const marp = join(REPO_DIR, 'node_modules', '.bin', 'marp');
  const env = { ...process.env, CHROME_PATH: chrome, PUPPETEER_SKIP_DOWNLOAD: '1' };
  const written: string[] = [];
  // One after the other: each conversion drives a headless chromium, and CI has two cores.
  for (const format of ['pdf', 'pptx'] as const) {
    const target = join(out, 'slides', `deck.${format}`);
    try {
      await run(
        marp,
        [deck, '--no-stdin', `--${format}`, '--allow-local-files', '--browser-path', chrome, '-o', target],
        {
          env,
          timeout: 180_000,
        },
      );
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(
        `marp could not export ${format}: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`,
      );
    }
    written.push(target);
  }
  return written;
}
