// The performance report and the slides' figures: built from bench result files, and "not yet measured" without them.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { categoryOf, loadResults, parseResult, unitOf } from '../tools/bench-results.js';
import { buildReport } from '../tools/report.js';
import { figuresTable } from '../tools/slides.js';

const scratch = () => mkdtemp(join(tmpdir(), 'docs-report-'));

test('figures are classified by their names, with units from their suffixes', () => {
  assert.equal(categoryOf('http.rps'), 'throughput');
  assert.equal(categoryOf('latency.p99_ms'), 'latency');
  assert.equal(categoryOf('rollout.web.duration_s'), 'rollout');
  assert.equal(categoryOf('kill.replacement_s'), 'failover');
  assert.equal(categoryOf('restore_100k_rows_s'), 'backup');
  assert.equal(categoryOf('rollout.failed_requests'), 'failures');
  assert.equal(unitOf('latency.p99_ms'), 'ms');
  assert.equal(unitOf('rollout.duration_s'), 's');
  assert.equal(unitOf('rps'), 'req/s');
});

test('a malformed result file is named in the error', () => {
  assert.throws(() => parseResult('broken', '{nope'), /broken\.json is not valid JSON/);
});

test('with no result files every figure is "not yet measured" and no number is made up', async () => {
  const dir = await scratch();
  const out = await scratch();
  const report = await buildReport({ resultsDir: join(dir, 'absent'), out, pagePath: join(out, 'performance.md') });
  assert.equal(report.files, 0);
  assert.equal(report.charts.length, 0);
  assert.match(report.markdown, /not yet measured/i);
  const figures = figuresTable(await loadResults(join(dir, 'absent')));
  assert.equal((figures.match(/not yet measured/g) ?? []).length, 7);
  assert.doesNotMatch(figures.replace(/bench\/results/g, ''), /\d+(\.\d+)? ?(ms|s|req\/s)\b/);
});

test('result files become tables with machine and date, and one SVG chart per category and unit', async () => {
  const dir = await scratch();
  const out = await scratch();
  await writeFile(
    join(dir, 'http.json'),
    JSON.stringify({
      name: 'edge throughput',
      date: '2025-01-31T10:00:00Z',
      machine: { cpus: 2, model: 'test cpu', node: 'v20' },
      results: [
        { name: 'page', rps: 812.5, latency: { p50_ms: 4.2, p99_ms: 31 } },
        { name: 'status', rps: 1500, latency: { p50_ms: 2.1, p99_ms: 12 } },
      ],
    }),
  );
  await writeFile(
    join(dir, 'rollout.json'),
    JSON.stringify({ date: '2025-01-31', rollout: { web: { duration_s: 21.4, failed_requests: 0 } } }),
  );
  const report = await buildReport({ resultsDir: dir, out, pagePath: join(out, 'performance.md') });
  assert.equal(report.files, 2);
  assert.match(report.markdown, /cpus: 2, model: test cpu, node: v20/);
  assert.match(report.markdown, /2025-01-31T10:00:00Z/);
  assert.match(report.markdown, /`results\.page\.rps` \| 813 req\/s/);
  assert.match(report.markdown, /`rollout\.web\.duration_s` \| 21\.4 s/);
  assert.ok(report.charts.length >= 4, `charts: ${report.charts.join(', ')}`);
  const throughput = await readFile(report.charts.find((c) => c.includes('throughput'))!, 'utf8');
  assert.match(throughput, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(throughput, /results\.page\.rps/);
  assert.match(throughput, /1,500 req\/s/);
  assert.match(figuresTable(await loadResults(dir)), /813 req\/s/);
});
