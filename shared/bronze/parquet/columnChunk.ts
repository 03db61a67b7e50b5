import { compressSync } from 'snappy';
import type { ColumnPayload } from '../columnBatch.js';
import { ByteDictionary } from './byteDictionary.js';
import type { ColumnSpec, Physical } from './parquetSchema.js';
import { physicalOf, PhysicalType } from './parquetSchema.js';
import { bitWidthOf, RleHybridWriter } from './rleHybrid.js';
import { ThriftWriter } from './thriftCompact.js';

// parquet.thrift enums.
export const enum Encoding {
  PLAIN = 0,
  RLE = 3,
  RLE_DICTIONARY = 8,
}
export const enum PageType {
  DATA_PAGE = 0,
  DICTIONARY_PAGE = 2,
}
export const CODEC_SNAPPY = 1;

// PLAIN pages are the typed arrays' own bytes, which Parquet wants little-endian: so is every
// platform Node ships for but s390x, where this refuses to write rather than write wrong values.
if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new Error('the bronze Parquet writer needs a little-endian platform');

/** Byte-array statistics longer than this are left out (arrow-rs truncates at 64 bytes too). */
const MAX_STATISTICS_BYTES = 64;

export interface ChunkStatistics {
  min: Uint8Array | null;
  max: Uint8Array | null;
  nulls: number;
}

/** A column chunk's pages and what the footer says of it; offsets count from the chunk's first byte. */
export interface EncodedChunk {
  parts: Uint8Array[];
  bytes: number;
  uncompressedBytes: number;
  dictionaryPageOffset: number | null;
  dataPageOffset: number;
  values: number;
  encodings: Encoding[];
  pageEncodings: { page: PageType; encoding: Encoding }[];
  statistics: ChunkStatistics;
}

/**
 * Encodes one column of a row group as Parquet pages, Snappy-compressed: a dictionary page and
 * an RLE_DICTIONARY data page for strings and binaries whose values repeat, one PLAIN data page
 * otherwise (a row group is at most a few MiB, so one page per chunk). Nullable columns carry
 * definition levels; values are written for non-null rows only. Keeps what it learns of the
 * column (whether a dictionary pays) for the file's next row groups.
 */
export class ColumnChunkEncoder {
  readonly physical: Physical;
  private readonly levels = new RleHybridWriter();
  private readonly indices = new RleHybridWriter();
  private readonly dictionary: ByteDictionary | null;
  private dictionaryOff = false;

  constructor(readonly spec: ColumnSpec) {
    this.physical = physicalOf(spec.parquet);
    this.dictionary = this.physical.type === PhysicalType.BYTE_ARRAY ? new ByteDictionary() : null;
  }

  encode(payload: ColumnPayload, rows: number): EncodedChunk {
    const { spec } = this;
    if (!spec.nullable && payload.nulls > 0) throw new Error(`column ${spec.name}: ${payload.nulls} null value(s) in a column declared NOT NULL`);
    const levels = spec.nullable ? this.definitionLevels(payload.validity, rows, payload.nulls) : null;
    const present = rows - payload.nulls;
    const validity = payload.nulls > 0 ? payload.validity : null;
    switch (payload.layout) {
      case 'bytes': {
        const dictionary = this.tryDictionary(payload.offsets, payload.data, validity, rows, present);
        if (dictionary) return this.dictionaryChunk(dictionary, levels, rows, payload.nulls);
        const { page, statistics } = plainBytes(payload.offsets, payload.data, validity, rows, present);
        statistics.nulls = payload.nulls;
        return this.plainChunk(levels, page, rows, statistics);
      }
      case 'bool': {
        const bits = validity ? compactBits(payload.values, validity, rows, present) : payload.values.subarray(0, (rows + 7) >> 3);
        return this.plainChunk(levels, bits, rows, boolStatistics(bits, present, payload.nulls));
      }
      case 'decimal':
        return this.decimalChunk(payload.values, validity, levels, rows, present, payload.nulls);
      case 'fixed': {
        const values = payload.values;
        let words: Int32Array;
        if (values instanceof Int16Array) words = widen16(values, validity, rows, present);
        else {
          const width = values.BYTES_PER_ELEMENT >> 2;
          const all = new Int32Array(values.buffer, values.byteOffset, rows * width);
          words = validity ? gatherWords(all, width, width, validity, rows, present) : all;
        }
        return this.plainChunk(levels, bytesOf(words), rows, fixedStatistics(this.physical.type, words, present, payload.nulls));
      }
    }
  }

  /** Definition levels (1 present, 0 null) as a v1 data page holds them: a 4-byte length, then RLE/bit-packed. */
  private definitionLevels(validity: Uint8Array | null, rows: number, nulls: number): Uint8Array {
    let encoded: Uint8Array;
    if (nulls === 0 || !validity) encoded = this.levels.repeat(1, rows, 1);
    else {
      const levels = new Uint8Array(rows);
      for (let i = 0; i < rows; i++) levels[i] = (validity[i >> 3]! >> (i & 7)) & 1;
      encoded = this.levels.encode(levels, rows, 1);
    }
    const out = new Uint8Array(4 + encoded.length);
    new DataView(out.buffer).setUint32(0, encoded.length, true);
    out.set(encoded, 4);
    return out;
  }

  /** The chunk's dictionary indices, or null when a dictionary does not pay here. */
  private tryDictionary(offsets: Int32Array, data: Uint8Array, validity: Uint8Array | null, rows: number, present: number): Int32Array | null {
    const dictionary = this.dictionary;
    if (!dictionary || this.dictionaryOff || present === 0) return null;
    dictionary.reset(present);
    const indices = new Int32Array(present);
    let n = 0;
    for (let i = 0; i < rows; i++) {
      if (validity && isNull(validity, i)) continue;
      const start = offsets[i]!;
      const e = dictionary.index(data, start, offsets[i + 1]! - start);
      if (e < 0) {
        this.dictionaryOff = true;
        return null;
      }
      indices[n++] = e;
    }
    return indices;
  }

  private dictionaryChunk(indices: Int32Array, levels: Uint8Array | null, rows: number, nulls: number): EncodedChunk {
    const d = this.dictionary!;
    const dictPage = new Uint8Array(4 * d.count + d.bytes);
    const view = new DataView(dictPage.buffer);
    let o = 0;
    let min = -1;
    let max = -1;
    for (let e = 0; e < d.count; e++) {
      const start = d.starts[e]!;
      const length = d.lengths[e]!;
      view.setInt32(o, length, true);
      dictPage.set(d.data.subarray(start, start + length), o + 4);
      o += 4 + length;
      if (min < 0 || compareBytes(d.data, start, length, d.data, d.starts[min]!, d.lengths[min]!) < 0) min = e;
      if (max < 0 || compareBytes(d.data, start, length, d.data, d.starts[max]!, d.lengths[max]!) > 0) max = e;
    }
    const width = bitWidthOf(d.count - 1);
    const encoded = this.indices.encode(indices, indices.length, width);
    const data = new Uint8Array(1 + encoded.length);
    data[0] = width;
    data.set(encoded, 1);
    const entry = (e: number): Uint8Array => d.data.slice(d.starts[e]!, d.starts[e]! + d.lengths[e]!);
    const statistics = byteStatistics(entry(min), entry(max), nulls);
    const dict = page(PageType.DICTIONARY_PAGE, [dictPage], d.count, Encoding.PLAIN);
    const dataPage = page(PageType.DATA_PAGE, levels ? [levels, data] : [data], rows, Encoding.RLE_DICTIONARY);
    return {
      parts: [...dict.parts, ...dataPage.parts],
      bytes: dict.bytes + dataPage.bytes,
      uncompressedBytes: dict.uncompressedBytes + dataPage.uncompressedBytes,
      dictionaryPageOffset: 0,
      dataPageOffset: dict.bytes,
      values: rows,
      encodings: [Encoding.PLAIN, Encoding.RLE, Encoding.RLE_DICTIONARY],
      pageEncodings: [
        { page: PageType.DATA_PAGE, encoding: Encoding.RLE_DICTIONARY },
        { page: PageType.DICTIONARY_PAGE, encoding: Encoding.PLAIN },
      ],
      statistics,
    };
  }

  private plainChunk(levels: Uint8Array | null, values: Uint8Array, rows: number, statistics: ChunkStatistics): EncodedChunk {
    const p = page(PageType.DATA_PAGE, levels ? [levels, values] : [values], rows, Encoding.PLAIN);
    return {
      parts: p.parts,
      bytes: p.bytes,
      uncompressedBytes: p.uncompressedBytes,
      dictionaryPageOffset: null,
      dataPageOffset: 0,
      values: rows,
      encodings: [Encoding.PLAIN, Encoding.RLE],
      pageEncodings: [{ page: PageType.DATA_PAGE, encoding: Encoding.PLAIN }],
      statistics,
    };
  }

  /** DECIMAL from 128-bit two's complement words: INT32 / INT64 take the low bits, FIXED_LEN_BYTE_ARRAY big-endian bytes. */
  private decimalChunk(words: BigInt64Array, validity: Uint8Array | null, levels: Uint8Array | null, rows: number, present: number, nulls: number): EncodedChunk {
    const quads = new Int32Array(words.buffer, words.byteOffset, rows * 4);
    const type = this.physical.type;
    if (type === PhysicalType.INT32 || type === PhysicalType.INT64) {
      const out = gatherWords(quads, 4, type === PhysicalType.INT32 ? 1 : 2, validity, rows, present);
      return this.plainChunk(levels, bytesOf(out), rows, fixedStatistics(type, out, present, nulls));
    }
    const size = this.physical.typeLength;
    const le = new Uint8Array(words.buffer, words.byteOffset, rows * 16);
    const out = new Uint8Array(present * size);
    let o = 0;
    for (let i = 0; i < rows; i++) {
      if (validity && isNull(validity, i)) continue;
      for (let b = size - 1; b >= 0; b--) out[o++] = le[16 * i + b]!;
    }
    let min = -1;
    let max = -1;
    for (let k = 0; k < present; k++) {
      if (min < 0 || compareSignedBigEndian(out, k * size, min * size, size) < 0) min = k;
      if (max < 0 || compareSignedBigEndian(out, k * size, max * size, size) > 0) max = k;
    }
    const statistics: ChunkStatistics = {
      min: min < 0 ? null : out.slice(min * size, (min + 1) * size),
      max: max < 0 ? null : out.slice(max * size, (max + 1) * size),
      nulls,
    };
    return this.plainChunk(levels, out, rows, statistics);
  }
}

/** One page: header, then its body compressed. */
function page(type: PageType, body: Uint8Array[], values: number, encoding: Encoding): { parts: Uint8Array[]; bytes: number; uncompressedBytes: number } {
  const raw = body.length === 1 ? body[0]! : concat(body);
  // copyOutputData: the output in memory V8 accounts for. The default hands back native memory V8
  // does not see, so the encoder thread's heap never grew enough to collect it: a 5M-row CLI run
  // peaked at 349-375 MB RSS instead of 216-235, with twice the system CPU.
  const compressed: Uint8Array = compressSync(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), { copyOutputData: true });
  const w = new ThriftWriter().i32(1, type).i32(2, raw.length).i32(3, compressed.length);
  if (type === PageType.DATA_PAGE) w.struct(5, (h) => void h.i32(1, values).i32(2, encoding).i32(3, Encoding.RLE).i32(4, Encoding.RLE));
  else w.struct(7, (h) => void h.i32(1, values).i32(2, encoding));
  const header = w.end().slice();
  return { parts: [header, compressed], bytes: header.length + compressed.length, uncompressedBytes: header.length + raw.length };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function bytesOf(a: Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * The first `width` 32-bit words of every `stride` words, for present rows: copied as words, never
 * through a JS number, which could change a NaN's bits.
 */
function gatherWords(all: Int32Array, stride: number, width: number, validity: Uint8Array | null, rows: number, present: number): Int32Array {
  const out = new Int32Array(present * width);
  let n = 0;
  for (let i = 0; i < rows; i++) {
    if (validity && isNull(validity, i)) continue;
    out[n++] = all[i * stride]!;
    if (width === 2) out[n++] = all[i * stride + 1]!;
  }
  return out;
}

function isNull(validity: Uint8Array, i: number): boolean {
  return ((validity[i >> 3]! >> (i & 7)) & 1) === 0;
}

function widen16(values: Int16Array, validity: Uint8Array | null, rows: number, present: number): Int32Array {
  const out = new Int32Array(present);
  let n = 0;
  for (let i = 0; i < rows; i++) {
    if (validity && isNull(validity, i)) continue;
    out[n++] = values[i]!;
  }
  return out;
}

function compactBits(values: Uint8Array, validity: Uint8Array, rows: number, present: number): Uint8Array {
  const out = new Uint8Array((present + 7) >> 3);
  let n = 0;
  for (let i = 0; i < rows; i++) {
    if (isNull(validity, i)) continue;
    if ((values[i >> 3]! >> (i & 7)) & 1) out[n >> 3]! |= 1 << (n & 7);
    n++;
  }
  return out;
}

/** PLAIN byte arrays (a 4-byte length before each value) of the present rows, with min and max. */
function plainBytes(offsets: Int32Array, data: Uint8Array, validity: Uint8Array | null, rows: number, present: number): { page: Uint8Array; statistics: ChunkStatistics } {
  let total = 4 * present;
  for (let i = 0; i < rows; i++) total += offsets[i + 1]! - offsets[i]!;
  const page = new Uint8Array(total);
  const view = new DataView(page.buffer);
  let o = 0;
  let minStart = -1;
  let minLength = 0;
  let maxStart = -1;
  let maxLength = 0;
  for (let i = 0; i < rows; i++) {
    if (validity && isNull(validity, i)) continue;
    const start = offsets[i]!;
    const length = offsets[i + 1]! - start;
    view.setInt32(o, length, true);
    page.set(data.subarray(start, start + length), o + 4);
    o += 4 + length;
    if (minStart < 0 || compareBytes(data, start, length, data, minStart, minLength) < 0) {
      minStart = start;
      minLength = length;
    }
    if (maxStart < 0 || compareBytes(data, start, length, data, maxStart, maxLength) > 0) {
      maxStart = start;
      maxLength = length;
    }
  }
  const min = minStart < 0 ? null : data.slice(minStart, minStart + minLength);
  const max = maxStart < 0 ? null : data.slice(maxStart, maxStart + maxLength);
  return { page, statistics: byteStatistics(min, max, 0) };
}

function byteStatistics(min: Uint8Array | null, max: Uint8Array | null, nulls: number): ChunkStatistics {
  // A long value is left out rather than truncated: a truncated max needs its last byte raised, which can break UTF-8.
  if (!min || !max || min.length > MAX_STATISTICS_BYTES || max.length > MAX_STATISTICS_BYTES) return { min: null, max: null, nulls };
  return { min, max, nulls };
}

/** Unsigned byte-wise order, as Parquet orders BYTE_ARRAY. */
function compareBytes(a: Uint8Array, aStart: number, aLength: number, b: Uint8Array, bStart: number, bLength: number): number {
  const n = Math.min(aLength, bLength);
  for (let k = 0; k < n; k++) {
    const d = a[aStart + k]! - b[bStart + k]!;
    if (d !== 0) return d;
  }
  return aLength - bLength;
}

/** Two's complement big-endian order: the first byte signed, the rest unsigned. */
function compareSignedBigEndian(buf: Uint8Array, a: number, b: number, size: number): number {
  const d = ((buf[a]! << 24) >> 24) - ((buf[b]! << 24) >> 24);
  if (d !== 0) return d;
  for (let k = 1; k < size; k++) {
    const e = buf[a + k]! - buf[b + k]!;
    if (e !== 0) return e;
  }
  return 0;
}

function boolStatistics(bits: Uint8Array, present: number, nulls: number): ChunkStatistics {
  let anyTrue = false;
  let anyFalse = false;
  for (let i = 0; i < present && !(anyTrue && anyFalse); i++) {
    if ((bits[i >> 3]! >> (i & 7)) & 1) anyTrue = true;
    else anyFalse = true;
  }
  if (present === 0) return { min: null, max: null, nulls };
  return { min: Uint8Array.of(anyFalse ? 0 : 1), max: Uint8Array.of(anyTrue ? 1 : 0), nulls };
}

/** XOR-ed into an int32, makes its signed order the unsigned order of its bits. */
const SIGN_BIT = -0x80000000;

/** Min and max of 32-bit, 64-bit and floating-point values, as their PLAIN bytes. */
function fixedStatistics(type: PhysicalType, words: Int32Array, present: number, nulls: number): ChunkStatistics {
  if (present === 0) return { min: null, max: null, nulls };
  const le = (k: number, width: number): Uint8Array => new Uint8Array(words.buffer, words.byteOffset + k * width * 4, width * 4).slice();
  switch (type) {
    case PhysicalType.INT32: {
      let min = words[0]!;
      let max = min;
      for (let k = 1; k < present; k++) {
        const v = words[k]!;
        if (v < min) min = v;
        else if (v > max) max = v;
      }
      return { min: new Uint8Array(Int32Array.of(min).buffer), max: new Uint8Array(Int32Array.of(max).buffer), nulls };
    }
    case PhysicalType.INT64: {
      // Signed high words, then low words in unsigned order: no BigInt per value. The low words
      // have their sign bit flipped, which orders them as unsigned while they stay int32 (read
      // with >>> 0 they become doubles past 2^31, and V8 dropped the compiled loop at the first).
      let min = 0;
      let max = 0;
      let minHi = words[1]!;
      let minLo = words[0]! ^ SIGN_BIT;
      let maxHi = minHi;
      let maxLo = minLo;
      for (let k = 1; k < present; k++) {
        const hi = words[2 * k + 1]!;
        const lo = words[2 * k]! ^ SIGN_BIT;
        if (hi < minHi || (hi === minHi && lo < minLo)) {
          min = k;
          minHi = hi;
          minLo = lo;
        }
        if (hi > maxHi || (hi === maxHi && lo > maxLo)) {
          max = k;
          maxHi = hi;
          maxLo = lo;
        }
      }
      return { min: le(min, 2), max: le(max, 2), nulls };
    }
    case PhysicalType.FLOAT:
    case PhysicalType.DOUBLE: {
      const floats = type === PhysicalType.FLOAT ? new Float32Array(words.buffer, words.byteOffset, present) : new Float64Array(words.buffer, words.byteOffset, present);
      let min = Infinity;
      let max = -Infinity;
      let any = false;
      for (let k = 0; k < present; k++) {
        const v = floats[k]!;
        if (v !== v) continue; // NaN is left out of the bounds
        any = true;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      if (!any) return { min: null, max: null, nulls };
      // Zeros: the bounds must hold both -0 and +0 (parquet.thrift, Statistics).
      if (min === 0) min = -0;
      if (max === 0) max = 0;
      const bytes = (v: number): Uint8Array => {
        const out = type === PhysicalType.FLOAT ? new Float32Array([v]) : new Float64Array([v]);
        return new Uint8Array(out.buffer);
      };
      return { min: bytes(min), max: bytes(max), nulls };
    }
    default:
      return { min: null, max: null, nulls };
  }
}
