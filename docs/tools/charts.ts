// Horizontal bar charts as plain SVG text: no library, readable in a browser, on GitHub and in the slides.
import { escapeHtml } from '../diagrams/dot.js';

export interface Bar {
  readonly label: string;
  readonly value: number;
}

export interface BarChart {
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly Bar[];
  /** Optional goal drawn as a vertical line, e.g. 30 s for a rollout. */
  readonly target?: { readonly value: number; readonly label: string };
}

const COLORS = ['#1F5FA8', '#2E7D32', '#C25400', '#6B3FA0', '#00838F', '#8E2458'];

export function barChartSvg(chart: BarChart): string {
  const labelWidth = 330;
  const plotWidth = 420;
  const barHeight = 22;
  const gap = 8;
  const top = 44;
  const height = top + chart.bars.length * (barHeight + gap) + 30;
  const width = labelWidth + plotWidth + 110;
  const max = Math.max(...chart.bars.map((b) => b.value), chart.target?.value ?? 0, 1e-9);
  const x = (v: number) => labelWidth + (v / max) * plotWidth;
  const unit = chart.unit && chart.unit !== 'count' ? ` ${chart.unit}` : '';
  const rows = chart.bars.map((b, i) => {
    const y = top + i * (barHeight + gap);
    const w = Math.max(1, x(b.value) - labelWidth);
    const label = b.label.length > 48 ? `${b.label.slice(0, 46)}...` : b.label;
    return [
      `<text x="${labelWidth - 8}" y="${y + barHeight * 0.7}" text-anchor="end">${escapeHtml(label)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${COLORS[i % COLORS.length]}" rx="3"/>`,
      `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + barHeight * 0.7}">${escapeHtml(`${formatNumber(b.value)}${unit}`)}</text>`,
    ].join('');
  });
  const target = chart.target
    ? `<line x1="${x(chart.target.value).toFixed(1)}" y1="${top - 6}" x2="${x(chart.target.value).toFixed(1)}" y2="${height - 24}" stroke="#C62828" stroke-dasharray="5,4"/>` +
      `<text x="${x(chart.target.value).toFixed(1)}" y="${height - 10}" text-anchor="middle" fill="#C62828">${escapeHtml(chart.target.label)}</text>`
    : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="12" y="24" font-size="15" font-weight="bold">${escapeHtml(chart.title)}</text>`,
    `<line x1="${labelWidth}" y1="${top - 6}" x2="${labelWidth}" y2="${height - 24}" stroke="#9E9E9E"/>`,
    ...rows,
    target,
    '</svg>',
    '',
  ].join('\n');
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2 });
}
