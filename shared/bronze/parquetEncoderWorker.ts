import { parentPort } from 'node:worker_threads';
import type { SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { compressSync } from 'snappy';
import type { ColumnPayload } from './columnBatch.js';
import { columnToData } from './columnBatch.js';

/**
 * Parquet encoding off the main thread: the main thread reads and converts rows while this
 * thread encodes and compresses the previous row group. One file at a time per worker.
 */
export type EncoderRequest =
  | { type: 'open'; schema: SchemaElement[]; kv: { key: string; value: string }[] }
  | { type: 'group'; columns: ColumnPayload[]; rows: number }
  | { type: 'finish' };

export type EncoderReply = { type: 'bytes'; bytes: Uint8Array; last: boolean } | { type: 'error'; message: string };

class CollectingWriter extends ByteWriter {
  flush(): void {
    if (this.index === 0) return;
    const bytes = new Uint8Array(this.buffer.slice(0, this.index));
    this.index = 0;
    parentPort!.postMessage({ type: 'bytes', bytes, last: false } satisfies EncoderReply, [bytes.buffer as ArrayBuffer]);
  }
}

const nativeSnappy = (input: Uint8Array): Uint8Array => {
  const out = compressSync(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

let writer: ParquetWriter | undefined;
let out: CollectingWriter | undefined;
let names: string[] = [];

parentPort!.on('message', (req: EncoderRequest) => {
  try {
    if (req.type === 'open') {
      out = new CollectingWriter(1 << 20);
      names = req.schema.slice(1).map((e) => e.name);
      writer = new ParquetWriter({
        writer: out,
        schema: req.schema,
        codec: 'SNAPPY',
        // Native Snappy (napi-rs): the pure-JS compressor was a fifth of the encoding time.
        compressors: { SNAPPY: nativeSnappy },
        createdBy: 'soundlake (hyparquet-writer)',
        kvMetadata: req.kv,
      });
    } else if (req.type === 'group') {
      const columnData = req.columns.map((c, j) => ({ name: names[j]!, data: columnToData(c) as never }));
      void writer!.write({ columnData, rowGroupSize: req.rows });
    } else {
      void writer!.finish();
      const bytes = new Uint8Array(out!.buffer.slice(0, out!.index));
      out!.index = 0;
      parentPort!.postMessage({ type: 'bytes', bytes, last: true } satisfies EncoderReply, [bytes.buffer as ArrayBuffer]);
      writer = undefined;
      out = undefined;
    }
  } catch (err) {
    writer = undefined;
    out = undefined;
    parentPort!.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies EncoderReply);
  }
});
