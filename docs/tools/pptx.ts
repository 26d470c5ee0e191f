// Writes the assembled deck (markdown) as a PPTX with real, editable text: titles, bullets and tables as
// PowerPoint text and tables, pictures as images, the deck's notes as speaker notes. Marp's own PPTX export is a
// picture per slide, which can be neither edited nor searched.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type * as Pptx from 'pptxgenjs';
import pptxgenjs from 'pptxgenjs';

// The package's types describe a CommonJS module (the class under `.default`); its ESM build, which Node loads,
// exports the class itself as default.
const PptxGenJS = ((pptxgenjs as unknown as { default?: unknown }).default ?? pptxgenjs) as new () => Pptx.default;

/** The slide is 1,280 CSS px wide and 13.333 in (960 pt) in PowerPoint's wide layout: 1 px = 0.75 pt. */
const PT_PER_PX = 0.75;
const SLIDE = { w: 13.333, h: 7.5 };
const MARGIN = 0.55;
const FONT = 'DejaVu Sans';
const MONO = 'DejaVu Sans Mono';

export interface DeckSlide {
  readonly title?: string;
  /** `#` (the opening slide) or `##`. */
  readonly level: 1 | 2;
  readonly blocks: readonly Block[];
  readonly image?: string;
  readonly notes: string;
  readonly dense: boolean;
}

export type Block =
  | { readonly kind: 'bullets'; readonly ordered: boolean; readonly items: readonly string[] }
  | { readonly kind: 'table'; readonly rows: readonly (readonly string[])[] }
  | { readonly kind: 'paragraph'; readonly text: string };

const DIRECTIVE = /^\s*(marp:|_?[a-z]+:|figures|cost|requirements:\d)/;

/** Splits an assembled Marp deck into slides with their blocks, picture and notes. */
export function parseDeck(markdown: string, deckDir: string): DeckSlide[] {
  const body = markdown.replace(/<style>[\s\S]*?<\/style>/g, '');
  return body.split(/^---\s*$/m).map((chunk) => {
    const comments = [...chunk.matchAll(/<!--([\s\S]*?)-->/g)].map((m) => m[1]!.trim());
    const notes = comments
      .filter((c) => !DIRECTIVE.test(c))
      .join('\n\n')
      .replace(/\s*\n\s*/g, ' ');
    const dense = comments.some((c) => /_class:\s*dense/.test(c));
    const text = chunk.replace(/<!--[\s\S]*?-->/g, '');
    const image = /!\[[^\]]*\]\(([^)\s]+\.png)\)/.exec(text)?.[1];
    const lines = text
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => !/^!\[/.test(l.trim()));
    let title: string | undefined;
    let level: 1 | 2 = 2;
    const blocks: Block[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const heading = /^(#{1,2}) (.*)$/.exec(line);
      if (heading) {
        title = heading[2]!;
        level = heading[1]!.length === 1 ? 1 : 2;
      } else if (/^\s*([-*]|\d+\.) /.test(line)) {
        const ordered = /^\s*\d+\./.test(line);
        const items: string[] = [];
        while (i < lines.length && /^\s*([-*]|\d+\.) /.test(lines[i]!)) {
          items.push(lines[i]!.replace(/^\s*([-*]|\d+\.) /, ''));
          i++;
        }
        i--;
        blocks.push({ kind: 'bullets', ordered, items });
      } else if (line.startsWith('|')) {
        const rows: string[][] = [];
        while (i < lines.length && lines[i]!.startsWith('|')) {
          const cells = lines[i]!.split('|')
            .slice(1, -1)
            .map((c) => c.trim());
          if (!cells.every((c) => /^:?-+:?$/.test(c))) rows.push(cells);
          i++;
        }
        i--;
        blocks.push({ kind: 'table', rows });
      } else if (line.trim()) {
        blocks.push({ kind: 'paragraph', text: line.trim() });
      }
    }
    return {
      ...(title ? { title } : {}),
      level,
      blocks,
      ...(image ? { image: resolve(deckDir, image) } : {}),
      notes,
      dense,
    };
  });
}

type Run = Pptx.default.TextProps;

/** Inline markdown (`code`, **bold**, _italic_, <br>) as text runs. */
export function runs(text: string, base: Pptx.default.TextPropsOptions = {}): Run[] {
  const out: Run[] = [];
  const pattern = /(`[^`]+`|\*\*[^*]+\*\*|(?<![\w])_[^_]+_(?![\w])|<br>)/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index! > last) out.push({ text: text.slice(last, m.index), options: { ...base } });
    const t = m[0];
    if (t === '<br>') out.push({ text: '', options: { ...base, breakLine: true } });
    else if (t.startsWith('`')) out.push({ text: t.slice(1, -1), options: { ...base, fontFace: MONO } });
    else if (t.startsWith('**')) out.push({ text: t.slice(2, -2), options: { ...base, bold: true } });
    else out.push({ text: t.slice(1, -1), options: { ...base, italic: true } });
    last = m.index! + t.length;
  }
  if (last < text.length) out.push({ text: text.slice(last), options: { ...base } });
  return out.map((r) => ({
    ...r,
    text: (r.text ?? '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'),
  }));
}

function pngSize(file: string): { w: number; h: number } {
  const head = readFileSync(file).subarray(16, 24);
  return { w: head.readUInt32BE(0), h: head.readUInt32BE(4) };
}

export async function writePptx(deckFile: string, target: string): Promise<number> {
  const slides = parseDeck(readFileSync(deckFile, 'utf8'), dirname(deckFile));
  const pptx = new PptxGenJS();
  pptx.layout = 'LAYOUT_WIDE';
  pptx.title = 'Three-tier platform - architecture and delivery';
  for (const s of slides) {
    const slide = pptx.addSlide();
    if (s.notes) slide.addNotes(s.notes);
    if (s.image) {
      // "bg contain": the picture as large as the slide allows, centred.
      const { w, h } = pngSize(s.image);
      const k = Math.min(SLIDE.w / w, SLIDE.h / h);
      slide.addImage({ path: s.image, x: (SLIDE.w - w * k) / 2, y: (SLIDE.h - h * k) / 2, w: w * k, h: h * k });
      continue;
    }
    const bodyPx = s.dense ? 19 : 24;
    const tablePx = s.dense ? 15 : 17;
    let y = MARGIN;
    if (s.title) {
      const px = s.level === 1 ? 40 : 32;
      slide.addText(s.title, {
        x: MARGIN,
        y,
        w: SLIDE.w - 2 * MARGIN,
        h: 0.8,
        fontFace: FONT,
        fontSize: px * PT_PER_PX,
        bold: true,
        color: s.level === 1 ? '232F3E' : '1F5FA8',
      });
      y += 0.95;
    }
    for (const b of s.blocks) {
      const w = SLIDE.w - 2 * MARGIN;
      if (b.kind === 'table') {
        const rows = b.rows.map((row, r) =>
          row.map((cell) => ({
            text: runs(cell, { bold: r === 0, fontSize: tablePx * PT_PER_PX, fontFace: FONT }),
            options: { fill: { color: r === 0 ? 'EEEEEE' : 'FFFFFF' } },
          })),
        );
        const lineIn = (tablePx * 1.5) / 96;
        const h = rows.reduce((sum, row) => {
          const lines = Math.max(...row.map((c) => c.text.filter((t) => t.options?.breakLine).length + 1));
          return sum + lines * lineIn + 0.1;
        }, 0);
        slide.addTable(rows, { x: MARGIN, y, w, border: { type: 'solid', pt: 0.75, color: 'BDBDBD' }, margin: 0.05 });
        y += h + 0.2;
      } else {
        const items = b.kind === 'bullets' ? b.items : [b.text];
        const text = items.flatMap((item, i) => {
          const r = runs(item, { fontSize: bodyPx * PT_PER_PX, fontFace: FONT });
          r[r.length - 1]!.options = { ...r[r.length - 1]!.options, breakLine: i < items.length - 1 };
          if (b.kind === 'bullets')
            r[0]!.options = { ...r[0]!.options, bullet: b.ordered ? { type: 'number' } : true, paraSpaceBefore: 4 };
          return r;
        });
        // Rough height: characters per line from the width, 1.35 lines per px of font.
        const perLine = Math.floor((w * 96) / (bodyPx * 0.55));
        const lines = items.reduce((n, it) => n + Math.ceil(it.length / perLine), 0);
        const h = (lines * bodyPx * 1.4) / 96 + 0.1;
        slide.addText(text, { x: MARGIN, y, w, h, valign: 'top', margin: 0 });
        y += h + 0.12;
      }
    }
  }
  await pptx.writeFile({ fileName: target });
  return slides.length;
}
