import type { ColumnSegment, SegmentLimits } from '../bronze/columnBatch.js';
import type { FileTableSpec, RestTableSpec, WatermarkKind } from '../config/pipelineConfig.js';
import type { ColumnSnapshot } from '../state/watermarkStore.js';
import type { ParquetType } from './parquetTypes.js';

export type SourceKind = 'postgres' | 'mssql' | 'http' | 'rest';

export interface TableRef {
  schema: string;
  table: string;
  /** Files over HTTP: what the table reads (the catalog's source fields). */
  file?: FileTableSpec;
  /** REST: what the table pulls. */
  rest?: RestTableSpec;
  /**
   * The time zone the table's zone-less timestamps are written in (SQL Server: a
   * sys.time_zone_info name). Their lag is measured on that clock and their values reach
   * Parquet as UTC. Unset: UTC, and a SQL Server whose clock is not UTC is refused.
   */
  timeZone?: string;
}

export interface SourceColumn {
  name: string;
  /** The type as the source's catalogue spells it, e.g. `numeric(12,2)` or `datetime2(7)`. */
  sourceType: string;
  nullable: boolean;
  parquet: ParquetType;
}

export interface WatermarkSpec {
  column: string;
  kind: WatermarkKind;
}

/**
 * A slice of a table by watermark: rows with `low < wm <= high`. `low` null means an initial
 * load, which also takes rows whose watermark is NULL. Bounds are text at the source's full
 * precision and are compared in the column's own type by the source.
 */
export interface SliceBounds {
  low: string | null;
  high: string;
  /**
   * Backfill windows are half-open the other way round, `low <= wm < high`, so consecutive
   * chunks of a window neither overlap nor leave a gap.
   */
  window?: 'closed-open';
}

export interface ReadRequest {
  table: TableRef;
  columns: SourceColumn[];
  watermark: WatermarkSpec;
  primaryKey: string[];
  bounds: SliceBounds;
  /** Keyset cursor: primary-key values (as text) of the last row already written, or null to start. */
  after: string[] | null;
  /**
   * The key range's end: only rows whose primary key is at or below these values (as text), or
   * every row after `after` when absent. With `after` as the range's start, consecutive ranges
   * `(b[i-1], b[i]]` of one slice neither overlap nor leave a gap.
   */
  until?: string[] | null;
  /** Rows fetched per round trip. */
  batchRows: number;
}

/** A read whose rows come back as row groups in Arrow's layout, cut by `limits`. */
export interface ColumnarReadRequest extends ReadRequest {
  limits: SegmentLimits;
}

/**
 * Rows of a read: the requested columns in order, each value already in the Parquet physical
 * form of its column's `parquet` type. A row may carry extra trailing values the source needs
 * for `key`; writers read only the first `columns.length` values.
 */
export interface RowBatch {
  rows: unknown[][];
  /** The keyset cursor of a row of this batch: its primary-key values as text, exact. */
  key(row: unknown[]): string[];
}

/**
 * How a source recovers each primary-key value of a row as exact text: integers and strings
 * straight from the converted value, anything else (timestamps, decimals, ...) from an extra
 * text column the source appends to its SELECT.
 */
export interface KeyPlan {
  /** Primary-key columns that need an appended text column, in order. */
  appended: string[];
  key(row: unknown[]): string[];
}

export function planKeys(columns: SourceColumn[], primaryKey: string[]): KeyPlan {
  const width = columns.length;
  const appended: string[] = [];
  const readers = primaryKey.map((name) => {
    const i = columns.findIndex((c) => c.name === name);
    const kind = i >= 0 ? columns[i]!.parquet.kind : undefined;
    if (kind === 'int16' || kind === 'int32' || kind === 'int64' || kind === 'string') return (row: unknown[]) => String(row[i]);
    const at = width + appended.length;
    appended.push(name);
    return (row: unknown[]) => String(row[at]);
  });
  return { appended, key: (row) => readers.map((r) => r(row)) };
}

/**
 * What a snapshot source (files over HTTP) finds when it compares what it serves now with a
 * version it recorded: `version` is opaque text kept as the table's watermark value.
 */
/**
 * What a probe found. `failures`: parts of the snapshot that failed on their own (a file of a
 * multi-file table: URL and line named); the version keeps their committed state, so they are
 * fetched again next time, and the caller reports them.
 */
export type SnapshotProbe = ({ changed: true; version: string } | { changed: false; version: string | null; message: string }) & { failures?: string[] };

/**
 * Sources whose slices are whole snapshots rather than watermark ranges: a slice's upper bound
 * is the version probed when it was planned, and reading it yields that version or fails.
 */
export interface SnapshotPlanner {
  /** Whether a pending slice can resume after its last part (files: the same content, by hash); if not, it restarts from its first part. */
  resumable: boolean;
  /**
   * `columns`: the contract the files are checked against (every record is parsed and converted).
   * `against`: the version to detect a change from (a pending slice's, else the committed one);
   * `committed`: the committed version, which decides what a new slice must land (default `against`).
   */
  probe(table: TableRef, against: string | null, columns: ColumnSnapshot[], committed?: string | null): Promise<SnapshotProbe>;
}

/**
 * A source. SQL sources stream rows in primary-key order, so a slice can be cut into parts and
 * resumed after any committed part; snapshot sources (`snapshot`) stream in file order and
 * resume after a record number.
 */
export interface Source {
  readonly kind: SourceKind;
  /**
   * Columns of a table from the catalogue, in table order; throws SourceError if the table is
   * missing. `held`: the columns of the last committed slice, which a source that infers its
   * columns keeps as the contract (their types do not change with the data).
   */
  describe(table: TableRef, held?: ColumnSnapshot[] | null): Promise<SourceColumn[]>;
  /** Snapshot sources only: how a slice is planned. */
  readonly snapshot?: SnapshotPlanner;
  /**
   * The highest watermark that is safe to extract up to now: no transaction can still commit a
   * row at or below it (timestamp: min(MAX, now - lag); rowversion: below MIN_ACTIVE_ROWVERSION).
   * Null when the table has no watermark values at all.
   */
  safeUpperBound(table: TableRef, watermark: WatermarkSpec, lagSeconds: number): Promise<string | null>;
  /** Whether any row falls in the slice. */
  hasRows(table: TableRef, watermark: WatermarkSpec, bounds: SliceBounds): Promise<boolean>;
  /** Stream the slice in primary-key order, after `after`. Stop early by breaking out of the loop. */
  read(request: ReadRequest): AsyncIterable<RowBatch>;
  /**
   * The same rows as `read`, decoded by the source straight into row groups (no row objects),
   * where it can do that faster than rows can be transposed. Optional: readers fall back to
   * `read` and transpose.
   */
  readColumns?(request: ColumnarReadRequest): AsyncIterable<ColumnSegment>;
  /**
   * Where to cut the table into `ranges` key ranges of about equal rows: at most `ranges - 1`
   * primary keys (as text, strictly increasing), each the inclusive end of a range, and the row
   * estimate they were sized by. Optional: a source without it loads a table as one range.
   */
  splitKeys?(table: TableRef, primaryKey: string[], ranges: number): Promise<KeySplit>;
  /**
   * Rows each watermark window is estimated to hold, from the source's statistics (no table
   * read), in the order asked; or no estimate and why (no statistics on the column, no
   * permission). Optional: backfills of a source without it run in fixed time chunks.
   */
  estimateRows?(table: TableRef, watermark: WatermarkSpec, windows: SliceBounds[]): Promise<RowEstimate>;
  /**
   * Open a connection now, in the background, for a session about to be used: its setup (TCP,
   * authentication, session settings) then overlaps the run's state round trips instead of
   * delaying its first query. Failures are left for that query to report.
   */
  warm?(): void;
  close(): Promise<void>;
}

export type RowEstimate = { rows: number[] } | { rows: null; reason: string };

export interface KeySplit {
  /** Rows the table is estimated to hold, and where the estimate came from. */
  estimatedRows: number;
  estimate: 'statistics' | 'bounded-count';
  /** Inclusive ends of the ranges but the last (which runs to the end of the table). */
  boundaries: string[][];
  /** Why the cuts are fewer or coarser than asked (statistics missing, no permission): for the log. */
  note?: string;
}

export class SourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SourceError';
  }
}

/** Any failure of a source call as a SourceError that says which source and what it was doing. */
export function sourceFailure(kind: SourceKind, err: unknown, what: string): SourceError {
  if (err instanceof SourceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SourceError(`${kind} source: ${what} failed: ${message}`, { cause: err });
}

/** Watermark column types each kind accepts, by source; checked before anything is read. */
export function checkWatermarkColumn(kind: SourceKind, column: SourceColumn, watermark: WatermarkSpec): string | null {
  const t = column.sourceType.toLowerCase();
  if (watermark.kind === 'timestamp') {
    return column.parquet.kind === 'timestamp' ? null : `watermark kind "timestamp" needs a timestamp column, "${column.name}" is ${column.sourceType}`;
  }
  if (watermark.kind === 'integer') {
    return ['int16', 'int32', 'int64'].includes(column.parquet.kind) || (column.parquet.kind === 'decimal' && column.parquet.scale === 0)
      ? null
      : `watermark kind "integer" needs an integer column, "${column.name}" is ${column.sourceType}`;
  }
  if (kind !== 'mssql') return `watermark kind "rowversion" exists only on SQL Server; use "timestamp" with a lag on ${kind}`;
  return t === 'timestamp' || t === 'rowversion' ? null : `watermark kind "rowversion" needs a rowversion column, "${column.name}" is ${column.sourceType}`;
}
