import type { LakeUpload } from '../lake/lake.js';
import type { SourceColumn } from '../source/source.js';
import type { ColumnGroup } from './columnBatch.js';
import { ColumnBatch } from './columnBatch.js';
import { returnBuffers } from './columnBufferPool.js';
import type { EncoderHandle } from './parquetEncoderPool.js';
import { acquireEncoder, releaseEncoder } from './parquetEncoderPool.js';
import type { EncoderReply } from './parquetEncoderWorker.js';

export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/** Row groups handed to the encoder and not yet taken: bounds memory while keeping both threads busy. */
const MAX_GROUPS_IN_FLIGHT = 2;
/**
 * Encoded bytes handed to the lake and not yet stored: past this, no row group goes to the encoder
 * until uploads catch up, so a slow lake holds back the encoder and the read, not memory.
 */
const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;

/**
 * Size bound of a row group before compression: a batch is cut before the row that would take
 * its Arrow buffers past it, and the encoder writes each batch as one row group. Encoding one
 * takes arrow-rs several times its size in WebAssembly memory, which never shrinks, plus the
 * copies on the way there, so this bound is what holds memory for a table of wide rows: peak
 * RSS for rows of 100,000 characters measured 513 MB at 32 MiB, 393 at 16, 325 at 8 and 273-285
 * at 4 (`npm run bench`). Narrow tables reach `rowGroupRows` first: 65,536 stream events are 3 MB.
 */
export const DEFAULT_ROW_GROUP_BYTES = 4 * 1024 * 1024;

/**
 * One bronze Parquet file (Snappy), written row group by row group to a lake upload. The main
 * thread transposes rows into a column batch; a worker thread encodes and compresses; bytes are
 * staged as blocks as soon as they come back, so an open file holds about two row groups in
 * memory however large it grows.
 */
export class ParquetPartWriter {
  private readonly encoder: EncoderHandle;
  private readonly batch: ColumnBatch;
  private inFlight = 0;
  private uploading = 0;
  private staged: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private finished: ((ok: boolean) => void) | undefined;
  private released = false;
  rows = 0;

  constructor(
    columns: SourceColumn[],
    private readonly upload: LakeUpload,
    rowGroupRows: number,
    kvMetadata: Record<string, string> = {},
    rowGroupBytes = DEFAULT_ROW_GROUP_BYTES,
    private readonly maxUploadBytes = MAX_UPLOAD_BYTES,
  ) {
    this.batch = new ColumnBatch(
      columns.map((c) => ({ name: c.name, kind: c.parquet.kind })),
      rowGroupRows,
      rowGroupBytes,
    );
    this.encoder = acquireEncoder();
    this.encoder.attach(
      (reply) => this.onReply(reply),
      (err) => this.fail(err),
    );
    this.encoder.send({
      type: 'open',
      columns: columns.map(({ name, parquet, nullable }) => ({ name, parquet, nullable })),
      kv: Object.entries(kvMetadata).map(([key, value]) => ({ key, value })),
      rowGroupRows,
    });
  }

  private onReply(reply: EncoderReply): void {
    switch (reply.type) {
      case 'error':
        return this.fail(new Error(`Parquet encoding failed: ${reply.message}`));
      case 'bytes': {
        // Staged in arrival order, which is the order the encoder produced the bytes.
        const size = reply.bytes.byteLength;
        this.uploading += size;
        const stage = this.upload.stage(reply.bytes);
        stage.then(
          () => {
            this.uploading -= size;
            this.wake?.();
          },
          (err: unknown) => this.fail(err as Error),
        );
        // A failed file is given up without awaiting its blocks: the chain must not end in a
        // rejection nobody handles, which would take the whole process down.
        const staged = this.staged.then(() => stage);
        staged.catch(() => undefined);
        this.staged = staged;
        return;
      }
      case 'ack':
        returnBuffers(reply.buffers);
        this.inFlight--;
        this.wake?.();
        return;
      case 'end':
        this.finished?.(true);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
    this.finished?.(false);
  }

  /** Buffer rows; hands a row group to the encoder whenever one is full. */
  async add(rows: unknown[][]): Promise<void> {
    if (this.failure) throw this.failure;
    let from = 0;
    while (from < rows.length) {
      from += this.batch.append(rows, from, rows.length - from);
      if (this.batch.full) await this.sendGroup();
    }
    this.rows += rows.length;
  }

  /**
   * One row group already in Arrow's layout (a columnar read cut it by the same limits): handed
   * to the encoder as it is. Waits while the encoder holds MAX_GROUPS_IN_FLIGHT.
   */
  async addGroup(group: ColumnGroup): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.batch.length > 0) throw new Error('ParquetPartWriter: rows and row groups cannot be mixed in one file');
    await this.sendGroup(group);
    this.rows += group.rows;
  }

  private async sendGroup(group?: ColumnGroup): Promise<void> {
    while ((this.inFlight >= MAX_GROUPS_IN_FLIGHT || this.uploading > this.maxUploadBytes) && !this.failure) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure) throw this.failure;
    const { columns, rows, transfer } = group ?? this.batch.take();
    this.inFlight++;
    this.encoder.send({ type: 'group', columns, rows }, transfer);
  }

  /** Writes what is buffered and the footer, then commits the file; returns its size in bytes. */
  async finish(): Promise<number> {
    if (this.batch.length > 0) await this.sendGroup();
    const done = new Promise<boolean>((resolve) => (this.finished = resolve));
    if (this.failure) throw this.failure;
    this.encoder.send({ type: 'finish' });
    const ok = await done;
    this.release(ok);
    if (!ok || this.failure) throw this.failure ?? new Error('Parquet encoding failed');
    await this.staged;
    return this.upload.commit(PARQUET_CONTENT_TYPE);
  }

  /** Give up on the file (the slice failed): nothing is committed, the encoder is not reused. */
  abort(): void {
    this.release(false);
  }

  private release(clean: boolean): void {
    if (this.released) return;
    this.released = true;
    releaseEncoder(this.encoder, clean);
  }
}
