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

export type Totals = { rows: number; bytes: number; files: number };

/**
 * What a state record itself holds of the slice in flight: its plan, the keyset cursor and the
 * totals of the parts committed so far. Its size does not grow with the parts: each part is an
 * entity of its own next to the record (shared/state/partEntities.ts).
 */
export interface SliceProgress extends Totals {
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
  /** Keyset cursor after the last committed part (primary-key values as text). */
  after: string[] | null;
  /** All rows of the slice are in committed parts. */
  exhausted: boolean;
  /** A key range of the slice: its rows end at this primary key (inclusive); `after` starts as the range's exclusive start. */
  until?: string[] | null;
  /** The slice runs in key ranges, each with its own record: how many, how many committed, and the cuts between them. */
  ranges?: RangePlan;
}

export interface RangePlan {
  count: number;
  done: number;
  /** `count - 1` primary keys (as text), increasing: range i ends at cuts[i] (inclusive) and starts after cuts[i - 1]. */
  cuts: string[][];
  /**
   * The run whose tally waits for the slice: the run that planned it, then each run that hands
   * its unfinished ranges out again (the run before is counted `partial` then). Absent in plans
   * made before it was kept: the slice's planning run.
   */
  runId?: string;
  /** Rows, bytes and parts of the committed ranges, counted with `done` (absent: none yet). */
  rows?: number;
  bytes?: number;
  files?: number;
}

/** The slice in flight with its committed parts, in order (`files` of them): what a run works on. */
export interface PendingSlice extends SliceProgress {
  parts: PartRecord[];
}

/** A slice just planned: nothing written yet. */
export function plannedSlice(plan: Omit<SliceProgress, keyof Totals | 'after' | 'exhausted'>): PendingSlice {
  return { ...plan, parts: [], after: null, exhausted: false, files: 0, rows: 0, bytes: 0 };
}

/** The slice with one more committed part, its cursor after that part. */
export function withPart(slice: PendingSlice, part: PartRecord, after: string[] | null): PendingSlice {
  return { ...slice, parts: [...slice.parts, part], after, files: slice.files + 1, rows: slice.rows + part.rows, bytes: slice.bytes + part.bytes };
}

/** The slice as its state record stores it: everything but the parts list. */
export function progressOf(slice: PendingSlice): SliceProgress {
  const { parts: _parts, ...progress } = slice;
  return progress;
}

export function sliceTotals(slice: SliceProgress): Totals {
  return { rows: slice.rows, bytes: slice.bytes, files: slice.files };
}
