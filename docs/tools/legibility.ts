// Measures a Graphviz SVG as it appears on a slide: the smallest text in slide pixels and the labels that overlap.
// Text widths come from the advance widths in the font file the SVG names (DejaVu Sans), so no browser is needed.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Advance widths of one TrueType font, by code point, in em. */
export interface FontWidths {
  readonly advance: (codePoint: number) => number;
  /** Ascent above the baseline and descent below it, in em (OS/2 typographic metrics: one line's glyph box). */
  readonly ascent: number;
  readonly descent: number;
}

/** Reads head, hhea, hmtx and the Unicode BMP cmap (format 4) of a .ttf file. */
export function readFontWidths(file: string): FontWidths {
  const buf = readFileSync(file);
  const tables = new Map<string, number>();
  const numTables = buf.readUInt16BE(4);
  for (let i = 0; i < numTables; i++) {
    const at = 12 + i * 16;
    tables.set(buf.toString('latin1', at, at + 4), buf.readUInt32BE(at + 8));
  }
  const table = (tag: string) => {
    const at = tables.get(tag);
    if (at === undefined) throw new Error(`${file} has no ${tag} table`);
    return at;
  };
  const unitsPerEm = buf.readUInt16BE(table('head') + 18);
  const hhea = table('hhea');
  const os2 = table('OS/2');
  const ascent = buf.readInt16BE(os2 + 68) / unitsPerEm;
  const descent = -buf.readInt16BE(os2 + 70) / unitsPerEm;
  const metrics = buf.readUInt16BE(hhea + 34);
  const hmtx = table('hmtx');
  const widthOfGlyph = (g: number) => buf.readUInt16BE(hmtx + Math.min(g, metrics - 1) * 4) / unitsPerEm;

  const cmap = table('cmap');
  let format4 = -1;
  for (let i = 0; i < buf.readUInt16BE(cmap + 2); i++) {
    const at = cmap + 4 + i * 8;
    const platform = buf.readUInt16BE(at);
    const encoding = buf.readUInt16BE(at + 2);
    const sub = cmap + buf.readUInt32BE(at + 4);
    if (platform === 3 && encoding === 1 && buf.readUInt16BE(sub) === 4) format4 = sub;
  }
  if (format4 < 0) throw new Error(`${file} has no Unicode BMP cmap`);
  const segments = buf.readUInt16BE(format4 + 6) / 2;
  const ends = format4 + 14;
  const starts = ends + segments * 2 + 2;
  const deltas = starts + segments * 2;
  const rangeOffsets = deltas + segments * 2;
  const glyphOf = (cp: number): number => {
    for (let s = 0; s < segments; s++) {
      if (cp > buf.readUInt16BE(ends + s * 2)) continue;
      const start = buf.readUInt16BE(starts + s * 2);
      if (cp < start) return 0;
      const delta = buf.readInt16BE(deltas + s * 2);
      const ro = buf.readUInt16BE(rangeOffsets + s * 2);
      if (ro === 0) return (cp + delta) & 0xffff;
      const g = buf.readUInt16BE(rangeOffsets + s * 2 + ro + (cp - start) * 2);
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const cache = new Map<number, number>();
  return {
    ascent,
    descent,
    advance: (cp) => {
      let w = cache.get(cp);
      if (w === undefined) {
        w = widthOfGlyph(glyphOf(cp));
        cache.set(cp, w);
      }
      return w;
    },
  };
}

const fontCache = new Map<string, FontWidths>();

/** The font file fontconfig picks for a family and weight (what Graphviz's cairo renderer uses for the PNG). */
export function fontFor(family: string, bold: boolean): FontWidths {
  const key = `${family}:${bold ? 'bold' : 'regular'}`;
  let font = fontCache.get(key);
  if (!font) {
    const file = execFileSync('fc-match', ['-f', '%{file}', key], { encoding: 'utf8' }).trim();
    font = readFontWidths(file);
    fontCache.set(key, font);
  }
  return font;
}

export interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

export interface SvgText {
  readonly text: string;
  /** font-size in the SVG's user units (Graphviz: points). */
  readonly size: number;
  readonly box: Box;
  /** node, edge, cluster or graph: the kind of `<g>` the text sits in. */
  readonly owner: 'node' | 'edge' | 'cluster' | 'graph';
  /** The owner's title (node id, `a->b`, cluster name). */
  readonly ownerTitle: string;
}

export interface SvgShape {
  readonly title: string;
  readonly box: Box;
}

export interface SvgGeometry {
  readonly width: number;
  readonly height: number;
  readonly texts: readonly SvgText[];
  /** Outlines of the nodes (boxes, cylinders, notes), in the same coordinates as the texts. */
  readonly nodes: readonly SvgShape[];
}

const decode = (s: string) =>
  s
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(Number.parseInt(n, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/&amp;/g, '&');

const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

function boxOfPoints(numbers: number[]): Box | undefined {
  if (numbers.length < 4) return undefined;
  const xs = numbers.filter((_, i) => i % 2 === 0);
  const ys = numbers.filter((_, i) => i % 2 === 1);
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
}

const numbersIn = (s: string) => [...s.matchAll(/-?\d+(?:\.\d+)?/g)].map((m) => Number(m[0]));

/** Parses the texts (with their boxes from the font's advance widths) and node outlines of a Graphviz SVG. */
export function parseSvg(svg: string): SvgGeometry {
  const root = /<svg[^>]*>/.exec(svg)?.[0] ?? '';
  const viewBox = numbersIn(attr(root, 'viewBox') ?? '');
  if (viewBox.length !== 4) throw new Error('the SVG has no viewBox');
  const transform = /<g id="graph0"[^>]*transform="([^"]*)"/.exec(svg)?.[1] ?? '';
  const scale = /scale\(([\d.]+)/.exec(transform);
  if (scale && Math.abs(Number(scale[1]) - 1) > 1e-6)
    throw new Error(`the SVG is scaled (${transform}): render without a size limit so sizes are the real ones`);

  const texts: SvgText[] = [];
  const nodes: SvgShape[] = [];
  // Graphviz writes one flat <g> per graph, cluster, node and edge, each opened by its <title>.
  const groups = svg.split(/<g id="[^"]*" class="/).slice(1);
  for (const group of groups) {
    const kind = /^(graph|cluster|node|edge)/.exec(group)?.[1] as SvgText['owner'] | undefined;
    if (!kind) continue;
    const title = decode(/<title>([\s\S]*?)<\/title>/.exec(group)?.[1] ?? '');
    const body = group;
    if (kind === 'node') {
      const shapes = [...body.matchAll(/<(polygon|path|ellipse|polyline)\b[^>]*>/g)].map((m) => m[0]);
      const pts: number[] = [];
      for (const s of shapes) {
        if (s.startsWith('<ellipse')) {
          const [cx, cy, rx, ry] = ['cx', 'cy', 'rx', 'ry'].map((a) => Number(attr(s, a)));
          pts.push(cx! - rx!, cy! - ry!, cx! + rx!, cy! + ry!);
        } else {
          pts.push(...numbersIn(attr(s, 'points') ?? attr(s, 'd') ?? ''));
        }
      }
      const box = boxOfPoints(pts);
      if (box) nodes.push({ title, box });
    }
    for (const m of body.matchAll(/<text\b([^>]*)>([\s\S]*?)<\/text>/g)) {
      const tag = m[1]!;
      const text = decode(m[2]!);
      if (!text.trim()) continue;
      const size = Number(attr(tag, 'font-size') ?? '14');
      const bold = attr(tag, 'font-weight') === 'bold';
      const font = fontFor(attr(tag, 'font-family') ?? 'DejaVu Sans', bold);
      const width = [...text].reduce((w, ch) => w + font.advance(ch.codePointAt(0)!), 0) * size;
      const x = Number(attr(tag, 'x'));
      const y = Number(attr(tag, 'y'));
      const anchor = attr(tag, 'text-anchor') ?? 'start';
      const x0 = anchor === 'middle' ? x - width / 2 : anchor === 'end' ? x - width : x;
      texts.push({
        text,
        size,
        owner: kind,
        ownerTitle: title,
        box: { x0, x1: x0 + width, y0: y - font.ascent * size, y1: y + font.descent * size },
      });
    }
  }
  return { width: viewBox[2]!, height: viewBox[3]!, texts, nodes };
}

/** How many slide pixels one SVG unit becomes when the picture is fitted into a box of the slide. */
export function slideScale(geometry: Pick<SvgGeometry, 'width' | 'height'>, box: { w: number; h: number }): number {
  return Math.min(box.w / geometry.width, box.h / geometry.height);
}

const overlap = (a: Box, b: Box, slack: number) =>
  Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > slack && Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > slack;

/**
 * Lines of text whose glyph boxes intersect, and edge labels drawn over a node.
 * The boxes are the font's glyph boxes (typographic ascent + descent, one em for DejaVu); `slack` (SVG units)
 * forgives touching edges, since Graphviz sets consecutive lines of one label exactly one em apart.
 */
export function overlaps(geometry: SvgGeometry, slack = 1): string[] {
  const found: string[] = [];
  const { texts, nodes } = geometry;
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i]!;
      const b = texts[j]!;
      if (overlap(a.box, b.box, slack)) found.push(`"${a.text}" (${a.owner}) overlaps "${b.text}" (${b.owner})`);
    }
  }
  for (const t of texts.filter((x) => x.owner === 'edge')) {
    for (const n of nodes) {
      if (overlap(t.box, n.box, slack)) found.push(`edge label "${t.text}" (${t.ownerTitle}) lies on box ${n.title}`);
    }
  }
  return found;
}

/** The smallest font size, in slide pixels, and the text that has it. */
export function smallestText(geometry: SvgGeometry, scale: number): { px: number; text: string } {
  let best = { px: Number.POSITIVE_INFINITY, text: '' };
  for (const t of geometry.texts) if (t.size * scale < best.px) best = { px: t.size * scale, text: t.text };
  return best;
}

export interface DiagramOnSlide {
  /** 1-based slide number. */
  readonly slide: number;
  /** Diagram name (docs/rendered/diagrams/<name>.png). */
  readonly diagram: string;
  /** The box Marp fits the image into, in slide pixels. */
  readonly box: { readonly w: number; readonly h: number };
}

/** Slide sizes of Marp's built-in themes (the `size` directive). */
const SLIDE_SIZES: Readonly<Record<string, { w: number; h: number }>> = {
  '16:9': { w: 1280, h: 720 },
  '4:3': { w: 960, h: 720 },
};

/** The slide size a deck declares (Marp's default 16:9 when it declares none). */
export function slideSize(deck: string): { w: number; h: number } {
  const size = /^size:\s*(\S+)/m.exec(deck)?.[1] ?? '16:9';
  const known = SLIDE_SIZES[size];
  if (!known) throw new Error(`the deck's size "${size}" is not one of ${Object.keys(SLIDE_SIZES).join(', ')}`);
  return known;
}

/**
 * Where each diagram image sits in a Marp deck and how large Marp draws it: a background with `contain`/`fit`
 * fills the slide (or its half with `left`/`right`), `w:`/`h:` size an inline image. Anything else is an error,
 * so a new way of placing a picture cannot slip past the legibility test.
 */
export function diagramsOnSlides(deck: string): DiagramOnSlide[] {
  const slide = slideSize(deck);
  const found: DiagramOnSlide[] = [];
  const slides = deck.split(/^---\s*$/m);
  slides.forEach((text, i) => {
    for (const m of text.matchAll(/!\[([^\]]*)\]\(([^)\s]*rendered\/diagrams\/([\w-]+)\.(?:png|svg))\)/g)) {
      const words = m[1]!.split(/\s+/).filter(Boolean);
      const at = (name: string) => Number(words.find((w) => w.startsWith(`${name}:`))?.slice(name.length + 1));
      let box: { w: number; h: number };
      if (words.includes('bg')) {
        if (!words.includes('contain') && !words.includes('fit'))
          throw new Error(`slide ${i + 1}: background ${m[2]} must be "bg contain" or "bg fit" (cover would crop it)`);
        const split = words.find((w) => /^(left|right)(:\d+%)?$/.test(w));
        const share = split ? Number(/:(\d+)%/.exec(split)?.[1] ?? 50) / 100 : 1;
        box = { w: slide.w * share, h: slide.h };
      } else if (at('w') || at('h') || at('width') || at('height')) {
        const w = at('w') || at('width');
        const h = at('h') || at('height');
        box = { w: w || Number.POSITIVE_INFINITY, h: h || Number.POSITIVE_INFINITY };
      } else {
        throw new Error(`slide ${i + 1}: ${m[2]} has no size: use "bg contain" or w:/h: so its scale is known`);
      }
      found.push({ slide: i + 1, diagram: m[3]!, box });
    }
  });
  return found;
}
