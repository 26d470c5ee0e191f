// Assembles docs/slides/deck.md with the measured figures and exports it with Marp (Debian's chromium) to PDF and
// one PNG per slide (docs/rendered/slides/deck.NNN.png, for reviewers without a PDF viewer), and to an editable PPTX.
import { execFile } from 'node:child_process';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { figuresSlide, fillFigureMarkers } from '../slides/figures.js';
import { requirementsTable } from '../slides/requirements.js';
import { BENCH_RESULTS_DIR, DOCS_DIR, REPO_DIR } from './paths.js';
import { writePptx } from './pptx.js';

const run = promisify(execFile);
const FIGURES_MARKER = '<!-- figures -->';
const COST_MARKER = '<!-- cost -->';
const COST_HEADING = '## Monthly cost estimate';

/** The cost table of infra/aws/README.md without its assumptions column, and the lines under it. */
export function costSlide(readme: string): string {
  const at = readme.indexOf(COST_HEADING);
  if (at < 0) throw new Error(`infra/aws/README.md has no "${COST_HEADING}" section for the cost slide.`);
  const section = readme.slice(at).split(/\n## /)[0]!.split('\n').slice(1);
  const table = section.filter((l) => l.startsWith('|'));
  const rest = section.filter((l) => l.trim() && !l.startsWith('|'));
  const rows = table.map((l) => `${l.split('|').slice(0, 4).join('|')}|`);
  return [...rows, '', ...rest.map((l) => `_${l.trim()}_`)].join('\n');
}
const REQUIREMENT_PARTS = 3;
const requirementsMarker = (i: number) => `<!-- requirements:${i} -->`;

/**
 * Links in the deck become their repository path as text: a PDF made by a browser turns relative links into
 * absolute file:// paths of the machine that rendered it, which mean nothing anywhere else.
 * `[runbook](../runbooks/x.md)` (from docs/slides/) -> `runbook (docs/runbooks/x.md)`.
 */
export function linksAsRepositoryPaths(markdown: string): string {
  return markdown.replace(/(?<!!)\[([^\]]+)\]\(\.\.\/([^)\s]+)\)/g, (_, text: string, path: string) => {
    const repoPath = path.startsWith('../') ? path.slice(3) : `docs/${path}`;
    return `${text} (\`${repoPath}\`)`;
  });
}

export async function assembleDeck(out: string, resultsDir = BENCH_RESULTS_DIR): Promise<string> {
  const source = await readFile(join(DOCS_DIR, 'slides', 'deck.md'), 'utf8');
  for (const marker of [FIGURES_MARKER, COST_MARKER]) {
    if (!source.includes(marker)) throw new Error(`docs/slides/deck.md lost its ${marker} marker.`);
  }
  const readme = await readFile(join(REPO_DIR, 'infra', 'aws', 'README.md'), 'utf8');
  let deck = source.replace(FIGURES_MARKER, figuresSlide(resultsDir)).replace(COST_MARKER, costSlide(readme));
  // The whole requirements table, split over slides, where the deck asks for it (one slide per assignment
  // requirement says how each is met; docs/requirements.md has the full table).
  for (let i = 1; i <= REQUIREMENT_PARTS; i++)
    deck = deck.replace(requirementsMarker(i), requirementsTable(REPO_DIR, undefined, [i, REQUIREMENT_PARTS]));
  deck = fillFigureMarkers(deck, resultsDir);
  // The assembled deck lives in <out>/slides/: images are siblings there.
  deck = linksAsRepositoryPaths(deck).replace(/\]\(\.\.\/rendered\//g, '](../');
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
  // Old per-slide pictures must not outlive a slide that was removed.
  for (const f of await readdir(join(out, 'slides'))) if (/^deck\.\d+\.png$/.test(f)) await rm(join(out, 'slides', f));
  // The PPTX is written from the deck's text (real text, tables, notes); Marp's PPTX would be one picture a slide.
  const pptx = join(out, 'slides', 'deck.pptx');
  await writePptx(deck, pptx);
  written.push(pptx);
  for (const format of ['pdf', 'png'] as const) {
    const target = join(out, 'slides', `deck.${format}`);
    const how = format === 'png' ? ['--images', 'png'] : [`--${format}`];
    try {
      await run(marp, [deck, '--no-stdin', ...how, '--allow-local-files', '--browser-path', chrome, '-o', target], {
        env,
        timeout: 180_000,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(
        `marp could not export ${format}: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`,
      );
    }
    written.push(format === 'png' ? join(out, 'slides', 'deck.NNN.png') : target);
  }
  return written;
}
