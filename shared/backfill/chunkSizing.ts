import type { RowEstimate } from '../source/source.js';

/**
 * Cutting a backfill window into chunks of about `targetRows` rows from the source's row
 * estimates, never reading the table: estimate the window, split every part holding more than
 * a chunk's rows into equal-time parts and estimate those, until each part fits (or is as short
 * as a chunk may be), then join neighbours while they fit. Where the rows are, the chunks are
 * many and short; where there are few, one chunk spans days.
 */
export interface ChunkSizing {
  /** Rows a chunk should hold about (INGEST_RANGE_ROWS). */
  targetRows: number;
  /** No chunk is shorter than this, and every cut is a whole multiple of it from the window's start. */
  minChunkMs: number;
  /** Chunks at most: past it, chunks hold more rows. */
  maxChunks: number;
  /** Windows estimated at most, over all rounds: sizing costs a bounded number of planner calls. */
  maxEstimates: number;
}

/** Parts one part is split into at most per round. */
const FANOUT = 64;

export type WindowEstimator = (windows: [number, number][]) => Promise<RowEstimate>;

export type SizedChunks = { cuts: number[]; estimatedRows: number; chunkRows: number[] } | { reason: string };

interface Part {
  low: number;
  high: number;
  rows: number;
}

/** Cuts of `part` into up to `k` equal-time parts, whole multiples of `min` apart, none shorter than `min`. */
function gridCuts(part: Part, k: number, min: number): number[] {
  const step = Math.max(min, Math.floor((part.high - part.low) / k / min) * min);
  const cuts: number[] = [];
  // Parts start on the grid (the window's start, or an earlier cut), so cuts stay on it.
  for (let at = part.low + step; part.high - at >= min; at += step) cuts.push(at);
  return cuts;
}

/** `[from, to)` (epoch ms) cut into chunks of about `targetRows` rows: the inner cut instants, or why there is no estimate. */
export async function sizeChunks(from: number, to: number, estimate: WindowEstimator, o: ChunkSizing): Promise<SizedChunks> {
  const whole = await estimate([[from, to]]);
  if (whole.rows === null) return { reason: whole.reason };
  let spent = 1;
  const leaves: Part[] = [];
  let open: Part[] = [{ low: from, high: to, rows: whole.rows[0] ?? 0 }];
  while (open.length > 0) {
    const children: Part[] = [];
    for (const part of open) {
      const k = Math.min(FANOUT, Math.ceil(part.rows / o.targetRows));
      const cuts = part.rows > o.targetRows ? gridCuts(part, k, o.minChunkMs) : [];
      if (cuts.length === 0 || spent + children.length + cuts.length + 1 > o.maxEstimates) {
        leaves.push(part);
        continue;
      }
      const edges = [part.low, ...cuts, part.high];
      for (let i = 0; i + 1 < edges.length; i++) children.push({ low: edges[i]!, high: edges[i + 1]!, rows: 0 });
    }
    if (children.length === 0) break;
    const estimated = await estimate(children.map((c) => [c.low, c.high]));
    if (estimated.rows === null) return { reason: estimated.reason };
    spent += children.length;
    children.forEach((c, i) => (c.rows = estimated.rows[i] ?? 0));
    open = children;
  }
  leaves.sort((a, b) => a.low - b.low);
  const total = leaves.reduce((n, p) => n + p.rows, 0);
  // Neighbours joined while they fit; a target that leaves too many chunks grows until it does not.
  for (let target = o.targetRows; ; target *= 1.5) {
    const chunks: Part[] = [];
    for (const leaf of leaves) {
      const last = chunks.at(-1);
      if (last && last.rows + leaf.rows <= target) {
        last.high = leaf.high;
        last.rows += leaf.rows;
      } else chunks.push({ ...leaf });
    }
    if (chunks.length <= o.maxChunks) return { cuts: chunks.slice(1).map((c) => c.low), estimatedRows: Math.round(total), chunkRows: chunks.map((c) => Math.round(c.rows)) };
  }
}
