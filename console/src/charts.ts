import { h, svg } from './dom.js';

/**
 * Small hand-written SVG charts: a line chart of series over time and a bar chart of a ranking.
 * Colours come from the stylesheet (classes c0..c7), so the page keeps its strict CSP.
 */
export interface Series {
  name: string;
  /** [x, y]: x is ms since the epoch (time axis) or a plain number. */
  points: [number, number][];
}

const W = 560;
const H = 220;
const M = { top: 12, right: 12, bottom: 30, left: 64 };

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS: readonly number[] = [SECOND, 5 * SECOND, 15 * SECOND, 30 * SECOND, MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 30 * DAY];

/** Steps of a duration axis (ms): sub-second ones too. */
const DURATION_STEPS: readonly number[] = [1, 5, 10, 50, 100, 250, 500, ...TIME_STEPS];

/** A round step that cuts `span` into at most about `count` parts: from `steps` if given (durations), else 1, 2, 2.5, 5 x 10^n. */
export function niceStep(span: number, count: number, steps?: readonly number[]): number {
  const raw = span / count;
  if (steps) return steps.find((s) => s >= raw) ?? Math.ceil(raw / steps.at(-1)!) * steps.at(-1)!;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
}

/** Ticks of a value axis from 0 up to the first step at or above `max`, so every point is under the top line. */
export function valueTicks(max: number, count = 4, steps?: readonly number[]): number[] {
  if (!(max > 0)) return [0, 1];
  const step = niceStep(max, count, steps);
  const out: number[] = [];
  for (let i = 0; i * step < max + step * 1e-9; i++) out.push(i * step);
  if (out.at(-1)! < max) out.push(out.length * step);
  return out;
}

/** About `count` ticks on a UTC time axis, on whole seconds, minutes, hours or days. */
export function timeTicks(min: number, max: number, count = 5): { values: number[]; step: number } {
  const step = TIME_STEPS.find((s) => (max - min) / s <= count) ?? TIME_STEPS.at(-1)!;
  const values: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max; v += step) values.push(v);
  return { values, step };
}

function timeLabel(ms: number, step: number): string {
  const iso = new Date(ms).toISOString();
  return step >= DAY ? iso.slice(5, 10) : step >= MINUTE ? iso.slice(11, 16) : iso.slice(11, 19);
}

function legend(series: { name: string }[]): HTMLElement {
  return h('ul', { class: 'legend' }, series.map((s, i) => h('li', {}, h('span', { class: `swatch c${i % 8}` }), s.name)));
}

/** A line chart; `time` makes x a UTC time axis. Returns a <figure> with a caption and a legend. */
export function lineChart(title: string, series: Series[], options: { time?: boolean; durations?: boolean; format: (v: number) => string }): HTMLElement {
  const all = series.flatMap((s) => s.points);
  const fig = h('figure', { class: 'chart', 'data-chart': title });
  fig.append(h('figcaption', {}, title));
  if (all.length === 0) {
    fig.append(h('p', { class: 'empty' }, 'No data yet.'));
    return fig;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const yMax = Math.max(...all.map((p) => p[1]), 0);
  const yTicks = valueTicks(yMax, 4, options.durations ? DURATION_STEPS : undefined);
  const top = yTicks.at(-1)!;
  const x = (v: number): number => M.left + ((v - x0) / (x1 - x0)) * (W - M.left - M.right);
  const y = (v: number): number => H - M.bottom - (v / top) * (H - M.top - M.bottom);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'plot' });
  for (const t of yTicks) {
    chart.append(svg('line', { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), class: 'grid' }));
    chart.append(svg('text', { x: M.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, options.format(t)));
  }
  const xTicks = options.time ? timeTicks(x0, x1, 5) : { values: valueTicks(x1, 5).filter((t) => t >= x0), step: 0 };
  for (const t of xTicks.values.filter((t) => t >= x0 && t <= x1)) {
    chart.append(svg('text', { x: x(t), y: H - M.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, options.time ? timeLabel(t, xTicks.step) : String(t)));
  }
  chart.append(svg('line', { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, class: 'axis' }));
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) chart.append(svg('polyline', { points: pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' '), class: `line c${i % 8}` }));
    for (const p of pts) {
      const dot = svg('circle', { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 3, class: `dot c${i % 8}` });
      dot.append(svg('title', {}, `${s.name}: ${options.format(p[1])} at ${options.time ? new Date(p[0]).toISOString().replace('T', ' ').slice(0, 19) : p[0]}`));
      chart.append(dot);
    }
  });
  fig.append(chart, legend(series));
  return fig;
}

/** Horizontal bars, largest first as given: a ranking. */
export function barChart(title: string, bars: { label: string; value: number }[], format: (v: number) => string): HTMLElement {
  const fig = h('figure', { class: 'chart', 'data-chart': title });
  fig.append(h('figcaption', {}, title));
  if (bars.length === 0) {
    fig.append(h('p', { class: 'empty' }, 'No data yet.'));
    return fig;
  }
  const rowH = 24;
  const labelW = 170;
  const height = bars.length * rowH + 8;
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-label': title, class: 'plot' });
  bars.forEach((b, i) => {
    const top = 4 + i * rowH;
    const width = Math.max(1, (Math.max(b.value, 0) / max) * (W - labelW - 80));
    const label = b.label.length > 26 ? `${b.label.slice(0, 25)}…` : b.label;
    chart.append(svg('text', { x: labelW - 8, y: top + 16, 'text-anchor': 'end', class: 'tick' }, label));
    const rect = svg('rect', { x: labelW, y: top + 3, width: width.toFixed(1), height: rowH - 8, class: 'bar c0' });
    rect.append(svg('title', {}, `${b.label}: ${format(b.value)}`));
    chart.append(rect);
    chart.append(svg('text', { x: labelW + width + 6, y: top + 16, class: 'tick value' }, format(b.value)));
  });
  fig.append(chart);
  return fig;
}
