import type { ColumnPayload } from '../columnBatch.js';
import type { EncodedChunk } from './columnChunk.js';
import { CODEC_SNAPPY, ColumnChunkEncoder } from './columnChunk.js';
import type { ColumnSpec } from './parquetSchema.js';
import { PhysicalType, writeSchema } from './parquetSchema.js';
import { ThriftWriter } from './thriftCompact.js';

const MAGIC = Uint8Array.from([0x50, 0x41, 0x52, 0x31]); // PAR1
const CREATED_BY = 'soundlake version 0.1.0 (build bronze-writer)';

interface RowGroupMeta {
  ordinal: number;
  rows: number;
  offset: number;
  chunks: { chunk: EncodedChunk; offset: number; column: number }[];
}

/**
 * A Parquet file written row group by row group (https://parquet.apache.org/docs/file-format/):
 * each call returns the bytes to append, and the footer comes last. Holds one row group's
 * pages while it encodes them, and the footer's metadata; nothing else of the file.
 */
export class ParquetFileWriter {
  private readonly encoders: ColumnChunkEncoder[];
  private readonly groups: RowGroupMeta[] = [];
  private offset = 0;
  private rows = 0;

  constructor(
    private readonly columns: ColumnSpec[],
    private readonly kv: { key: string; value: string }[] = [],
  ) {
    const names = new Set<string>();
    for (const c of columns) {
      if (names.has(c.name)) throw new Error(`column ${c.name}: named twice`);
      names.add(c.name);
    }
    this.encoders = columns.map((c) => new ColumnChunkEncoder(c));
  }

  /** One row group: its bytes (the file's magic number first, for the first one). */
  rowGroup(payloads: ColumnPayload[], rows: number): Uint8Array {
    if (payloads.length !== this.encoders.length) throw new Error(`a row group of ${payloads.length} columns for a file of ${this.encoders.length}`);
    const parts: Uint8Array[] = [];
    if (this.offset === 0) parts.push(MAGIC);
    let at = this.offset + (this.offset === 0 ? MAGIC.length : 0);
    const group: RowGroupMeta = { ordinal: this.groups.length, rows, offset: at, chunks: [] };
    for (let j = 0; j < payloads.length; j++) {
      const chunk = this.encoders[j]!.encode(payloads[j]!, rows);
      group.chunks.push({ chunk, offset: at, column: j });
      parts.push(...chunk.parts);
      at += chunk.bytes;
    }
    const out = concatParts(parts, at - this.offset);
    this.offset = at;
    this.groups.push(group);
    this.rows += rows;
    return out;
  }

  /** The footer (and the magic number first, if no row group was written). */
  finish(): Uint8Array {
    const head = this.offset === 0 ? MAGIC : new Uint8Array(0);
    const w = new ThriftWriter().i32(1, 1);
    writeSchema(w, 2, this.columns);
    w.i64(3, this.rows);
    w.list(4, 'struct', this.groups, (l, g) => l.elementStruct((r) => this.writeRowGroup(r, g)));
    if (this.kv.length > 0) w.list(5, 'struct', this.kv, (l, { key, value }) => l.elementStruct((s) => void s.binary(1, key).binary(2, value)));
    w.binary(6, CREATED_BY);
    // TYPE_DEFINED_ORDER for every column: readers may then trust min_value / max_value.
    w.list(7, 'struct', this.columns, (l) => l.elementStruct((o) => void o.struct(1, () => undefined)));
    const footer = w.end();
    const out = new Uint8Array(head.length + footer.length + 8);
    out.set(head);
    out.set(footer, head.length);
    new DataView(out.buffer).setUint32(head.length + footer.length, footer.length, true);
    out.set(MAGIC, head.length + footer.length + 4);
    return out;
  }

  private writeRowGroup(r: ThriftWriter, g: RowGroupMeta): void {
    let uncompressed = 0;
    let compressed = 0;
    r.list(1, 'struct', g.chunks, (l, { chunk, offset, column }) =>
      l.elementStruct((c) => {
        uncompressed += chunk.uncompressedBytes;
        compressed += chunk.bytes;
        c.i64(2, 0).struct(3, (m) => this.writeColumnMeta(m, chunk, offset, column));
      }),
    );
    // Ordinal is an i16: files past 32,767 row groups leave it out (it only helps decryption).
    r.i64(2, uncompressed).i64(3, g.rows).i64(5, g.offset).i64(6, compressed);
    if (g.ordinal < 32768) r.i16(7, g.ordinal);
  }

  private writeColumnMeta(m: ThriftWriter, chunk: EncodedChunk, offset: number, column: number): void {
    const spec = this.columns[column]!;
    const type = this.encoders[column]!.physical.type;
    m.i32(1, type)
      .list(2, 'i32', chunk.encodings, (l, e) => l.elementI32(e))
      .list(3, 'binary', [spec.name], (l, n) => l.elementBinary(n))
      .i32(4, CODEC_SNAPPY)
      .i64(5, chunk.values)
      .i64(6, chunk.uncompressedBytes)
      .i64(7, chunk.bytes)
      .i64(9, offset + chunk.dataPageOffset);
    if (chunk.dictionaryPageOffset !== null) m.i64(11, offset + chunk.dictionaryPageOffset);
    const { min, max, nulls } = chunk.statistics;
    // The deprecated min/max (fields 1, 2) are signed-order bounds: byte arrays, ordered unsigned, leave them out.
    const signed = type !== PhysicalType.BYTE_ARRAY && type !== PhysicalType.FIXED_LEN_BYTE_ARRAY;
    m.struct(12, (s) => {
      if (min && max && signed) s.binary(1, max).binary(2, min);
      s.i64(3, nulls);
      if (min && max) s.binary(5, max).binary(6, min).bool(7, true).bool(8, true);
    });
    m.list(13, 'struct', chunk.pageEncodings, (l, p) => l.elementStruct((e) => void e.i32(1, p.page).i32(2, p.encoding).i32(3, 1)));
  }
}

function concatParts(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
