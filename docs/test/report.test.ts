// The performance report and the slides' figures: built from bench result files, and "not yet measured" without them.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { figureRows, figuresSlide, SLIDE_FIGURES } from '../slides/figures.js';
import { categoryOf, parseResult, unitOf } from '../tools/bench-results.js';
import { BENCH_RESULTS_DIR } from '../tools/paths.js';
import { buildReport } from '../tools/report.js';

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
  const figures = figuresSlide(join(dir, 'absent'));
  assert.equal(
    (figures.match(/not yet measured/g) ?? []).length,
    SLIDE_FIGURES.filter((f) => f.inTable !== false).length,
  );
  const measured = figures.split('\n').map((row) => row.split('|')[2] ?? '');
  assert.doesNotMatch(measured.join(' '), /\d/, 'a figure without a result file shows no number');
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
});

test('the slide figures are all in the latest results, with their date and machine: none is stale', () => {
  const rows = figureRows(BENCH_RESULTS_DIR);
  const missing = rows.filter((r) => r.run && !r.measured).map((r) => `${r.source}: ${r.what}`);
  assert.deepEqual(
    missing,
    [],
    'a result file no longer holds the field a slide figure reads: fix docs/slides/figures.ts',
  );
  for (const r of rows.filter((x) => x.run)) {
    assert.match(r.run!.date, /^\d{4}-\d{2}-\d{2}$/, `${r.source}: the run's date`);
    assert.doesNotMatch(r.run!.machine, /not recorded/, `${r.source}: the run's machine`);
  }
});

test('a slide figure is the value in its result file, under a human label', async () => {
  const dir = await scratch();
  const app = {
    machine: { cpuModel: 'test cpu', cores: 4, date: '2031-02-03T04:05:06Z' },
    original: { scram: 10 },
    results: [
      { name: 'api: GET /api/status', reqPerSec: 1234, p99Ms: 7 },
      { name: 'ceiling: node:http + pg, SELECT now()', reqPerSec: 2468 },
    ],
  };
  await writeFile(join(dir, 'app.json'), JSON.stringify(app));
  const slide = figuresSlide(dir);
  assert.match(slide, /\| API `GET \/api\/status`, 32 connections \| \*\*1,234 req\/s \(123x\), p99 7 ms\*\* \|/);
  assert.match(slide, /\| \*\*50 %\*\* \|/);
  assert.match(slide, /app\.json 2031-02-03, test cpu 4 cores/);
  assert.doesNotMatch(slide, /results\.|reqPerSec|p99Ms/, 'no raw JSON paths on the slide');
  assert.match(slide, /ops\.json: no such file/);
});
