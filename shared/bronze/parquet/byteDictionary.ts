/**
 * The distinct values of a string or binary column chunk, found by hashing their UTF-8 bytes
 * where they lie (no JS string per value). Gives up, returning -1, once the dictionary would
 * pass its byte or entry limit, or when the first values show the column is mostly distinct:
 * the chunk is then written plain, and so are the rest of the file's chunks of that column.
 */
export const DICTIONARY_MAX_BYTES = 1024 * 1024;
const MAX_ENTRIES = 1 << 16;
/** Values looked at before judging whether a dictionary pays. */
const PROBE = 4096;

export class ByteDictionary {
  private table = new Int32Array(0);
  private mask = 0;
  starts: Int32Array<ArrayBuffer> = new Int32Array(1024);
  lengths: Int32Array<ArrayBuffer> = new Int32Array(1024);
  data = new Uint8Array(64 * 1024);
  count = 0;
  bytes = 0;
  private seen = 0;

  /** Empties the dictionary for a chunk of up to `values` values. */
  reset(values: number): void {
    const slots = Math.max(16, 1 << (32 - Math.clz32(Math.min(values, MAX_ENTRIES) * 2 - 1)));
    if (this.table.length !== slots) {
      this.table = new Int32Array(slots);
      this.mask = slots - 1;
    } else this.table.fill(0);
    this.count = 0;
    this.bytes = 0;
    this.seen = 0;
  }

  /** The entry of `src[start, start + length)`, added if new; -1 when the dictionary gives up. */
  index(src: Uint8Array, start: number, length: number): number {
    let h = 0x811c9dc5;
    for (let k = start; k < start + length; k++) h = Math.imul(h ^ src[k]!, 0x01000193);
    const table = this.table;
    const mask = this.mask;
    let slot = h & mask;
    for (;;) {
      const e = table[slot]! - 1;
      if (e < 0) break;
      if (this.lengths[e] === length && this.same(e, src, start, length)) {
        this.seen++;
        return e;
      }
      slot = (slot + 1) & mask;
    }
    const e = this.count;
    if (e >= MAX_ENTRIES || this.bytes + length > DICTIONARY_MAX_BYTES || (this.seen >= PROBE && e * 4 > this.seen * 3)) return -1;
    if (e === this.starts.length) {
      this.starts = grow(this.starts, e * 2);
      this.lengths = grow(this.lengths, e * 2);
    }
    if (this.bytes + length > this.data.length) {
      const data = new Uint8Array(Math.max(this.data.length * 2, this.bytes + length));
      data.set(this.data.subarray(0, this.bytes));
      this.data = data;
    }
    this.data.set(src.subarray(start, start + length), this.bytes);
    this.starts[e] = this.bytes;
    this.lengths[e] = length;
    this.bytes += length;
    table[slot] = e + 1;
    this.count++;
    this.seen++;
    return e;
  }

  private same(e: number, src: Uint8Array, start: number, length: number): boolean {
    const data = this.data;
    const at = this.starts[e]!;
    for (let k = 0; k < length; k++) if (data[at + k] !== src[start + k]) return false;
    return true;
  }
}

function grow(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}
