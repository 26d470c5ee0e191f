// Every picture on the slides, drawn as Marp draws it on a 1,280 px slide: no text under 14 px, no two labels on
// top of each other, no edge label on a box (measured from the SVG Graphviz draws from the same DOT as the PNG);
// and the slides' own text, as chromium lays it out: at least 14 px, nothing below the slide's edge.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertWellFormed, toDot } from '../diagrams/dot.js';
import { diagrams } from '../diagrams/index.js';
import {
  diagramsOnSlides,
  overlaps,
  parseSvg,
  type SvgGeometry,
  slideScale,
  slideSize,
  smallestText,
} from '../tools/legibility.js';
import { DOCS_DIR } from '../tools/paths.js';
import { measureSlideText } from '../tools/slide-text.js';
import { assembleDeck } from '../tools/slides.js';

const MIN_PX = 14;
const deck = readFileSync(join(DOCS_DIR, 'slides', 'deck.md'), 'utf8');
const byName = new Map(diagrams.map((d) => [d.name, d]));

function svgOf(name: string): SvgGeometry {
  const source = byName.get(name);
  assert.ok(source, `the deck shows ${name}.png, which docs/diagrams/index.ts does not draw`);
  const graph = source.graph();
  assertWellFormed(graph);
  return parseSvg(execFileSync('dot', ['-Tsvg'], { input: toDot(graph), encoding: 'utf8' }));
}

describe('the measuring itself', () => {
  const svg = (texts: string) =>
    `<svg width="200pt" height="100pt" viewBox="0.00 0.00 200.00 100.00"><g id="graph0" class="graph" transform="scale(1 1) rotate(0) translate(4 96)"><title>g</title>${texts}</g></svg>`;
  const text = (x: number, y: number, s: string, size = 14) =>
    `<text text-anchor="start" x="${x}" y="${y}" font-family="DejaVu Sans" font-size="${size}">${s}</text>`;

  test('text widths come from the font: "WWW" is wider than "iii"', () => {
    const g = parseSvg(svg(text(0, 0, 'WWW') + text(0, 40, 'iii')));
    const w = (i: number) => g.texts[i]!.box.x1 - g.texts[i]!.box.x0;
    assert.ok(w(0) > 2.5 * w(1), `WWW ${w(0)} vs iii ${w(1)}`);
    assert.ok(w(0) > 30 && w(0) < 45, `three W at 14 pt are about 37 units wide, measured ${w(0)}`);
  });

  test('two labels on the same spot overlap; the same labels far apart do not', () => {
    assert.equal(overlaps(parseSvg(svg(text(0, 0, 'HTTPS') + text(20, 4, 'AWS account')))).length, 1);
    assert.deepEqual(overlaps(parseSvg(svg(text(0, 0, 'HTTPS') + text(0, 40, 'AWS account')))), []);
  });

  test('a picture twice the slide width shows its text at half size', () => {
    const g = parseSvg(svg(text(0, 0, 'x', 20)));
    assert.equal(smallestText(g, slideScale({ width: 2560, height: 100 }, { w: 1280, h: 720 })).px, 10);
  });

  test('the deck places pictures by "bg contain" or an explicit width', () => {
    const placed = diagramsOnSlides(
      'size: 16:9\n\n![bg contain](../rendered/diagrams/a.png)\n\n---\n\n![w:640](../rendered/diagrams/b.png)\n',
    );
    assert.deepEqual(placed, [
      { slide: 1, diagram: 'a', box: { w: 1280, h: 720 } },
      { slide: 2, diagram: 'b', box: { w: 640, h: Number.POSITIVE_INFINITY } },
    ]);
    assert.throws(() => diagramsOnSlides('![bg cover](../rendered/diagrams/a.png)'), /bg contain/);
  });
});

describe(`pictures on the slides are legible at ${slideSize(deck).w} px`, () => {
  const placed = diagramsOnSlides(deck);

  test('the deck shows pictures', () => {
    assert.ok(placed.length >= 4, `only ${placed.length} pictures on the slides`);
  });

  for (const p of placed) {
    test(`slide ${p.slide}, ${p.diagram}: every text at least ${MIN_PX} px, no overlapping labels`, () => {
      const g = svgOf(p.diagram);
      const scale = slideScale(g, p.box);
      const small = smallestText(g, scale);
      const problems = overlaps(g);
      assert.ok(
        small.px >= MIN_PX,
        `smallest text ${small.px.toFixed(1)} px ("${small.text}"): the ${g.width.toFixed(0)} x ${g.height.toFixed(0)} pt picture is drawn at ${(scale * 100).toFixed(0)} %`,
      );
      assert.deepEqual(problems, [], `${problems.length} overlaps`);
    });
  }
});

describe('slide text is legible, as chromium lays it out', () => {
  test('the measuring finds small text and content below the slide', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slide-text-'));
    const file = join(dir, 'deck.md');
    const lines = Array.from({ length: 40 }, (_, i) => `- line ${i}`).join('\n');
    await writeFile(file, `---\nmarp: true\n---\n\n<style>p { font-size: 9px; }</style>\n\ntiny\n\n---\n\n${lines}\n`);
    const [small, long] = await measureSlideText(file);
    assert.equal(small!.smallestPx, 9);
    assert.equal(small!.overflowPx, 0);
    assert.ok(long!.overflowPx > 500, `overflow ${long!.overflowPx}`);
  });

  test(`every slide's text is at least ${MIN_PX} px and fits on the slide`, async () => {
    const out = await mkdtemp(join(tmpdir(), 'slide-deck-'));
    const slides = await measureSlideText(await assembleDeck(out));
    const problems = slides.flatMap((s) => [
      ...(s.smallestPx !== null && s.smallestPx < MIN_PX
        ? [`slide ${s.slide}: ${s.smallestPx} px ("${s.smallestText}")`]
        : []),
      ...(s.overflowPx > 0 ? [`slide ${s.slide}: ${s.overflowPx} px below the slide`] : []),
    ]);
    assert.deepEqual(problems, []);
  });
});
