/**
 * What a SQL Server statistics histogram (sys.dm_db_stats_histogram) says about where a column's
 * rows are, as pure functions. A step holds `equalRows` rows at its key and `rangeRows` rows
 * strictly between the previous step's key and its own; the first step's key is the smallest
 * value. At most 200 steps: between two keys the rows are taken as evenly spread.
 */
export interface HistogramStep {
  /** The step's key as exact text (mssqlKeyTextExpression's form). */
  key: string;
  rangeRows: number;
  equalRows: number;
}

const INTEGER = /^-?\d+$/;

/**
 * Values of the leading key column at which `ranges` ranges of about equal rows end (inclusive),
 * strictly increasing, at most `ranges - 1`. On an integer column a cut inside a step is
 * interpolated between its keys, so a 200-step histogram still cuts a table into thousands of
 * ranges; on any other column a cut snaps to the nearer step key.
 */
export function histogramCuts(steps: HistogramStep[], ranges: number, integer: boolean): string[] {
  const total = steps.reduce((n, s) => n + s.rangeRows + s.equalRows, 0);
  if (ranges < 2 || total <= 0 || steps.length === 0) return [];
  const cuts: string[] = [];
  const push = (value: string): void => {
    if (cuts.at(-1) !== value) cuts.push(value);
  };
  let before = 0;
  let i = 0;
  for (let r = 1; r < ranges; r++) {
    const target = (r * total) / ranges;
    while (i < steps.length - 1 && before + steps[i]!.rangeRows + steps[i]!.equalRows < target) {
      before += steps[i]!.rangeRows + steps[i]!.equalRows;
      i++;
    }
    const step = steps[i]!;
    const prev = i > 0 ? steps[i - 1]!.key : null;
    const inRange = target - before;
    if (prev !== null && inRange < step.rangeRows && integer && INTEGER.test(prev) && INTEGER.test(step.key)) {
      const lo = BigInt(prev);
      const gap = BigInt(step.key) - lo - 1n;
      // Rows of (prev, key) at or below prev + d are about d / gap of the step's range rows.
      const d = gap > 0n ? BigInt(Math.floor((inRange / step.rangeRows) * Number(gap))) : 0n;
      push(String(lo + d));
    } else if (prev !== null && inRange < (step.rangeRows + step.equalRows) / 2) {
      push(prev);
    } else {
      push(step.key);
    }
  }
  return cuts;
}

export interface TimeStep {
  /** The step's key as epoch milliseconds. */
  at: number;
  rangeRows: number;
  equalRows: number;
}

/** Rows the histogram puts in `[low, high)` (epoch ms). */
export function histogramRowsIn(steps: TimeStep[], low: number, high: number): number {
  let rows = 0;
  steps.forEach((s, i) => {
    if (s.at >= low && s.at < high) rows += s.equalRows;
    if (i === 0) {
      // The first step has no lower key: anything it counts below its key sits at the key.
      if (s.at >= low && s.at < high) rows += s.rangeRows;
      return;
    }
    const from = steps[i - 1]!.at;
    const width = s.at - from;
    if (width <= 0 || s.rangeRows === 0) return;
    const overlap = Math.min(high, s.at) - Math.max(low, from);
    if (overlap > 0) rows += (s.rangeRows * overlap) / width;
  });
  return rows;
}

/** `yyyy-mm-dd[ hh:mm:ss[.fffffff]]` (a key or a window bound, UTC) as epoch ms; NaN if it is not one. */
export function timestampTextMs(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?)?$/.exec(text.trim());
  if (!m) return Number.NaN;
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), ms);
}
