// Measures the slides' own text as the browser lays it out: Marp renders the deck to HTML, Debian's chromium loads
// it with a small script that reports, per slide, the smallest font size of any visible text and how far content
// runs past the slide's bottom edge. Sizes are CSS pixels of the 1,280 x 720 slide, whatever the window size.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_DIR } from './paths.js';
import { chromePath } from './slides.js';

const run = promisify(execFile);

export interface SlideText {
  readonly slide: number;
  /** null when the slide has no text of its own (a picture). */
  readonly smallestPx: number | null;
  readonly smallestText: string;
  /** Pixels of content below the slide's bottom edge (0 when everything fits). */
  readonly overflowPx: number;
}

/** Runs in the page: one entry per slide (background-image layers of a slide are skipped). */
const MEASURE = `
const out = [];
for (const s of document.querySelectorAll('section[id]')) {
  const layer = s.getAttribute('data-marpit-advanced-background');
  if (layer === 'background' || layer === 'pseudo') continue;
  let smallest = { px: Infinity, text: '' };
  const walker = document.createTreeWalker(s, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || !el || el.closest('style,script')) continue;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < smallest.px) smallest = { px, text: text.slice(0, 60) };
  }
  // Boxes in window pixels, scaled back to slide pixels (the bare template scales each slide to the window).
  const box = s.getBoundingClientRect();
  const k = box.height / s.offsetHeight;
  let bottom = 0;
  for (const el of s.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.height > 0) bottom = Math.max(bottom, (r.bottom - box.top) / k);
  }
  out.push({ slide: Number(s.id), smallestPx: smallest.px, smallestText: smallest.text, overflowPx: Math.max(0, Math.round(bottom - s.offsetHeight)) });
}
document.body.setAttribute('data-measured', JSON.stringify(out));
`;

/** Renders an assembled deck (markdown) and measures every slide's text. */
export async function measureSlideText(deckFile: string): Promise<SlideText[]> {
  const dir = await mkdtemp(join(tmpdir(), 'slide-text-'));
  const html = join(dir, 'deck.html');
  const marp = join(REPO_DIR, 'node_modules', '.bin', 'marp');
  await run(marp, [deckFile, '--no-stdin', '--template', 'bare', '--allow-local-files', '-o', html], {
    timeout: 120_000,
  });
  const page = (await readFile(html, 'utf8')).replace('</body>', `<script>${MEASURE}</script></body>`);
  await writeFile(html, page);
  const { stdout } = await run(
    await chromePath(),
    ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=5000', '--dump-dom', `file://${html}`],
    { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
  );
  const measured = /data-measured="([^"]*)"/.exec(stdout)?.[1];
  if (!measured) throw new Error('chromium returned the slides without measurements');
  return JSON.parse(measured.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as SlideText[];
}
