import { isUtf8 } from 'node:buffer';
import type { ColumnPayload, ColumnSegment, SegmentLimits } from '../../bronze/columnBatch.js';
import { takeBuffer } from '../../bronze/columnBufferPool.js';
import type { ParquetKind } from '../parquetTypes.js';
import {
  dateFromPostgresBinary,
  postgresTimestampText,
  timestampFromPostgresBinary,
  timestampHalvesFromPostgresBinary,
  ValueError,
} from '../valueCodecs.js';

/**
 * How one field of `COPY ... TO STDOUT (FORMAT binary)` is turned into its Arrow column. Every
 * value lands in the column's buffers straight from the socket's bytes: no row objects, no JS
 * strings for text (UTF-8 is copied as it comes), no BigInt for 64-bit values.
 *
 * - `text`: the bytes as they are (text, varchar, bpchar, name, json, bytea, and any type the
 *   reader asked the server to send as its text output).
 * - `jsonb`: a version byte (1), then the text.
 * - `uuid`: 16 bytes, written as lower-case 8-4-4-4-12 text.
 * - `numeric`: Postgres' base-10000 digits, to the column's DECIMAL(p,s) unscaled integer.
 * - dates and timestamps: Postgres' 2000-01-01 epoch moved to 1970, with the infinity rule of
 *   valueCodecs.ts.
 */
export type BinaryDecoding = 'int2' | 'int4' | 'int8' | 'float4' | 'float8' | 'bool' | 'date' | 'timestamp' | 'text' | 'jsonb' | 'uuid' | 'numeric';

export interface DecodedColumn {
  name: string;
  kind: ParquetKind;
  decoding: BinaryDecoding;
  precision?: number;
  scale?: number;
  /** Timestamps: with time zone (how a value is named in an error). */
  zoned?: boolean;
}

/** The binary decoding of a Postgres type for a Parquet kind, or null when it must come as text. */
export function binaryDecoding(typname: string, kind: ParquetKind): BinaryDecoding | null {
  const pairs: Record<string, [ParquetKind, BinaryDecoding]> = {
    int2: ['int16', 'int2'],
    int4: ['int32', 'int4'],
    int8: ['int64', 'int8'],
    float4: ['float', 'float4'],
    float8: ['double', 'float8'],
    bool: ['boolean', 'bool'],
    date: ['date', 'date'],
    timestamp: ['timestamp', 'timestamp'],
    timestamptz: ['timestamp', 'timestamp'],
    bytea: ['binary', 'text'],
    numeric: ['decimal', 'numeric'],
    text: ['string', 'text'],
    varchar: ['string', 'text'],
    bpchar: ['string', 'text'],
    name: ['string', 'text'],
    json: ['string', 'text'],
    jsonb: ['string', 'jsonb'],
    uuid: ['string', 'uuid'],
  };
  const pair = Object.hasOwn(pairs, typname) ? pairs[typname] : undefined;
  return pair && pair[0] === kind ? pair[1] : null;
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).map((h) => [h.charCodeAt(0), h.charCodeAt(1)] as const);
const UUID_DASH_AFTER = new Set([3, 5, 7, 9]);

/** A field that cannot be read: the caller names the table, this names the column and the value. */
export class UnreadableField extends Error {
  constructor(
    readonly column: string,
    readonly problem: string,
  ) {
    super(`column ${column}: ${problem}`);
    this.name = 'UnreadableField';
  }
}

const D_INT2 = 0;
const D_INT4 = 1;
const D_INT8 = 2;
const D_FLOAT4 = 3;
const D_FLOAT8 = 4;
const D_BOOL = 5;
const D_DATE = 6;
const D_TIMESTAMP = 7;
const D_TEXT = 8;
const D_JSONB = 9;
const D_UUID = 10;
const D_NUMERIC = 11;
const CODES: Record<BinaryDecoding, number> = {
  int2: D_INT2,
  int4: D_INT4,
  int8: D_INT8,
  float4: D_FLOAT4,
  float8: D_FLOAT8,
  bool: D_BOOL,
  date: D_DATE,
  timestamp: D_TIMESTAMP,
  text: D_TEXT,
  jsonb: D_JSONB,
  uuid: D_UUID,
  numeric: D_NUMERIC,
};
/** Bytes a value takes in its Arrow buffer; variable-width columns count their bytes and a 4-byte offset per row apart. */
const WIDTH = [2, 4, 8, 4, 8, 0.125, 4, 8, 0, 0, 0, 16];

/** One column of the row group being built; every field is present so the hot loop sees one shape. */
class Column {
  readonly code: number;
  readonly variable: boolean;
  readonly bytesWidth: number;
  fixed: Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array | Uint8Array = new Uint8Array(0);
  u8: Uint8Array = new Uint8Array(0);
  i32: Int32Array = new Int32Array(0);
  offsets = new Int32Array(0);
  data = new Uint8Array(0);
  pos = 0;
  validity: Uint8Array | null = null;
  nulls = 0;
  /** Size of the last group's data: the next one of the same table likely needs as much. */
  lastData = 64 * 1024;

  constructor(
    readonly spec: DecodedColumn,
    /** An appended key column: read for the keyset cursor, never written to Parquet. */
    readonly keyOnly: boolean,
  ) {
    this.code = CODES[spec.decoding];
    this.variable = this.code === D_TEXT || this.code === D_JSONB || this.code === D_UUID;
    this.bytesWidth = WIDTH[this.code]!;
  }

  start(capacity: number): void {
    this.validity = null;
    this.nulls = 0;
    this.pos = 0;
    switch (this.code) {
      case D_INT2:
        this.fixed = new Int16Array(takeBuffer(2 * capacity));
        break;
      case D_INT4:
      case D_DATE:
        this.fixed = new Int32Array(takeBuffer(4 * capacity));
        break;
      case D_INT8:
      case D_TIMESTAMP:
        this.fixed = new BigInt64Array(takeBuffer(8 * capacity));
        break;
      case D_FLOAT4:
        this.fixed = new Float32Array(takeBuffer(4 * capacity));
        break;
      case D_FLOAT8:
        this.fixed = new Float64Array(takeBuffer(8 * capacity));
        break;
      case D_BOOL:
        this.fixed = new Uint8Array(Math.ceil(capacity / 8));
        break;
      case D_NUMERIC:
        this.fixed = new BigInt64Array(takeBuffer(16 * capacity));
        break;
      default:
        this.offsets = new Int32Array(takeBuffer(4 * (capacity + 1)));
        this.data = new Uint8Array(takeBuffer(this.lastData));
    }
    if (!this.variable) {
      this.u8 = new Uint8Array(this.fixed.buffer);
      // 8-byte values are written as two int32 halves; other columns never use this view.
      this.i32 = this.code === D_TIMESTAMP || this.code === D_INT8 || this.code === D_FLOAT8 ? new Int32Array(this.fixed.buffer) : new Int32Array(0);
    }
  }

  setNull(row: number, capacity: number): void {
    this.validity ??= new Uint8Array(Math.ceil(capacity / 8)).fill(0xff);
    this.validity[row >> 3]! &= ~(1 << (row & 7));
    this.nulls++;
  }

  grow(need: number, limit: number): void {
    // Doubling, but not far past a row group's byte bound (a wide table would hold twice its size).
    const size = Math.max(need, Math.min(this.data.length * 2, limit + limit / 8));
    const grown = new Uint8Array(size);
    grown.set(this.data.subarray(0, this.pos));
    this.data = grown;
  }

  payload(rows: number): { payload: ColumnPayload; transfer: ArrayBuffer[] } {
    const validity = this.validity;
    const extra = validity ? [validity.buffer as ArrayBuffer] : [];
    const nulls = this.nulls;
    if (this.variable) {
      this.lastData = Math.max(64 * 1024, this.data.length);
      const offsets = this.offsets.subarray(0, rows + 1);
      const data = new Uint8Array(this.data.buffer, 0, this.pos);
      return { payload: { layout: 'bytes', offsets, data, validity, nulls }, transfer: [offsets.buffer as ArrayBuffer, data.buffer as ArrayBuffer, ...extra] };
    }
    if (this.code === D_BOOL) return { payload: { layout: 'bool', values: this.fixed as Uint8Array, validity, nulls }, transfer: [this.fixed.buffer as ArrayBuffer, ...extra] };
    if (this.code === D_NUMERIC) {
      const values = (this.fixed as BigInt64Array).subarray(0, 2 * rows);
      return { payload: { layout: 'decimal', values, validity, nulls }, transfer: [values.buffer as ArrayBuffer, ...extra] };
    }
    const values = (this.fixed as Int32Array).subarray(0, rows);
    return { payload: { layout: 'fixed', values, validity, nulls }, transfer: [values.buffer as ArrayBuffer, ...extra] };
  }

  /** The value at `row` as text, for the keyset cursor. */
  text(row: number): string {
    if (this.variable) return Buffer.from(this.data.buffer, this.offsets[row]!, this.offsets[row + 1]! - this.offsets[row]!).toString('utf8');
    return String((this.fixed as Int32Array)[row]);
  }
}

/**
 * Decodes a `COPY ... TO STDOUT (FORMAT binary)` stream into row groups in Arrow's layout, cut
 * by the segment limits. Chunks can end anywhere, inside a row or a field: a row is decoded only
 * once all its bytes are there (its field headers are walked first), and what is left waits for
 * the next chunk. Fields are checked against the expected count and widths: a stream that is not
 * what the query promised fails instead of writing wrong values.
 */
export class CopyBinaryDecoder {
  private readonly columns: Column[];
  private readonly output: Column[];
  private readonly keyColumns: Column[];
  private readonly fixedRowBytes: number;
  private readonly variableCount: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before decoding can go on (a row or the header not yet complete). */
  private need = 0;
  private headerRead = false;
  private ended = false;
  private rows = 0;
  private bytes = 0;
  private capacity = 0;
  private rowsInPart = 0;
  /** Row groups ready for the reader. */
  private readonly ready: ColumnSegment[] = [];

  /**
   * @param columns the written columns, in order
   * @param keys where each primary-key value is read: an output column, or an appended text field
   */
  constructor(
    columns: DecodedColumn[],
    appendedKeys: DecodedColumn[],
    private readonly keys: { column: number; appended: boolean }[],
    private readonly limits: SegmentLimits,
  ) {
    this.output = columns.map((c) => new Column(c, false));
    this.keyColumns = appendedKeys.map((c) => new Column(c, true));
    this.columns = [...this.output, ...this.keyColumns];
    this.fixedRowBytes = this.output.reduce((n, c) => n + c.bytesWidth, 0);
    this.variableCount = this.output.filter((c) => c.variable).length;
    this.startGroup();
  }

  private startGroup(): void {
    this.rows = 0;
    this.bytes = 0;
    this.capacity = Math.min(this.limits.groupRows, this.limits.partRows - this.rowsInPart);
    for (const c of this.columns) c.start(this.capacity);
  }

  /**
   * Takes the next bytes of the stream, `buf[start, end)`: decoded in place when they hold whole
   * rows (each CopyData message is one row), kept as a view until the rest arrives otherwise.
   */
  push(buf: Buffer, start = 0, end = buf.length): void {
    if (this.ended) {
      if (end > start) throw new Error('COPY stream: data after the end marker');
      return;
    }
    if (this.pendingBytes > 0) {
      this.pending.push(buf.subarray(start, end));
      this.pendingBytes += end - start;
      if (this.pendingBytes < this.need) return;
      const whole = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.push(whole, 0, whole.length);
      return;
    }
    let at = start;
    if (!this.headerRead) {
      const h = this.header(buf, at, end);
      if (h < 0) return this.keep(buf, at, end, -h);
      at = h;
    }
    at = this.decode(buf, at, end);
    if (this.ended) {
      if (at !== end) throw new Error('COPY stream: data after the end marker');
    } else if (at < end) this.keep(buf, at, end, this.need);
  }

  /**
   * One whole CopyData payload, `buf[start, end)`: PostgreSQL sends each row of a COPY as a
   * message of its own, so a whole payload is a whole row (or the trailer) and is decoded in one
   * pass, its length checked against the fields it holds. Anything else (the header, a row
   * whose start is still pending) takes the general path.
   */
  pushMessage(buf: Buffer, start: number, end: number): void {
    if (!this.headerRead || this.pendingBytes > 0 || this.ended || end - start < 2) return this.push(buf, start, end);
    const fields = (buf[start]! << 8) | buf[start + 1]!;
    if (fields === 0xffff) {
      this.ended = true;
      if (end !== start + 2) throw new Error('COPY stream: data after the end marker');
      return;
    }
    if (fields !== this.columns.length) throw new Error(`COPY stream: a row has ${fields} fields, the query selects ${this.columns.length}`);
    const row = this.rows;
    let rowBytes = this.fixedRowBytes + this.row(buf, start + 2, end, row) + 4 * this.variableCount;
    if (row > 0 && this.bytes + rowBytes > this.limits.groupBytes) {
      // The row would take the group past its byte bound: it starts the next group instead.
      this.undoRow(row);
      this.finishGroup();
      rowBytes = this.fixedRowBytes + this.row(buf, start + 2, end, 0) + 4 * this.variableCount;
    }
    this.rows++;
    this.bytes += rowBytes;
    if (this.rows === this.capacity) this.finishGroup();
  }

  /** Forgets what `row` wrote: its nulls, its bytes in variable-width columns, its true booleans. */
  private undoRow(row: number): void {
    const byte = row >> 3;
    const bit = 1 << (row & 7);
    for (const c of this.columns) {
      if (c.validity && (c.validity[byte]! & bit) === 0) {
        c.validity[byte]! |= bit;
        c.nulls--;
      }
      if (c.variable) c.pos = c.offsets[row]!;
      else if (c.code === D_BOOL) c.u8[byte]! &= ~bit;
    }
  }

  /** The next completed row group, if any. */
  take(): ColumnSegment | undefined {
    return this.ready.shift();
  }

  /** After the last bytes: the final row group, and a check that the stream was complete. */
  end(): void {
    if (!this.ended) throw new Error('COPY stream ended before its end marker');
    if (this.rows > 0) this.finishGroup();
  }

  private keep(buf: Buffer, from: number, end: number, need: number): void {
    this.pending = [buf.subarray(from, end)];
    this.pendingBytes = end - from;
    this.need = need;
  }

  /** Reads the header; returns where tuples start, or minus the bytes needed. */
  private header(buf: Buffer, at: number, end: number): number {
    if (end - at < 19) return -19;
    if (!buf.subarray(at, at + 11).equals(SIGNATURE)) throw new Error('COPY stream: not PostgreSQL binary COPY data');
    const extension = buf.readInt32BE(at + 15);
    if (end - at < 19 + extension) return -(19 + extension);
    this.headerRead = true;
    return at + 19 + extension;
  }

  /** Decodes every complete row from `at`; returns where the first incomplete one starts. */
  private decode(buf: Buffer, at: number, end: number): number {
    const columns = this.columns;
    const count = columns.length;
    const maxBytes = this.limits.groupBytes;
    let p = at;
    for (;;) {
      // Walk the row's field headers: is it all here, and how many bytes will it take in Arrow?
      if (end - p < 2) {
        this.need = 2;
        return p;
      }
      const fields = (buf[p]! << 8) | buf[p + 1]!;
      if (fields === 0xffff) {
        this.ended = true;
        return p + 2;
      }
      if (fields !== count) throw new Error(`COPY stream: a row has ${fields} fields, the query selects ${count}`);
      let q = p + 2;
      let variableBytes = 0;
      let complete = true;
      for (let j = 0; j < count; j++) {
        if (end - q < 4) {
          complete = false;
          this.need = q - p + 4;
          break;
        }
        const len = (buf[q]! << 24) | (buf[q + 1]! << 16) | (buf[q + 2]! << 8) | buf[q + 3]!;
        q += 4;
        if (len <= 0) continue;
        if (end - q < len) {
          complete = false;
          this.need = q - p + len;
          break;
        }
        const c = columns[j]!;
        if (c.variable && !c.keyOnly) variableBytes += c.code === D_UUID ? 36 : c.code === D_JSONB ? len - 1 : len;
        q += len;
      }
      if (!complete) return p;
      const rowBytes = this.fixedRowBytes + variableBytes + 4 * this.variableCount;
      if (this.rows > 0 && (this.rows === this.capacity || this.bytes + rowBytes > maxBytes)) this.finishGroup();
      this.row(buf, p + 2, q, this.rows);
      this.rows++;
      this.bytes += rowBytes;
      p = q;
      if (this.rows === this.capacity) this.finishGroup();
    }
  }

  /**
   * Writes one row's fields, `buf[p, end)`, to position `row` of every column; returns the bytes
   * its variable-width values take in Arrow. Fields that run past `end`, or bytes left after the
   * last field, fail the stream.
   */
  private row(buf: Buffer, p: number, end: number, row: number): number {
    const columns = this.columns;
    let variableBytes = 0;
    for (let j = 0; j < columns.length; j++) {
      const c = columns[j]!;
      if (end - p < 4) throw this.overrun();
      const len = (buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
      p += 4;
      if (len > end - p || len < -1) throw this.overrun();
      if (len === -1) {
        c.setNull(row, this.capacity);
        if (c.variable) c.offsets[row + 1] = c.pos;
        continue;
      }
      switch (c.code) {
        case D_INT4: {
          if (len !== 4) throw this.width(c, len);
          (c.fixed as Int32Array)[row] = (buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
          break;
        }
        case D_INT8:
        case D_FLOAT8: {
          if (len !== 8) throw this.width(c, len);
          // Big-endian halves, each read as an int32, stored as the little-endian words of the value.
          const i32 = c.i32;
          i32[row * 2] = (buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!;
          i32[row * 2 + 1] = (buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
          break;
        }
        case D_TIMESTAMP: {
          if (len !== 8) throw this.width(c, len);
          const hi = (buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
          const lo = (buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!;
          if (!timestampHalvesFromPostgresBinary(hi, lo, c.i32, row * 2)) this.timestampOutOfRange(c, buf.readBigInt64BE(p));
          break;
        }
        case D_TEXT: {
          if (!c.keyOnly) variableBytes += len;
          let pos = c.pos;
          if (pos + len > c.data.length) c.grow(pos + len, this.limits.groupBytes);
          const data = c.data;
          if (len < 32) for (let k = 0; k < len; k++) data[pos + k] = buf[p + k]!;
          else data.set(buf.subarray(p, p + len), pos);
          pos += len;
          c.pos = pos;
          c.offsets[row + 1] = pos;
          break;
        }
        case D_INT2: {
          if (len !== 2) throw this.width(c, len);
          (c.fixed as Int16Array)[row] = (buf[p]! << 8) | buf[p + 1]!;
          break;
        }
        case D_FLOAT4: {
          if (len !== 4) throw this.width(c, len);
          const u8 = c.u8;
          const o = row * 4;
          u8[o] = buf[p + 3]!;
          u8[o + 1] = buf[p + 2]!;
          u8[o + 2] = buf[p + 1]!;
          u8[o + 3] = buf[p]!;
          break;
        }
        case D_BOOL: {
          if (len !== 1) throw this.width(c, len);
          if (buf[p] !== 0) c.u8[row >> 3]! |= 1 << (row & 7);
          break;
        }
        case D_DATE: {
          if (len !== 4) throw this.width(c, len);
          (c.fixed as Int32Array)[row] = dateFromPostgresBinary((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!);
          break;
        }
        case D_JSONB: {
          if (len < 1 || buf[p] !== 1) throw new UnreadableField(c.spec.name, `unknown jsonb binary format version ${buf[p]}`);
          if (!c.keyOnly) variableBytes += len - 1;
          if (c.pos + len > c.data.length) c.grow(c.pos + len, this.limits.groupBytes);
          c.data.set(buf.subarray(p + 1, p + len), c.pos);
          c.pos += len - 1;
          c.offsets[row + 1] = c.pos;
          break;
        }
        case D_UUID: {
          if (len !== 16) throw this.width(c, len);
          if (!c.keyOnly) variableBytes += 36;
          if (c.pos + 36 > c.data.length) c.grow(c.pos + 36, this.limits.groupBytes);
          const data = c.data;
          let o = c.pos;
          for (let k = 0; k < 16; k++) {
            const h = HEX[buf[p + k]!]!;
            data[o++] = h[0];
            data[o++] = h[1];
            if (UUID_DASH_AFTER.has(k)) data[o++] = 45;
          }
          c.pos = o;
          c.offsets[row + 1] = o;
          break;
        }
        case D_NUMERIC:
          writeDecimal(c, buf, p, len, row);
          break;
      }
      p += len;
    }
    if (p !== end) throw new Error(`COPY stream: a row has ${end - p} bytes after its last field`);
    return variableBytes;
  }

  private overrun(): Error {
    return new Error('COPY stream: a field runs past the end of its row');
  }

  private finishGroup(): void {
    const rows = this.rows;
    const columns: ColumnPayload[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const c of this.output) {
      if (c.code === D_TEXT && c.spec.kind === 'string' && !isUtf8(c.data.subarray(0, c.pos))) {
        throw new UnreadableField(c.spec.name, 'a value is not valid UTF-8 (is the database SQL_ASCII?)');
      }
      const { payload, transfer: t } = c.payload(rows);
      columns.push(payload);
      transfer.push(...t);
    }
    const last = rows - 1;
    const lastKey = this.keys.map((k) => (k.appended ? this.keyColumns[k.column]! : this.output[k.column]!).text(last));
    this.ready.push({ columns, rows, transfer, lastKey });
    this.rowsInPart = (this.rowsInPart + rows) % this.limits.partRows;
    this.startGroup();
  }

  private width(c: Column, len: number): Error {
    return new Error(`COPY stream: column ${c.spec.name} (${c.spec.decoding}) sent a ${len}-byte value`);
  }

  private timestampOutOfRange(c: Column, microsSince2000: bigint): never {
    try {
      timestampFromPostgresBinary(microsSince2000, postgresTimestampText(microsSince2000, c.spec.zoned ?? true));
    } catch (err) {
      throw new UnreadableField(c.spec.name, (err as ValueError).message);
    }
    throw new UnreadableField(c.spec.name, `timestamp ${microsSince2000} µs after 2000-01-01 is outside the range of Parquet TIMESTAMP(MICROS)`);
  }
}

const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;

/**
 * A binary numeric (ndigits, weight, sign, dscale, then base-10000 digits) as the column's
 * DECIMAL(p,s) unscaled value, two's complement in two 64-bit words. Exact or refused: NaN and
 * infinities, digits past the scale, or more digits than the precision fail with the value named.
 */
function writeDecimal(c: Column, buf: Buffer, p: number, len: number, row: number): void {
  const precision = c.spec.precision!;
  const scale = c.spec.scale!;
  const ndigits = buf.readInt16BE(p);
  const weight = buf.readInt16BE(p + 2);
  const sign = buf.readUInt16BE(p + 4);
  if (len !== 8 + 2 * ndigits) throw new Error(`COPY stream: column ${c.spec.name} sent a numeric of ${len} bytes with ${ndigits} digits`);
  if (sign !== 0 && sign !== NUMERIC_NEG) {
    const text = sign === NUMERIC_NAN ? 'NaN' : sign === 0xd000 ? 'Infinity' : sign === 0xf000 ? '-Infinity' : `(sign ${sign})`;
    throw new UnreadableField(c.spec.name, `cannot read decimal ${JSON.stringify(text)} as DECIMAL(${precision},${scale})`);
  }
  // value = digits * 10000^(weight - ndigits + 1); unscaled = value * 10^scale
  const exponent = 4 * (weight - ndigits + 1) + scale;
  let unscaled = 0n;
  for (let k = 0; k < ndigits; k++) unscaled = unscaled * 10_000n + BigInt(buf.readInt16BE(p + 8 + 2 * k));
  if (exponent >= 0) unscaled *= 10n ** BigInt(exponent);
  else {
    const divisor = 10n ** BigInt(-exponent);
    if (unscaled % divisor !== 0n) throw new UnreadableField(c.spec.name, `decimal ${numericText(buf, p)} has more than ${scale} fractional digits`);
    unscaled /= divisor;
  }
  if (unscaled >= 10n ** BigInt(precision)) throw new UnreadableField(c.spec.name, `decimal ${numericText(buf, p)} does not fit DECIMAL(${precision},${scale})`);
  if (sign === NUMERIC_NEG) unscaled = -unscaled;
  const words = c.fixed as BigInt64Array;
  words[2 * row] = BigInt.asIntN(64, unscaled);
  words[2 * row + 1] = BigInt.asIntN(64, unscaled >> 64n);
}

/** A binary numeric as decimal text, for error messages. */
function numericText(buf: Buffer, p: number): string {
  const ndigits = buf.readInt16BE(p);
  const weight = buf.readInt16BE(p + 2);
  const sign = buf.readUInt16BE(p + 4);
  let digits = '';
  for (let k = 0; k < ndigits; k++) digits += String(buf.readInt16BE(p + 8 + 2 * k)).padStart(4, '0');
  const point = 4 * (weight + 1);
  if (point <= 0) digits = '0'.repeat(-point) + digits;
  const at = Math.max(point, 0);
  const whole = (digits.slice(0, at).padEnd(at, '0').replace(/^0+(?=\d)/, '') || '0');
  const fraction = digits.slice(at).replace(/0+$/, '');
  return `${sign === NUMERIC_NEG ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
