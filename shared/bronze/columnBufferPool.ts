/**
 * Column buffers of finished row groups, back from the encoder thread, for the next row groups
 * of the read. A 1M-row read otherwise allocates tens of MB of fresh ArrayBuffers, and V8 pays
 * for that memory outside its heap with extra collections on every thread. Buffers come back
 * zeroed, as a new one would be. Holds at most MAX_HELD bytes (a few row groups' worth); beyond
 * that they are left to GC.
 */
const MAX_HELD = 16 * 1024 * 1024;
const free = new Map<number, ArrayBuffer[]>();
let held = 0;

/** A zeroed buffer of exactly `bytes`, reused when one is free. */
export function takeBuffer(bytes: number): ArrayBuffer {
  const reused = free.get(bytes)?.pop();
  if (!reused) return new ArrayBuffer(bytes);
  held -= bytes;
  new Uint8Array(reused).fill(0);
  return reused;
}

/** Buffers nothing refers to any more (transferred back from the encoder thread). */
export function returnBuffers(buffers: ArrayBuffer[]): void {
  for (const b of buffers) {
    // A detached buffer has length 0: nothing to keep.
    if (b.byteLength === 0 || held + b.byteLength > MAX_HELD) continue;
    let list = free.get(b.byteLength);
    if (!list) free.set(b.byteLength, (list = []));
    list.push(b);
    held += b.byteLength;
  }
}
