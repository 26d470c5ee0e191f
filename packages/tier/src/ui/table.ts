// Plain-text tables and a small bar/sparkline chart for terminal output.
export function table(rows: readonly object[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const cells = rows.map((row) => cols.map((c) => format((row as Record<string, unknown>)[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

function format(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  return String(value);
}

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** One character per value, scaled to the series' own maximum. */
export function sparkline(values: number[]): string {
  const max = Math.max(...values, 0);
  if (max === 0) return BLOCKS[0]!.repeat(values.length);
  return values.map((v) => BLOCKS[Math.min(BLOCKS.length - 1, Math.round((v / max) * (BLOCKS.length - 1)))]).join('');
}

/** Horizontal bars for labelled values, scaled to the largest. */
export function bars(items: { label: string; value: number; unit?: string }[], width = 40): string {
  const max = Math.max(...items.map((i) => i.value), 0);
  const labelWidth = Math.max(...items.map((i) => i.label.length), 0);
  return items
    .map((i) => {
      const n = max === 0 ? 0 : Math.round((i.value / max) * width);
      return `${i.label.padEnd(labelWidth)} ${'█'.repeat(n)}${n === 0 ? '' : ' '}${i.value.toFixed(1)}${i.unit ?? ''}`;
    })
    .join('\n');
}
