import './wasmTiering.js';
import { parentPort } from 'node:worker_threads';
import type { Arrow } from './arrowLib.js';
import { arrow } from './arrowLib.js';
import * as parquet from 'parquet-wasm/node';
import type { ParquetKind } from '../source/parquetTypes.js';
import type { ColumnSpec } from './arrowBatch.js';
import { arrowSchema, toRecordBatch } from './arrowBatch.js';
import type { ColumnPayload } from './columnBatch.js';

/**
 * Parquet encoding off the main thread, by arrow-rs (parquet-wasm): the main thread reads and
 * transposes rows while this thread encodes and compresses. One file at a time per worker;
 * row groups stream through, so a file of any size holds about two row groups here.
 */
export type EncoderRequest =
  | { type: 'open'; columns: ColumnSpec[]; kv: { key: string; value: string }[]; rowGroupRows: number }
  | { type: 'group'; columns: ColumnPayload[]; rows: number }
  | { type: 'finish' };

export type EncoderReply =
  | { type: 'bytes'; bytes: Uint8Array }
  /** A batch was taken by the encoder: the main thread may send another. */
  | { type: 'ack' }
  | { type: 'end' }
  | { type: 'error'; message: string };

const post = (reply: EncoderReply, transfer: ArrayBuffer[] = []): void => parentPort!.postMessage(reply, transfer);

/**
 * Dictionary encoding for strings and binaries, where repeats are likely and values are wide.
 * Not for numbers, dates and times: measured on fact_streams, dictionaries on its integer
 * columns took 25% more encoding CPU to save 13% of the file, and on mostly distinct values
 * (ids, times, measures) arrow-rs builds a whole dictionary page before it falls back to plain.
 */
const DICTIONARY: Record<ParquetKind, boolean> = {
  string: true,
  binary: true,
  int16: false,
  int32: false,
  date: false,
  boolean: false,
  int64: false,
  timestamp: false,
  float: false,
  double: false,
  decimal: false,
};

function writerProperties(req: Extract<EncoderRequest, { type: 'open' }>): parquet.WriterProperties {
  const { columns, kv } = req;
  let builder = new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression.SNAPPY)
    .setMaxRowGroupSize(req.rowGroupRows)
    // Every batch the main thread sends is one row group: it cuts them by rows and by Arrow bytes
    // (the row group's size before compression). arrow-rs's own byte limit counts pages after
    // compression, so with it batches of well-compressing text merged into row groups of any
    // size; a limit of one byte makes it end the row group after each batch instead.
    .setMaxRowGroupBytes(1)
    .setKeyValueMetadata(new Map(kv.map(({ key, value }) => [key, value])));
  for (const c of columns) builder = builder.setColumnDictionaryEnabled(c.name, DICTIONARY[c.parquet.kind]);
  return builder.build();
}

/** Row groups waiting for the encoder to pull them; `undefined` ends the file. */
class Inbox {
  private readonly items: (parquet.RecordBatch | undefined)[] = [];
  private waiter: ((item: parquet.RecordBatch | undefined) => void) | undefined;
  push(item: parquet.RecordBatch | undefined): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(item);
    } else this.items.push(item);
  }
  next(): Promise<parquet.RecordBatch | undefined> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    return new Promise((resolve) => (this.waiter = resolve));
  }
  drop(): void {
    for (const b of this.items.splice(0)) b?.free();
  }
}

interface OpenFile {
  schema: Arrow.Schema;
  inbox: Inbox;
  failed: boolean;
}

let file: OpenFile | undefined;

function fail(target: OpenFile, err: unknown): void {
  if (target.failed) return;
  target.failed = true;
  target.inbox.drop();
  if (file === target) file = undefined;
  post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}

function open(req: Extract<EncoderRequest, { type: 'open' }>): void {
  const target: OpenFile = { schema: arrowSchema(req.columns), inbox: new Inbox(), failed: false };
  file = target;
  let pulled = false;
  const input = new ReadableStream<parquet.RecordBatch>(
    {
      async pull(controller) {
        // Pulled again means the previous batch is encoded.
        if (pulled) post({ type: 'ack' });
        pulled = true;
        const batch = await target.inbox.next();
        if (batch) controller.enqueue(batch);
        else controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  void (async () => {
    const output = (await parquet.transformParquetStream(input, writerProperties(req))) as ReadableStream<Uint8Array>;
    for await (const chunk of output as unknown as AsyncIterable<Uint8Array>) {
      if (target.failed) return;
      // Chunks are copies out of wasm memory; transfer them whole, never a view of a larger buffer.
      const bytes = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice();
      post({ type: 'bytes', bytes }, [bytes.buffer as ArrayBuffer]);
    }
    if (target.failed) return;
    if (file === target) file = undefined;
    post({ type: 'end' });
  })().catch((err: unknown) => fail(target, err));
}

parentPort!.on('message', (req: EncoderRequest) => {
  if (req.type === 'open') return open(req);
  const target = file;
  if (!target) return post({ type: 'error', message: `no open file for ${req.type}` });
  try {
    if (req.type === 'group') {
      // IPC is how a batch enters wasm memory: one copy of the buffers, none of the values.
      const ipc = arrow.tableToIPC(new arrow.Table([toRecordBatch(target.schema, req.columns, req.rows)]), 'stream');
      const table = parquet.Table.fromIPCStream(ipc);
      const batch = table.recordBatch(0)!;
      table.free();
      target.inbox.push(batch);
    } else target.inbox.push(undefined);
  } catch (err) {
    fail(target, err);
  }
});
