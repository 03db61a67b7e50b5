import type { ParquetKind } from '../source/parquetTypes.js';

/**
 * Rows transposed into Arrow's memory layout: one typed array per column, strings as UTF-8
 * bytes with offsets, nulls as a validity bitmap. Every buffer crosses to the encoder thread
 * by transfer, never by structured clone, and the encoder wraps them without copying.
 */
type Fixed = Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

export type ColumnPayload =
  | { layout: 'fixed'; values: Fixed; validity: Uint8Array | null; nulls: number }
  | { layout: 'bool'; values: Uint8Array; validity: Uint8Array | null; nulls: number }
  | { layout: 'bytes'; offsets: Int32Array; data: Uint8Array; validity: Uint8Array | null; nulls: number }
  /** Unscaled 128-bit two's complement, two little-endian 64-bit words per value. */
  | { layout: 'decimal'; values: BigInt64Array; validity: Uint8Array | null; nulls: number };

/**
 * Rows of one row group in Arrow's layout, ready for the encoder: what ColumnBatch.take() gives,
 * and what the Postgres COPY decoder builds without going through rows.
 */
export interface ColumnGroup {
  columns: ColumnPayload[];
  rows: number;
  transfer: ArrayBuffer[];
}

/** A row group of a read, with the keyset cursor of its last row (primary-key values as text). */
export interface ColumnSegment extends ColumnGroup {
  lastKey: string[];
}

/**
 * Where a columnar read cuts its segments: a segment is one row group (at most `groupRows`
 * rows, and ended before the row that would take its Arrow buffers past `groupBytes`; a single
 * larger row goes alone), and never straddles a part (every `partRows` rows from the start of
 * the read).
 */
export interface SegmentLimits {
  groupRows: number;
  groupBytes: number;
  partRows: number;
}

interface ColumnBuilder {
  /** Copy column `j` of `rows[from, from + count)` to positions `at...`. */
  append(rows: unknown[][], j: number, from: number, count: number, at: number): void;
  /** The first `length` values as a payload; the builder starts over with fresh buffers. */
  take(length: number): { payload: ColumnPayload; transfer: ArrayBuffer[] };
  /** Bytes the first `length` values take. */
  bytes(length: number): number;
  /** Forget the values at `length...end`: the next append writes there again. */
  truncate(length: number, end: number): void;
}

/** Validity bitmap allocated at the first null: most columns never have one. */
class Validity {
  bitmap: Uint8Array | null = null;
  nulls = 0;
  constructor(private readonly capacity: number) {}
  setNull(i: number): void {
    this.bitmap ??= new Uint8Array(Math.ceil(this.capacity / 8)).fill(0xff);
    this.bitmap[i >> 3]! &= ~(1 << (i & 7));
    this.nulls++;
  }
  /** Positions `length...end` valid again (appends only ever clear bits). */
  truncate(length: number, end: number): void {
    const bitmap = this.bitmap;
    if (!bitmap) return;
    for (let i = length; i < end; i++) {
      const bit = 1 << (i & 7);
      if ((bitmap[i >> 3]! & bit) === 0) {
        bitmap[i >> 3]! |= bit;
        this.nulls--;
      }
    }
  }
  take(): { validity: Uint8Array | null; nulls: number; transfer: ArrayBuffer[] } {
    const out = { validity: this.bitmap, nulls: this.nulls, transfer: this.bitmap ? [this.bitmap.buffer as ArrayBuffer] : [] };
    this.bitmap = null;
    this.nulls = 0;
    return out;
  }
}

type Check = 'int16' | 'int32' | 'number' | 'bigint';

const EXPECTED: Record<Check, string> = { int16: 'a 16-bit integer', int32: 'a 32-bit integer', number: 'a number', bigint: 'a bigint' };

/**
 * A typed array converts whatever it is given (a string to a number, 2^40 to its low 32 bits),
 * so every value is checked first: a source that breaks its contract fails the slice instead
 * of writing wrong numbers.
 */
class FixedBuilder<T extends Fixed> implements ColumnBuilder {
  private values: T;
  private readonly validity: Validity;
  constructor(
    private readonly make: (n: number) => T,
    private readonly capacity: number,
    private readonly check: Check,
  ) {
    this.values = make(capacity);
    this.validity = new Validity(capacity);
  }
  append(rows: unknown[][], j: number, from: number, count: number, at: number): void {
    const values = this.values as unknown as unknown[];
    const check = this.check;
    for (let i = 0; i < count; i++) {
      const v = rows[from + i]![j];
      if (v === null || v === undefined) {
        this.validity.setNull(at + i);
        continue;
      }
      // A switch, not a function per check: this loop runs for every value of every row.
      let fits: boolean;
      switch (check) {
        case 'int32':
          fits = typeof v === 'number' && (v | 0) === v;
          break;
        case 'bigint':
          // Every int64 the sources make (int8, bigint, microseconds since 1970) is in range.
          fits = typeof v === 'bigint';
          break;
        case 'int16':
          fits = typeof v === 'number' && (v << 16) >> 16 === v;
          break;
        default:
          fits = typeof v === 'number';
      }
      if (!fits) throw new TypeError(badValue(EXPECTED[check], v));
      values[at + i] = v;
    }
  }
  bytes(length: number): number {
    return length * this.values.BYTES_PER_ELEMENT;
  }
  truncate(length: number, end: number): void {
    this.validity.truncate(length, end);
  }
  take(length: number): { payload: ColumnPayload; transfer: ArrayBuffer[] } {
    const values = this.values.subarray(0, length) as T;
    this.values = this.make(this.capacity);
    const { validity, nulls, transfer } = this.validity.take();
    return { payload: { layout: 'fixed', values, validity, nulls }, transfer: [values.buffer as ArrayBuffer, ...transfer] };
  }
}

class BoolBuilder implements ColumnBuilder {
  private bits: Uint8Array;
  private readonly validity: Validity;
  constructor(private readonly capacity: number) {
    this.bits = new Uint8Array(Math.ceil(capacity / 8));
    this.validity = new Validity(capacity);
  }
  append(rows: unknown[][], j: number, from: number, count: number, at: number): void {
    for (let i = 0; i < count; i++) {
      const v = rows[from + i]![j];
      if (v === null || v === undefined) this.validity.setNull(at + i);
      else if (typeof v !== 'boolean') throw new TypeError(badValue('a boolean', v));
      else if (v) this.bits[(at + i) >> 3]! |= 1 << ((at + i) & 7);
    }
  }
  bytes(length: number): number {
    return Math.ceil(length / 8);
  }
  truncate(length: number, end: number): void {
    // Appends only set bits.
    for (let i = length; i < end; i++) this.bits[i >> 3]! &= ~(1 << (i & 7));
    this.validity.truncate(length, end);
  }
  take(): { payload: ColumnPayload; transfer: ArrayBuffer[] } {
    const values = this.bits;
    this.bits = new Uint8Array(values.length);
    const { validity, nulls, transfer } = this.validity.take();
    return { payload: { layout: 'bool', values, validity, nulls }, transfer: [values.buffer as ArrayBuffer, ...transfer] };
  }
}

/** Strings (encoded to UTF-8 here, once) and binaries, back to back with Arrow's offsets. */
class BytesBuilder implements ColumnBuilder {
  private offsets: Int32Array;
  private data: Buffer;
  private readonly validity: Validity;
  constructor(
    private readonly capacity: number,
    private readonly text: boolean,
    private readonly limit: number,
  ) {
    this.offsets = new Int32Array(capacity + 1);
    this.data = BytesBuilder.alloc(capacity * 16);
    this.validity = new Validity(capacity);
  }
  // Backed by an ArrayBuffer of its own: a pooled Buffer's memory cannot be transferred.
  private static alloc(size: number): Buffer {
    return Buffer.from(new ArrayBuffer(size));
  }
  private reserve(end: number): void {
    if (end <= this.data.length) return;
    // Doubling, but not far past the batch's byte limit: a batch near it would otherwise hold
    // twice its size. The slack covers the worst-case reservation for the last rows (3 bytes a character).
    const grown = BytesBuilder.alloc(Math.max(end, Math.min(this.data.length * 2, this.limit + this.limit / 8)));
    this.data.copy(grown);
    this.data = grown;
  }
  append(rows: unknown[][], j: number, from: number, count: number, at: number): void {
    const offsets = this.offsets;
    let pos = offsets[at]!;
    for (let i = 0; i < count; i++) {
      const v = rows[from + i]![j];
      if (v === null || v === undefined) this.validity.setNull(at + i);
      else if (this.text) {
        if (typeof v !== 'string') throw new TypeError(badValue('a string', v));
        const s = v;
        // UTF-8 needs at most three bytes per UTF-16 code unit.
        this.reserve(pos + s.length * 3);
        pos += this.data.write(s, pos, "utf8");
      } else {
        if (!(v instanceof Uint8Array)) throw new TypeError(badValue('bytes', v));
        const b = v;
        this.reserve(pos + b.length);
        this.data.set(b, pos);
        pos += b.length;
      }
      offsets[at + i + 1] = pos;
    }
  }
  bytes(length: number): number {
    return this.offsets[length]! + 4 * length;
  }
  truncate(length: number, end: number): void {
    // The next append starts at offsets[length] and overwrites the rest.
    this.validity.truncate(length, end);
  }
  take(length: number): { payload: ColumnPayload; transfer: ArrayBuffer[] } {
    const offsets = this.offsets.subarray(0, length + 1);
    const data = new Uint8Array(this.data.buffer, 0, offsets[length]!);
    this.offsets = new Int32Array(this.capacity + 1);
    // As large as this batch needed: the next one of a wide table will need as much, and growing costs copies.
    this.data = BytesBuilder.alloc(this.data.length);
    const { validity, nulls, transfer } = this.validity.take();
    return { payload: { layout: 'bytes', offsets, data, validity, nulls }, transfer: [offsets.buffer as ArrayBuffer, data.buffer as ArrayBuffer, ...transfer] };
  }
}

class DecimalBuilder implements ColumnBuilder {
  private words: BigInt64Array;
  private readonly validity: Validity;
  constructor(private readonly capacity: number) {
    this.words = new BigInt64Array(capacity * 2);
    this.validity = new Validity(capacity);
  }
  append(rows: unknown[][], j: number, from: number, count: number, at: number): void {
    const words = this.words;
    for (let i = 0; i < count; i++) {
      const v = rows[from + i]![j];
      if (v === null || v === undefined) this.validity.setNull(at + i);
      else if (typeof v !== 'bigint') throw new TypeError(badValue('an unscaled bigint', v));
      else {
        words[2 * (at + i)] = BigInt.asIntN(64, v);
        words[2 * (at + i) + 1] = BigInt.asIntN(64, v >> 64n);
      }
    }
  }
  bytes(length: number): number {
    return 16 * length;
  }
  truncate(length: number, end: number): void {
    this.validity.truncate(length, end);
  }
  take(length: number): { payload: ColumnPayload; transfer: ArrayBuffer[] } {
    const values = this.words.subarray(0, 2 * length);
    this.words = new BigInt64Array(this.capacity * 2);
    const { validity, nulls, transfer } = this.validity.take();
    return { payload: { layout: 'decimal', values, validity, nulls }, transfer: [values.buffer as ArrayBuffer, ...transfer] };
  }
}

function badValue(expected: string, v: unknown): string {
  const shown = typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `${v.length} bytes` : JSON.stringify(v);
  return `expected ${expected}, got ${typeof v} ${String(shown).slice(0, 60)}`;
}

function builderFor(kind: ParquetKind, capacity: number, maxBytes: number): ColumnBuilder {
  switch (kind) {
    case 'int16':
      return new FixedBuilder((n) => new Int16Array(n), capacity, 'int16');
    case 'int32':
    case 'date':
      return new FixedBuilder((n) => new Int32Array(n), capacity, 'int32');
    case 'int64':
    case 'timestamp':
      return new FixedBuilder((n) => new BigInt64Array(n), capacity, 'bigint');
    case 'float':
      return new FixedBuilder((n) => new Float32Array(n), capacity, 'number');
    case 'double':
      return new FixedBuilder((n) => new Float64Array(n), capacity, 'number');
    case 'boolean':
      return new BoolBuilder(capacity);
    case 'string':
      return new BytesBuilder(capacity, true, maxBytes);
    case 'binary':
      return new BytesBuilder(capacity, false, maxBytes);
    case 'decimal':
      return new DecimalBuilder(capacity);
  }
}

/** Rows appended between checks of the batch's size: at most this many, fewer near the limit. */
const SIZE_CHECK_ROWS = 1024;
/** Before the first check nothing is known of the rows' width: one row tells. */
const FIRST_SLICE_ROWS = 1;

/**
 * One row group of a table, column by column: up to `capacity` rows, and cut before the row
 * that would take its buffers past `maxBytes` (a single row larger than that goes alone), so a
 * table of wide rows cannot hold a row group of any size. The buffers are Arrow's layout, which
 * is what the row group takes in Parquet before compression.
 */
export class ColumnBatch {
  private readonly builders: ColumnBuilder[];
  private bytes = 0;
  /** Rows were given back: the next row does not fit. */
  private overflowed = false;
  length = 0;

  constructor(
    private readonly columns: { name: string; kind: ParquetKind }[],
    readonly capacity: number,
    readonly maxBytes: number = Number.POSITIVE_INFINITY,
  ) {
    this.builders = columns.map((c) => builderFor(c.kind, capacity, maxBytes));
  }

  get full(): boolean {
    return this.length === this.capacity || this.bytes >= this.maxBytes || this.overflowed;
  }

  private sizeAt(length: number): number {
    let sum = 0;
    for (const b of this.builders) sum += b.bytes(length);
    return sum;
  }

  /** Appends until the batch is full or the rows run out; returns how many rows were taken. */
  append(rows: unknown[][], from: number, count: number): number {
    let taken = 0;
    while (taken < count && !this.full) {
      // Sized from the rows so far; rows wider than those are given back below.
      const room = this.length === 0 ? FIRST_SLICE_ROWS : Math.max(1, Math.floor(((this.maxBytes - this.bytes) * this.length) / this.bytes));
      const n = Math.min(count - taken, this.capacity - this.length, SIZE_CHECK_ROWS, room);
      for (let j = 0; j < this.builders.length; j++) {
        try {
          this.builders[j]!.append(rows, j, from + taken, n, this.length);
        } catch (err) {
          throw new TypeError(`column ${this.columns[j]!.name}: ${(err as Error).message}`);
        }
      }
      let length = this.length + n;
      let bytes = this.sizeAt(length);
      if (bytes > this.maxBytes && length > 1) {
        // Keep the longest run that fits (rows taken before this step always do), give back the rest.
        let keep = length - 1;
        while (keep > Math.max(this.length, 1) && this.sizeAt(keep) > this.maxBytes) keep--;
        for (const b of this.builders) b.truncate(keep, length);
        length = keep;
        bytes = this.sizeAt(keep);
        this.overflowed = true;
      }
      taken += length - this.length;
      this.length = length;
      this.bytes = bytes;
    }
    return taken;
  }

  take(): ColumnGroup {
    const rows = this.length;
    const taken = this.builders.map((b) => b.take(rows));
    this.length = 0;
    this.bytes = 0;
    this.overflowed = false;
    return { columns: taken.map((t) => t.payload), rows, transfer: taken.flatMap((t) => t.transfer) };
  }
}
