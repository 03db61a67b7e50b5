/**
 * A slice is the unit of exactly-once: `low < watermark <= high` of one table, planned once,
 * recorded as pending before any file is written, and written under names derived from it.
 */

export type SliceKind = 'initial' | 'incremental' | 'backfill';

export interface PartRecord {
  path: string;
  rows: number;
  bytes: number;
}

export interface PendingSlice {
  /** `s0000000042` for scheduled slices, `b<id>-c<chunk>` for backfill chunks. */
  slice: string;
  kind: SliceKind;
  /** Scheduled slices take `low < wm <= high`; backfill chunks take `low <= wm < high`. */
  low: string | null;
  high: string;
  /** Run that planned the slice; a resuming run keeps it for the manifest and logs its own id. */
  runId: string;
  plannedAt: string;
  /** UTC date of planning: the `load_date=` folder of every part. */
  loadDate: string;
  /** Parts committed so far, in order. */
  parts: PartRecord[];
  /** Keyset cursor after the last committed part (primary-key values as text). */
  after: string[] | null;
  /** All rows of the slice are in committed parts. */
  exhausted: boolean;
}

export function sliceTotals(slice: PendingSlice): { rows: number; bytes: number; files: number } {
  return {
    rows: slice.parts.reduce((n, p) => n + p.rows, 0),
    bytes: slice.parts.reduce((n, p) => n + p.bytes, 0),
    files: slice.parts.length,
  };
}
