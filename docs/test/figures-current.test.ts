// The figures on the committed slides are the newest bench/results', each with the date and machine of its run;
// the cases below prove the check fails on a newer result, a missing date, a hand-typed figure and a reader that
// lost its field.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { figureProblems, figureRows, fillFigureMarkers } from '../slides/figures.js';
import { BENCH_RESULTS_DIR, DOCS_DIR } from '../tools/paths.js';

const SOURCE_DECK = readFileSync(join(DOCS_DIR, 'slides', 'deck.md'), 'utf8');
const RENDERED_DECK = readFileSync(join(DOCS_DIR, 'rendered', 'slides', 'deck.md'), 'utf8');

/** A copy of bench/results to change one file of. */
function resultsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-results-'));
  cpSync(BENCH_RESULTS_DIR, dir, { recursive: true });
  return dir;
}
const editJson = (dir: string, name: string, edit: (j: Record<string, unknown>) => void) => {
  const j = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
  edit(j);
  writeFileSync(join(dir, name), JSON.stringify(j));
};

describe('figures on the slides', () => {
  test('the committed deck shows every figure as the newest result file has it, with its date', () => {
    assert.deepEqual(figureProblems(RENDERED_DECK, SOURCE_DECK, BENCH_RESULTS_DIR), []);
  });

  test('the deck names its figures by marker, in slides and speaker notes', () => {
    const ids = [...SOURCE_DECK.matchAll(/\[\[figure:([a-z0-9-]+)\]\]/g)].map((m) => m[1]);
    assert.ok(new Set(ids).size >= 12, `only ${new Set(ids).size} figures named in docs/slides/deck.md`);
  });

  test('GIVEN a result newer than the render THEN the committed deck is reported stale, naming the figure', () => {
    const dir = resultsCopy();
    editJson(dir, 'ops.json', (j) => {
      (j.rollouts as { tier: string; durationS: number }[]).find((r) => r.tier === 'api')!.durationS = 29.9;
    });
    const problems = figureProblems(RENDERED_DECK, SOURCE_DECK, dir);
    assert.ok(
      problems.some((p) => /Rollout, api tier/.test(p) && /29\.9 s/.test(p) && /stale/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /\[\[figure:rollout-api\]\]/.test(p)),
      'the figure in running text is checked too',
    );
  });

  test('GIVEN two files that measure one figure THEN the newer one is shown, whichever it is', () => {
    const dir = resultsCopy();
    const restart = () => figureRows(dir).find((r) => r.id === 'db-restart')!;
    editJson(dir, 'ops.json', (j) => {
      j.measuredAt = '2099-01-01T00:00:00Z';
    });
    assert.equal(restart().source, 'ops.json');
    assert.match(restart().measured!, /s down/);
    editJson(dir, 'ops.json', (j) => {
      j.measuredAt = '2000-01-01T00:00:00Z';
    });
    assert.equal(restart().source, 'failure-handling.md');
    assert.match(restart().measured!, /restarts/);
  });

  test('GIVEN a result file without the date of its run THEN its figures are reported', () => {
    const dir = resultsCopy();
    editJson(dir, 'ops.json', (j) => {
      delete j.measuredAt;
    });
    const problems = figureProblems(RENDERED_DECK, SOURCE_DECK, dir);
    assert.ok(
      problems.some((p) => /ops\.json records no date/.test(p)),
      problems.join('\n'),
    );
  });

  test('GIVEN a figures-slide row without a date THEN it is reported', () => {
    const row = RENDERED_DECK.split('\n').find((l) => l.startsWith('| Restore point'))!;
    const undated = RENDERED_DECK.replace(row, row.replace(/\d{4}-\d{2}-\d{2}/, 'some day'));
    assert.ok(figureProblems(undated, SOURCE_DECK, BENCH_RESULTS_DIR).some((p) => /Restore point.*no date/.test(p)));
  });

  test('GIVEN a measured value typed into deck.md THEN it is reported, with the marker to write instead', () => {
    const restore = figureRows(BENCH_RESULTS_DIR).find((r) => r.id === 'restore-point')!;
    const typed = `${SOURCE_DECK}\n\nThe archive keeps up: ${restore.measured}.\n`;
    assert.ok(
      figureProblems(RENDERED_DECK, typed, BENCH_RESULTS_DIR).some((p) => /write \[\[figure:restore-point\]\]/.test(p)),
    );
  });

  test('GIVEN a result file that lost a field THEN its reader is reported, not a figure left out silently', () => {
    const dir = resultsCopy();
    editJson(dir, 'ops.json', (j) => {
      delete j.rollouts;
    });
    const problems = figureProblems(RENDERED_DECK, SOURCE_DECK, dir);
    assert.ok(
      problems.some((p) => /rollout-api: ops\.json exists but does not hold/.test(p)),
      problems.join('\n'),
    );
  });

  test('markers become bold figures on slides and plain ones in speaker notes; an unknown marker is an error', () => {
    const deck = fillFigureMarkers(
      '- [[figure:restore-point]]\n<!-- said: [[figure:restore-point]] -->',
      BENCH_RESULTS_DIR,
    );
    assert.match(deck, /^- \*\*[\d.]+ s\*\* \(ops\.json \d{4}-\d{2}-\d{2}, 2 cores\)/);
    assert.match(deck, /<!-- said: [\d.]+ s \(ops\.json \d{4}-\d{2}-\d{2}, 2 cores\) -->/);
    assert.throws(() => fillFigureMarkers('[[figure:nope]]', BENCH_RESULTS_DIR), /\[\[figure:nope\]\].*figures\.ts/);
  });
});
