// Relative links in docs/**/*.md resolve to files, and every test file the docs name exists.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { requirements } from '../slides/requirements.js';
import { DOCS_DIR, REPO_DIR } from '../tools/paths.js';
import { markdownFiles, readText } from './support.js';

/** Link targets of a markdown text: [text](target) and ![alt](target), outside code blocks and spans. */
export function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*([^)\s]+)(?:\s+"[^"]*")?\s*\)/g)]
    .map((m) => m[1]!)
    .filter((t) => !/^([a-z][a-z0-9+.-]*:|#)/i.test(t));
}

test('the link extractor skips external links, anchors and code', () => {
  const md = '[a](b.md) ![c](img/d.png "t") [e](https://x.org) [f](#top) `[g](h.md)`\n```\n[i](j.md)\n```';
  assert.deepEqual(relativeLinks(md), ['b.md', 'img/d.png']);
});

test('every relative link in docs/ resolves', async () => {
  const broken: string[] = [];
  let count = 0;
  for (const file of await markdownFiles(DOCS_DIR)) {
    for (const link of relativeLinks(await readText(file))) {
      count++;
      const target = resolve(dirname(file), decodeURIComponent(link.split('#')[0]!));
      if (!existsSync(target)) broken.push(`${file.slice(DOCS_DIR.length + 1)} -> ${link}`);
    }
  }
  assert.ok(count > 30, `expected the docs to link to each other, found ${count} links`);
  assert.deepEqual(broken, []);
});

test('every test file the requirements table names exists', () => {
  const missing = requirements.flatMap((r) => r.tests).filter((t) => !existsSync(join(REPO_DIR, t)));
  assert.deepEqual(missing, []);
});

test('every *.test.ts path written in the docs exists', async () => {
  const missing: string[] = [];
  for (const file of await markdownFiles(DOCS_DIR)) {
    for (const m of (await readText(file)).matchAll(
      /(?<![\w./(-])(?:apps|packages|infra|test|docs|bench|scripts)\/[\w./-]+\.test\.ts/g,
    )) {
      if (!existsSync(join(REPO_DIR, m[0]))) missing.push(`${file.slice(DOCS_DIR.length + 1)}: ${m[0]}`);
    }
  }
  assert.deepEqual(missing, []);
});
