import { escapeHtml } from '../../core/index.ts';

/** One bar (or point) of a chart: its label on the x axis and its numbers. */
export interface ChartBucket {
  /** Short axis label, e.g. `12-03` or `14h`. */
  readonly label: string;
  /** Long label for the tooltip, e.g. `2026-12-03`. */
  readonly title: string;
  readonly calls: number;
  readonly errors: number;
  readonly denials: number;
  readonly latencyMs: number;
}

const width = 480;
const height = 170;
const left = 36;
const bottom = 20;
const top = 8;

/**
 * Calls per bucket as an SVG bar chart, errors and denials stacked at the foot of each bar, or (`latency`) the
 * mean latency as a line. Drawn on the server, styled by classes only (the CSP allows no inline style); every bar
 * has a `<title>` with its numbers, and the chart a label for screen readers.
 */
export function renderBarChart(buckets: readonly ChartBucket[], kind: 'calls' | 'latency', label: string): string {
  const values = buckets.map((b) => (kind === 'calls' ? b.calls : b.latencyMs));
  const max = niceMax(Math.max(1, ...values));
  const plotWidth = width - left - 4;
  const plotHeight = height - top - bottom;
  const step = plotWidth / Math.max(1, buckets.length);
  const y = (value: number) => top + plotHeight - (value / max) * plotHeight;
  const every = Math.max(1, Math.ceil(buckets.length / 12));
  const axis = `<line class="axis" x1="${left}" y1="${top + plotHeight}" x2="${width - 4}" y2="${top + plotHeight}"/><line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}"/><text x="${left - 4}" y="${top + 8}" text-anchor="end">${formatNumber(max)}</text><text x="${left - 4}" y="${top + plotHeight}" text-anchor="end">0</text>`;
  const labels = buckets
    .map((b, i) =>
      i % every === 0
        ? `<text x="${(left + i * step + step / 2).toFixed(1)}" y="${height - 6}" text-anchor="middle">${escapeHtml(b.label)}</text>`
        : '',
    )
    .join('');
  let marks: string;
  if (kind === 'calls') {
    const barWidth = Math.max(1, step * 0.7);
    marks = buckets
      .map((b, i) => {
        const x = (left + i * step + (step - barWidth) / 2).toFixed(1);
        const rect = (css: string, from: number, to: number) =>
          to <= from
            ? ''
            : `<rect class="${css}" x="${x}" y="${y(to).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(y(from) - y(to)).toFixed(1)}"/>`;
        const failed = Math.min(b.calls, b.errors + b.denials);
        return `<g><title>${escapeHtml(b.title)}: ${b.calls} calls, ${b.errors} errors, ${b.denials} denials</title>${rect('bar-calls', 0, b.calls)}${rect('bar-denials', 0, Math.min(b.denials, b.calls))}${rect('bar-errors', Math.min(b.denials, b.calls), failed)}</g>`;
      })
      .join('');
  } else {
    const points = buckets.map((b, i) => `${(left + i * step + step / 2).toFixed(1)},${y(b.latencyMs).toFixed(1)}`);
    const dots = buckets
      .map(
        (b, i) =>
          `<circle class="line-latency" cx="${(left + i * step + step / 2).toFixed(1)}" cy="${y(b.latencyMs).toFixed(1)}" r="2"><title>${escapeHtml(b.title)}: ${b.latencyMs} ms mean over ${b.calls} calls</title></circle>`,
      )
      .join('');
    marks = `<polyline class="line-latency" points="${points.join(' ')}"/>${dots}`;
  }
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(label)}" xmlns="http://www.w3.org/2000/svg">${axis}${marks}${labels}</svg>`;
}

/** 1, 2 or 5 times a power of ten at or above `value`, so the axis reads in round numbers. */
function niceMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= value) return factor * power;
  return 10 * power;
}

function formatNumber(value: number): string {
  return value >= 1_000_000 ? `${value / 1_000_000}M` : value >= 1_000 ? `${value / 1_000}k` : String(value);
}
