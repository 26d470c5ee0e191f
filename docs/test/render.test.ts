// `npm run docs:render` runs (into a scratch folder, never over the committed output) and produces non-trivial files:
// SVGs with the expected labels, PNGs of some size, a PDF without local links, a PPTX and one PNG per slide; the
// committed diagrams are up to date with their sources; the PPTX has real text and speaker notes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { diagrams } from '../diagrams/index.js';
import { DOCS_DIR, REPO_DIR } from '../tools/paths.js';
import { unzip } from './support.js';

let out = '';

before(async () => {
  out = await mkdtemp(join(tmpdir(), 'docs-render-'));
  execFileSync('npm', ['run', 'docs:render'], {
    cwd: REPO_DIR,
    env: { ...process.env, DOCS_OUT: out },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 5 * 60_000,
  });
});

const EXPECTED_LABELS: Record<string, string[]> = {
  'aws-overview': ['CloudFront + WAF', 'web ALB', 'api ALB', 'ECS web', 'ECS api', 'RDS PostgreSQL 17', 'AWS Backup'],
  'aws-network': ['AWS WAF web ACL', 'CloudFront', 'NAT gateways', 'RDS standby', 'AZ a', 'AZ c', 'tcp 5432'],
  'aws-data': ['RDS primary', 'RDS standby', 'Secrets Manager', 'KMS keys', 'AWS Backup'],
  'aws-delivery': ['GitHub Actions', 'Deploy role (OIDC)', 'ECR', 'CloudWatch Logs', 'CloudWatch metrics'],
  'local-environment': ['edge (Varnish)', 'web-lb (HAProxy)', 'api-lb (HAProxy)', 'db (PostgreSQL 17 + pgBackRest)'],
  'local-operations': ['prometheus', 'log-shipper (rsyslog)', 'backup (scheduler)', 'volume backups'],
  'request-path': ['1. Client', '2. Edge cache', '6. api replica', '7. PostgreSQL 17'],
  'delivery-pipeline': ['changes', 'verify', 'build', 'staging', 'production', 'environment: production', 'e2e'],
};

/** Graphviz writes text as XML with numeric entities (`-` is `&#45;`): decode before comparing. */
const decode = (s: string) =>
  s
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');

async function head(file: string, n: number): Promise<Buffer> {
  return (await readFile(file)).subarray(0, n);
}

describe('npm run docs:render', () => {
  for (const d of diagrams) {
    test(`${d.name}: SVG names every expected box, PNG is a real picture`, async () => {
      const svg = decode(await readFile(join(out, 'diagrams', `${d.name}.svg`), 'utf8'));
      assert.match(svg, /<svg[\s>]/);
      for (const label of EXPECTED_LABELS[d.name] ?? [])
        assert.ok(svg.includes(label), `${d.name}.svg lacks "${label}"`);
      const png = join(out, 'diagrams', `${d.name}.png`);
      assert.deepEqual([...(await head(png, 8))], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.ok((await stat(png)).size > 50_000, `${d.name}.png is suspiciously small`);
    });

    test(`${d.name}: the committed drawing is up to date with its source`, async () => {
      const committed = join(DOCS_DIR, 'rendered', 'diagrams', `${d.name}.dot`);
      assert.ok(existsSync(committed), `${committed} is missing: run npm run docs:render and commit docs/rendered`);
      assert.equal(
        await readFile(committed, 'utf8'),
        await readFile(join(out, 'diagrams', `${d.name}.dot`), 'utf8'),
        `docs/rendered/diagrams/${d.name}.dot is stale: run npm run docs:render and commit docs/rendered`,
      );
    });
  }

  test('the slides are exported to PDF, PPTX and one PNG per slide, with the diagrams in them', async () => {
    const slides = (await readFile(join(DOCS_DIR, 'slides', 'deck.md'), 'utf8')).split(/^---\s*$/m).length;
    const pdf = join(out, 'slides', 'deck.pdf');
    assert.equal((await head(pdf, 5)).toString('latin1'), '%PDF-');
    assert.ok((await stat(pdf)).size > 200_000, 'the PDF is too small to hold the diagrams');
    // A browser-made PDF turns relative links into this machine's file:// paths; the deck must have none.
    assert.doesNotMatch((await readFile(pdf)).toString('latin1'), /file:\/\//, 'the PDF links to local files');
    const pngs = (await readdir(join(out, 'slides'))).filter((f) => /^deck\.\d{3}\.png$/.test(f));
    assert.equal(pngs.length, slides, 'one PNG per slide');
  });

  test('the PPTX has every slide with real text, tables, pictures and speaker notes', async () => {
    const slides = (await readFile(join(DOCS_DIR, 'slides', 'deck.md'), 'utf8')).split(/^---\s*$/m).length;
    const zip = unzip(await readFile(join(out, 'slides', 'deck.pptx')));
    const slideXml = [...zip.keys()].filter((k) => /^ppt\/slides\/slide\d+\.xml$/.test(k));
    assert.equal(slideXml.length, slides, 'one PPTX slide per deck slide');
    const text = (name: string) =>
      [...(zip.get(name) ?? '').matchAll(/<a:t>([^<]*)<\/a:t>/g)].map((m) => m[1]).join(' ');
    const all = slideXml.map(text).join('\n');
    for (const words of ['Agenda', 'Security', 'Backups and disaster recovery', 'RTO (back in service)', 'Summary'])
      assert.ok(all.includes(words), `the PPTX has no text "${words}"`);
    assert.ok(
      slideXml.some((k) => (zip.get(k) ?? '').includes('<a:tbl>')),
      'the PPTX has no native table',
    );
    assert.ok(
      [...zip.keys()].some((k) => k.startsWith('ppt/media/')),
      'the PPTX has no pictures',
    );
    const notes = [...zip.keys()].filter((k) => /^ppt\/notesSlides\/notesSlide\d+\.xml$/.test(k)).map(text);
    assert.ok(notes.filter((n) => n.length > 80).length >= slides - 2, 'slides without speaker notes');
  });

  test('the committed slide pictures are one per slide of the deck', async () => {
    const slides = (await readFile(join(DOCS_DIR, 'slides', 'deck.md'), 'utf8')).split(/^---\s*$/m).length;
    const committed = (await readdir(join(DOCS_DIR, 'rendered', 'slides'))).filter((f) => /^deck\.\d{3}\.png$/.test(f));
    assert.equal(committed.length, slides, 'docs/rendered/slides/deck.NNN.png are stale: run npm run docs:render');
  });

  test('the assembled deck carries a slide per requirement and the figures, and no unfilled marker', async () => {
    const deck = await readFile(join(out, 'slides', 'deck.md'), 'utf8');
    assert.doesNotMatch(deck, /<!-- (figures|cost|requirements:\d) -->|\[\[figure:/);
    assert.equal((deck.match(/^## Requirement \d+\/10: /gm) ?? []).length, 10);
    assert.match(deck, /\| what \| measured \| goal \| run \|/);
    assert.match(deck, /\| \*\*total\*\* \|/, 'the cost table from infra/aws/README.md');
  });

  test('the report and the requirements page are written with the output', async () => {
    assert.match(await readFile(join(out, 'performance.md'), 'utf8'), /^# Performance report/);
    assert.match(await readFile(join(out, 'requirements.md'), 'utf8'), /proved by/);
  });
});
