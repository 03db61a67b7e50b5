import type { SchemaElement } from 'hyparquet';
import type { LakeUpload } from '../lake/lake.js';
import { schemaElement } from '../source/parquetTypes.js';
import type { SourceColumn } from '../source/source.js';
import type { ColumnPayload } from './columnBatch.js';
import { payloadKind, rowsToColumns } from './columnBatch.js';
import type { EncoderHandle } from './parquetEncoderPool.js';
import { acquireEncoder, releaseEncoder } from './parquetEncoderPool.js';
import type { EncoderReply } from './parquetEncoderWorker.js';

export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/** Row groups handed to the encoder and not yet back as bytes: bounds memory while keeping both threads busy. */
const MAX_GROUPS_IN_FLIGHT = 2;

/**
 * One bronze Parquet file (Snappy), written row group by row group to a lake upload. The main
 * thread buffers rows and transposes them; a worker thread encodes and compresses; the bytes of
 * each row group are staged as a block as soon as they come back, so an open file holds about
 * two row groups in memory however large it grows.
 */
export class ParquetPartWriter {
  private readonly encoder: EncoderHandle;
  private readonly kinds: ReturnType<typeof payloadKind>[];
  private pending: unknown[][][] = [];
  private pendingRows = 0;
  private inFlight = 0;
  private staged: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private finished: ((ok: boolean) => void) | undefined;
  private released = false;
  rows = 0;

  constructor(
    columns: SourceColumn[],
    private readonly upload: LakeUpload,
    private readonly rowGroupRows: number,
    kvMetadata: Record<string, string> = {},
  ) {
    const schema: SchemaElement[] = [{ name: 'schema', num_children: columns.length }, ...columns.map((c) => schemaElement(c.name, c.parquet, c.nullable))];
    this.kinds = columns.map(payloadKind);
    this.encoder = acquireEncoder();
    this.encoder.attach(
      (reply) => this.onReply(reply),
      (err) => this.fail(err),
    );
    this.encoder.send({ type: 'open', schema, kv: Object.entries(kvMetadata).map(([key, value]) => ({ key, value })) });
  }

  private onReply(reply: EncoderReply): void {
    if (reply.type === 'error') return this.fail(new Error(`Parquet encoding failed: ${reply.message}`));
    // Staged in arrival order, which is the order the encoder produced the bytes.
    const stage = this.upload.stage(reply.bytes);
    this.staged = this.staged.then(() => stage);
    stage.catch((err: unknown) => this.fail(err as Error));
    if (reply.last) this.finished?.(true);
    else this.inFlight--;
    this.wake?.();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
    this.finished?.(false);
  }

  /** Buffer rows; hands a row group to the encoder whenever enough are buffered. */
  async add(rows: unknown[][]): Promise<void> {
    if (this.failure) throw this.failure;
    if (rows.length === 0) return;
    this.pending.push(rows);
    this.pendingRows += rows.length;
    this.rows += rows.length;
    while (this.pendingRows >= this.rowGroupRows) await this.sendGroup(this.rowGroupRows);
  }

  private async sendGroup(count: number): Promise<void> {
    while (this.inFlight >= MAX_GROUPS_IN_FLIGHT && !this.failure) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure) throw this.failure;
    const parts: { columns: ReturnType<typeof rowsToColumns>['columns']; transfer: ArrayBuffer[] }[] = [];
    let left = count;
    // Transpose batch by batch, without first copying rows into one big array.
    while (left > 0) {
      const head = this.pending[0]!;
      const take = Math.min(head.length, left);
      parts.push(rowsToColumns(this.kinds, head, 0, take));
      if (take === head.length) this.pending.shift();
      else this.pending[0] = head.slice(take);
      left -= take;
    }
    this.pendingRows -= count;
    const columns = parts.length === 1 ? parts[0]!.columns : mergeColumns(parts.map((p) => p.columns));
    const transfer = parts.length === 1 ? parts[0]!.transfer : columnsTransfer(columns);
    this.inFlight++;
    this.encoder.send({ type: 'group', columns, rows: count }, transfer);
  }

  /** Writes what is buffered and the footer, then commits the file; returns its size in bytes. */
  async finish(): Promise<number> {
    if (this.pendingRows > 0) await this.sendGroup(this.pendingRows);
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

function mergeColumns(groups: ColumnPayload[][]): ColumnPayload[] {
  return groups[0]!.map((first, j) => {
    const pieces = groups.map((g) => g[j]!);
    if (first.kind === 'plain') return { kind: 'plain', values: pieces.flatMap((p) => (p as { values: unknown[] }).values) };
    const total = pieces.reduce((n, p) => n + p.values.length, 0);
    const Ctor = first.values.constructor as new (n: number) => Int32Array | BigInt64Array | Float64Array | Uint8Array;
    const values = new Ctor(total);
    let nulls: Uint8Array | null = null;
    let offset = 0;
    for (const p of pieces as Exclude<ColumnPayload, { kind: 'plain' }>[]) {
      (values as Int32Array).set(p.values as Int32Array, offset);
      if (p.nulls) {
        nulls ??= new Uint8Array(total);
        nulls.set(p.nulls, offset);
      }
      offset += p.values.length;
    }
    return { kind: first.kind, values, nulls } as ColumnPayload;
  });
}

function columnsTransfer(columns: ColumnPayload[]): ArrayBuffer[] {
  return columns.flatMap((c) => (c.kind === 'plain' ? [] : [c.values.buffer as ArrayBuffer, ...(c.nulls ? [c.nulls.buffer as ArrayBuffer] : [])]));
}
