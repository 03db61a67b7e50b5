import type { SourceColumn } from './source.js';

/** About how many bytes of rows one fetch brings into memory; a read holds two (one read ahead). */
export const FETCH_BYTES = 2 * 1024 * 1024;
/** The first fetch of a read, before anything is known of its rows' width. */
export const FIRST_FETCH_ROWS = 1;
/** What a value other than text or bytes is counted as. */
const FIXED_VALUE_BYTES = 8;

/**
 * How many rows to fetch next. SQL cursors count fetches in rows, so a fixed count that suits
 * narrow rows (10,000 stream events are a few hundred KB) would bring a gigabyte of wide ones
 * (10,000 rows of 100k characters). Each fetch is sized from the widest rows seen so far in the
 * read, to about FETCH_BYTES, never more than `maxRows`.
 */
export class FetchSizer {
  private readonly varying: number[];
  private readonly fixedBytes: number;
  private widest = 0;

  constructor(
    columns: SourceColumn[],
    private readonly maxRows: number,
    private readonly budgetBytes = FETCH_BYTES,
  ) {
    this.varying = columns.flatMap((c, i) => (c.parquet.kind === 'string' || c.parquet.kind === 'binary' ? [i] : []));
    this.fixedBytes = (columns.length - this.varying.length) * FIXED_VALUE_BYTES;
  }

  /** Rows of the first fetch. */
  first(): number {
    return Math.min(this.maxRows, FIRST_FETCH_ROWS);
  }

  /** Rows of the fetch after `rows` arrived. */
  next(rows: unknown[][]): number {
    if (rows.length > 0) {
      // Text length counts characters, not bytes: close enough to size a fetch, and cheap.
      let bytes = 0;
      for (const j of this.varying) {
        for (const row of rows) {
          const v = row[j] as { length: number } | null;
          if (v !== null && v !== undefined) bytes += v.length;
        }
      }
      this.widest = Math.max(this.widest, bytes / rows.length + this.fixedBytes);
    }
    return this.widest === 0 ? this.maxRows : Math.max(1, Math.min(this.maxRows, Math.floor(this.budgetBytes / this.widest)));
  }
}
