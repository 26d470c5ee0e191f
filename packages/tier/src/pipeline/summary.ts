// The pipeline's closing summary: one row per stage (stage, duration, result, detail) and one result line.
import { table } from '../ui/table.js';
import type { PipelineReport } from './run-pipeline.js';

const MARK = { ok: '✔ ok', failed: '✖ FAILED', skipped: '- skipped' } as const;

export function renderSummary(report: PipelineReport): string {
  const rows = report.stages.map((s) => ({
    stage: s.stage,
    duration: s.result === 'skipped' ? '-' : `${(s.durationMs / 1000).toFixed(1)}s`,
    result: MARK[s.result],
    detail: s.detail.length > 90 ? `${s.detail.slice(0, 89)}…` : s.detail,
  }));
  const total = `${(report.totalMs / 1000).toFixed(1)}s`;
  const deployed = report.deployed.filter((r) => r.outcome === 'succeeded').map((r) => r.tier);
  const rolledBack = report.rolledBack.map((r) => `${r.tier} -> ${r.version}`);
  const last = report.ok
    ? `✔ pipeline ${report.version}: ${deployed.length ? `${deployed.join(' + ')} live` : 'nothing to deploy'} in ${total}`
    : `✖ pipeline ${report.version} failed in ${total}${rolledBack.length ? `; rolled back ${rolledBack.join(', ')}` : ''}`;
  return `${table(rows, ['stage', 'duration', 'result', 'detail'])}\n\n${last}`;
}
