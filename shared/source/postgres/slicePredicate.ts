import { quotePostgres } from '../../config/identifiers.js';
import type { SliceBounds, WatermarkSpec } from '../source.js';
import { SourceError } from '../source.js';

/**
 * The slice as SQL. `value` renders the i-th bound: a bind parameter on the cursor path
 * (untyped, so it takes the column's own type), a typed literal for COPY, which takes none.
 */
export function slicePredicate(watermark: WatermarkSpec, bounds: SliceBounds, value: (text: string) => string): string {
  const wm = quotePostgres(watermark.column);
  if (bounds.window === 'closed-open') {
    if (bounds.low === null) throw new SourceError('a backfill window needs a lower bound');
    return `${wm} >= ${value(bounds.low)} AND ${wm} < ${value(bounds.high)}`;
  }
  if (bounds.low === null) return `(${wm} <= ${value(bounds.high)} OR ${wm} IS NULL)`;
  return `${wm} > ${value(bounds.low)} AND ${wm} <= ${value(bounds.high)}`;
}

/** Bind parameters for slicePredicate: each value rendered is appended to `params` as `$n`. */
export function bindTo(params: unknown[]): (text: string) => string {
  return (text) => {
    params.push(text);
    return `$${params.length}`;
  };
}
