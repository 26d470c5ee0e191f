// The deck answers the assignment: one slide per requirement with how it is met, the figure or test that proves
// it and notes to present from; an agenda, security, cost, disaster recovery with RPO and RTO, and a summary.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DOCS_DIR } from '../tools/paths.js';
import { type DeckSlide, parseDeck } from '../tools/pptx.js';

const SOURCE = readFileSync(join(DOCS_DIR, 'slides', 'deck.md'), 'utf8');
const slides = parseDeck(SOURCE, join(DOCS_DIR, 'slides'));

/** The assignment's requirements, as the slide titles name them. */
const ASSIGNMENT: readonly [string, RegExp][] = [
  ['web and API reachable, the database never', /reachable.*database never/i],
  ['infrastructure as code: AWS CDK and local', /infrastructure as code.*CDK.*local/i],
  ['survives instance failures', /survives instance failures/i],
  ['zero-downtime updates', /zero-downtime/i],
  ['automated deployment with tests', /automated deployment.*tests/i],
  ['daily backups and proven restores', /daily backups.*restores/i],
  ['central logs', /central logs/i],
  ['historical metrics', /historical metrics/i],
  ['CDN', /\bCDN\b/],
  ['runtime scripts: start, stop, scale, backup, restore', /start, stop, scale, backup, restore/i],
];

const text = (s: DeckSlide) =>
  s.blocks.map((b) =>
    b.kind === 'bullets' ? b.items.join('\n') : b.kind === 'table' ? b.rows.flat().join(' ') : b.text,
  );
const titled = (pattern: RegExp) => slides.filter((s) => s.title && pattern.test(s.title));

describe('the deck answers the assignment', () => {
  for (const [name, pattern] of ASSIGNMENT) {
    test(`one slide for "${name}": how it is met, its proof, speaker notes`, () => {
      const found = titled(pattern);
      assert.equal(found.length, 1, `slides titled like ${pattern}: ${found.map((s) => s.title).join('; ') || 'none'}`);
      const slide = found[0]!;
      const body = text(slide);
      assert.ok(
        slide.blocks.some((b) => b.kind === 'bullets' || b.kind === 'table'),
        'no bullets or table saying how it is met',
      );
      const proof = body.find((t) => t.startsWith('**Proof**'));
      assert.ok(proof, 'no "**Proof**:" line');
      assert.match(
        proof,
        /\[\[figure:[a-z0-9-]+\]\]|no bench figure/,
        'the proof names a measured figure, or says none is',
      );
      assert.match(proof, /\.test\.ts/, 'the proof names the tests');
      assert.ok(slide.notes.length >= 250, `speaker notes of ${slide.notes.length} characters`);
    });
  }

  test('agenda, security, cost, disaster recovery with RPO and RTO, and a summary', () => {
    for (const pattern of [/^Agenda$/, /^Security$/, /^Cost\b/, /disaster recovery/i, /^Summary$/])
      assert.equal(titled(pattern).length, 1, `a slide titled ${pattern}`);
    const dr = titled(/disaster recovery/i)[0]!;
    const header = dr.blocks.find((b) => b.kind === 'table')?.rows[0]?.join(' ') ?? '';
    assert.match(header, /RPO/);
    assert.match(header, /RTO/);
  });

  test('every slide has speaker notes someone could present from', () => {
    const thin = slides
      .map((s, i) => ({ slide: i + 1, title: s.title ?? '(picture)', notes: s.notes.length }))
      .filter((s) => s.notes < 150);
    assert.deepEqual(thin, []);
  });
});
