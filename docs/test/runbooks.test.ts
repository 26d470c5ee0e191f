// Each runbook says when to use it, what the commands print, how to verify, how to roll back and when it was last
// drilled; a drill's figure is the newest bench/results' (with its date), and `cdk` commands name real stack ids.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { figureRows, inlineFigure } from '../slides/figures.js';
import { BENCH_RESULTS_DIR, DOCS_DIR, REPO_DIR } from '../tools/paths.js';

const RUNBOOKS = join(DOCS_DIR, 'runbooks');
const runbooks = readdirSync(RUNBOOKS)
  .filter((f) => f.endsWith('.md') && f !== 'README.md')
  .sort()
  .map((f) => ({ name: f, text: readFileSync(join(RUNBOOKS, f), 'utf8') }));

const SECTIONS = ['When to use', 'Expected output', 'Verify', 'Roll back', 'Last drill'];

/** `(figure <id>) <value> (<file> <date>, <machine>)` lines that are not what the results say now. */
export function staleDrills(text: string, dir: string): string[] {
  const rows = new Map(figureRows(dir).map((r) => [r.id, r]));
  const problems: string[] = [];
  for (const m of text.matchAll(/\(figure ([a-z0-9-]+)\) ([^\n]*)/g)) {
    const row = rows.get(m[1]!);
    if (!row) problems.push(`(figure ${m[1]}) is not defined in docs/slides/figures.ts`);
    else if (!m[2]!.startsWith(inlineFigure(row, true)))
      problems.push(`(figure ${m[1]}) says "${m[2]}"; the newest result says "${inlineFigure(row, true)}"`);
  }
  return problems;
}

/** The CDK stack ids the app defines (`new XStack(app, 'Id', ...)`): what `cdk deploy <id>` selects. */
const STACK_IDS = new Set(
  [
    ...readFileSync(join(REPO_DIR, 'infra', 'aws', 'lib', 'platform.ts'), 'utf8').matchAll(
      /new \w+Stack\(app, '(\w+)'/g,
    ),
  ].map((m) => m[1]!),
);

describe('runbooks', () => {
  test('the app defines the stack ids the runbooks may name', () => {
    for (const id of ['Network', 'Data', 'Services', 'Edge', 'Registry', 'PipelineAccess'])
      assert.ok(STACK_IDS.has(id), `platform.ts has no stack ${id}: ${[...STACK_IDS].join(', ')}`);
  });

  for (const { name, text } of runbooks) {
    test(`${name}: when to use, expected output, verify, roll back, last drill`, () => {
      const headings = [...text.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!.trim());
      const missing = SECTIONS.filter((s) => !headings.some((h) => h.startsWith(s)));
      assert.deepEqual(missing, [], `${name} lacks sections; it has: ${headings.join(' | ')}`);
      const drill = text.split(/^## Last drill$/m)[1] ?? '';
      assert.match(
        drill,
        /\d{4}-\d{2}-\d{2}|[Nn]ot drilled|[Nn]ever drilled|no dated result/,
        'the last drill: a date, or says none',
      );
    });

    test(`${name}: its drill figures are the newest results', and its cdk commands name real stacks`, () => {
      assert.deepEqual(staleDrills(text, BENCH_RESULTS_DIR), []);
      const wrong: string[] = [];
      for (const m of text.matchAll(/npx cdk (?:deploy|destroy|diff)((?: +[^\s`]+)*)/g)) {
        const args = m[1]!.trim().split(/\s+/).filter(Boolean);
        for (let i = 0; i < args.length; i++) {
          const a = args[i]!;
          if (a === '-c' || a === '--require-approval' || a === '--qualifier') i++;
          else if (!a.startsWith('-') && !STACK_IDS.has(a)) wrong.push(a);
        }
      }
      assert.deepEqual(wrong, [], `cdk selects stacks by id (${[...STACK_IDS].join(', ')})`);
    });
  }

  test('GIVEN a newer result THEN a runbook quoting the old drill figure is reported', () => {
    const text = '- api rollout: (figure rollout-api) 1.0 s, 0 failed of 10 (ops.json 2000-01-01, 2 cores)';
    assert.match(staleDrills(text, BENCH_RESULTS_DIR)[0] ?? '', /the newest result says/);
    assert.match(staleDrills('(figure nope) 1 s', BENCH_RESULTS_DIR)[0] ?? '', /not defined/);
  });
});
