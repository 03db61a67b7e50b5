import type { PartRecord, PendingSlice, SliceProgress } from '../extract/slice.js';

// A Table Storage string property holds 32K UTF-16 characters.
const MAX_PROPERTY_CHARS = 32_000;

/**
 * The `pending` property of a state record: the slice's plan, cursor and totals as JSON, never
 * its parts (they are entities of their own), so its size is bounded by the primary key's.
 */
export function encodeProgress(slice: SliceProgress & { parts?: PartRecord[] }, what: string): string {
  const { parts: _parts, ...progress } = slice;
  const text = JSON.stringify(progress);
  if (text.length > MAX_PROPERTY_CHARS) {
    const cursor = JSON.stringify(progress.after ?? []).length;
    throw new Error(`${what} cannot be recorded: ${text.length} characters, over Table Storage's ${MAX_PROPERTY_CHARS} per property (its keyset cursor, the primary-key values of the last row written, is ${cursor} characters)`);
  }
  return text;
}

/**
 * Read the `pending` property. A record written before parts became entities holds its parts in
 * the property itself (`legacyParts`): the store records them as entities before using it.
 */
export function decodeProgress(text: string): { progress: SliceProgress; legacyParts?: PendingSlice } {
  const parsed = JSON.parse(text) as SliceProgress & { parts?: PartRecord[] };
  if (!Array.isArray(parsed.parts)) return { progress: parsed };
  const { parts, ...rest } = parsed;
  const progress: SliceProgress = { ...rest, files: parts.length, rows: parts.reduce((n, p) => n + p.rows, 0), bytes: parts.reduce((n, p) => n + p.bytes, 0) };
  return { progress, legacyParts: { ...progress, parts } };
}
