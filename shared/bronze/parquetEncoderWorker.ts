import { parentPort } from 'node:worker_threads';
import type { ColumnPayload } from './columnBatch.js';
import { ParquetFileWriter } from './parquet/parquetFileWriter.js';
import type { ColumnSpec } from './parquet/parquetSchema.js';

/**
 * Parquet encoding off the main thread: the main thread reads and transposes rows while this
 * thread encodes and compresses. One file at a time per worker; each row group is encoded as it
 * comes and its bytes sent back at once, so a file of any size holds one row group here.
 */
export type EncoderRequest =
  | { type: 'open'; columns: ColumnSpec[]; kv: { key: string; value: string }[]; rowGroupRows: number }
  | { type: 'group'; columns: ColumnPayload[]; rows: number }
  | { type: 'finish' };

export type EncoderReply =
  | { type: 'bytes'; bytes: Uint8Array }
  /** A batch is encoded: the main thread may send another; its buffers come back for reuse. */
  | { type: 'ack'; buffers: ArrayBuffer[] }
  | { type: 'end' }
  | { type: 'error'; message: string };

const post = (reply: EncoderReply, transfer: ArrayBuffer[] = []): void => parentPort!.postMessage(reply, transfer);

let file: ParquetFileWriter | undefined;

function send(bytes: Uint8Array): void {
  // Transfer whole buffers only, never a view of a larger one.
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  post({ type: 'bytes', bytes: whole }, [whole.buffer as ArrayBuffer]);
}

function buffersOf(c: ColumnPayload): ArrayBuffer[] {
  const views = c.layout === 'bytes' ? [c.offsets, c.data] : [c.values];
  if (c.validity) views.push(c.validity);
  return views.map((v) => v.buffer as ArrayBuffer);
}

parentPort!.on('message', (req: EncoderRequest) => {
  try {
    if (req.type === 'open') {
      file = new ParquetFileWriter(req.columns, req.kv);
      return;
    }
    if (!file) return post({ type: 'error', message: `no open file for ${req.type}` });
    if (req.type === 'group') {
      send(file.rowGroup(req.columns, req.rows));
      // Nothing of the row group is referenced once its bytes are out.
      const buffers = [...new Set(req.columns.flatMap(buffersOf))];
      post({ type: 'ack', buffers }, buffers);
    } else {
      send(file.finish());
      file = undefined;
      post({ type: 'end' });
    }
  } catch (err) {
    // The file is given up; the main thread discards this worker with it.
    file = undefined;
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
});
