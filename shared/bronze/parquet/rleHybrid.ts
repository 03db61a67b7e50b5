import { ByteBuffer } from './byteBuffer.js';

/**
 * Parquet's RLE / bit-packing hybrid (definition levels and dictionary indices): runs of 16 or
 * more equal values are written as RLE runs, everything else bit-packed in groups of 8. A
 * bit-packed run holds at most 63 groups, so its header is one byte as parquet-mr writes it;
 * only the last run of the data is padded to a whole group.
 */
export class RleHybridWriter {
  private readonly out: ByteBuffer;

  constructor(capacity = 1024) {
    this.out = new ByteBuffer(capacity);
  }

  /** One RLE run of `count` copies of `value`: a column without nulls has its levels so. */
  repeat(value: number, count: number, bitWidth: number): Uint8Array {
    this.out.pos = 0;
    this.run(value, count, bitWidth);
    return this.out.written();
  }

  private run(value: number, count: number, bitWidth: number): void {
    this.out.varint(count * 2);
    for (let b = 0; b < (bitWidth + 7) >> 3; b++) this.out.byte((value >>> (8 * b)) & 0xff);
  }

  /**
   * Encodes `values[0, count)` (non-negative, below 2^bitWidth, bitWidth 1..24) and returns the
   * encoded bytes (a view of this writer's buffer, valid until its next use).
   */
  encode(values: Int32Array | Uint8Array, count: number, bitWidth: number): Uint8Array {
    this.out.pos = 0;
    let pending = 0; // start of values not yet written
    let i = 0;
    while (i < count) {
      const v = values[i]!;
      let j = i + 1;
      while (j < count && values[j] === v) j++;
      if (j - i >= 16) {
        // Fill the bit-packed values before the run to a whole group from the run itself.
        const pad = (8 - ((i - pending) & 7)) & 7;
        if (i + pad > pending) this.bitPacked(values, pending, i + pad, bitWidth);
        this.run(v, j - i - pad, bitWidth);
        pending = j;
      }
      i = j;
    }
    if (pending < count) this.bitPacked(values, pending, count, bitWidth);
    return this.out.written();
  }

  /** Values `[from, to)` bit-packed, LSB first, in runs of at most 63 groups of 8; the tail is zero-padded. */
  private bitPacked(values: Int32Array | Uint8Array, from: number, to: number, bitWidth: number): void {
    let at = from;
    while (at < to) {
      const groups = Math.min(63, Math.ceil((to - at) / 8));
      const end = Math.min(to, at + groups * 8);
      const out = this.out;
      out.room(1 + groups * bitWidth);
      out.buf[out.pos++] = (groups << 1) | 1;
      let acc = 0;
      let bits = 0;
      const buf = out.buf;
      let o = out.pos;
      for (let k = at; k < at + groups * 8; k++) {
        const v = k < end ? values[k]! : 0;
        acc |= v << bits;
        bits += bitWidth;
        while (bits >= 8) {
          buf[o++] = acc & 0xff;
          acc >>>= 8;
          bits -= 8;
        }
      }
      out.pos = o;
      at = end;
    }
  }
}

/** Bits needed for values up to `max` (at least 1). */
export function bitWidthOf(max: number): number {
  return Math.max(1, 32 - Math.clz32(max));
}
