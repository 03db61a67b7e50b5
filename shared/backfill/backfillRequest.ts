import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { PipelineConfig, TableConfig } from '../config/pipelineConfig.js';
import { RequestError } from '../http/requestError.js';
import { parseIsoDuration } from '../time/isoDuration.js';
import { parseIsoInstant } from '../time/isoInstant.js';

/**
 * A backfill request: re-extract `table` rows with `from <= watermark < to`, cut into chunks of a
 * fixed duration (`chunk`, ISO-8601) or, with `"chunk": "auto"`, of about INGEST_RANGE_ROWS rows
 * each by the source's row estimates. Without `chunk`, BACKFILL_DEFAULT_CHUNK (default "auto").
 * Everything about it is checked before anything is stored or queued.
 */
export interface BackfillRequest {
  table: string;
  from: string;
  to: string;
  chunk?: string;
  requestId?: string;
}

export interface BackfillPlan {
  id: string;
  table: TableConfig;
  from: Date;
  to: Date;
  /** The fixed chunk; for `auto`, the chunk used when the source gives no estimate. */
  chunkMs: number;
  /** Chunks sized by row estimates when the backfill is created. */
  auto: boolean;
  requestId: string | null;
}

/** `chunk` spelling of chunks sized by row estimates. */
export const AUTO_CHUNK = 'auto';
/** Chunks of an `auto` backfill whose source gives no estimate: a day (more when BACKFILL_MAX_CHUNKS needs it). */
const FALLBACK_CHUNK_MS = 86_400_000;

export interface BackfillLimits {
  maxWindowDays: number;
  defaultChunk: string;
  maxChunks: number;
}

const bodySchema = z
  .object({
    table: z.string().min(1, 'is required'),
    from: z.string().min(1, 'is required'),
    to: z.string().min(1, 'is required'),
    chunk: z.string().optional(),
    requestId: z.string().min(1).max(200).regex(/^[\w.:-]+$/, 'may hold letters, digits and . _ : - only').optional(),
  })
  .strict();

function parseInstant(field: string, text: string): Date {
  const parsed = parseIsoInstant(text);
  if (!parsed.ok) throw new RequestError(field, parsed.problem);
  return parsed.date;
}

/** Parse and check a request body (already JSON-decoded) against the configuration. */
export function planBackfill(body: unknown, config: PipelineConfig, limits: BackfillLimits): BackfillPlan {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError('body', 'must be a JSON object');
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'body');
    throw new RequestError(field, issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message);
  }
  const req = parsed.data;
  const table = config.tables.find((t) => t.name === req.table);
  if (!table) throw new RequestError('table', `unknown table "${req.table}" (configured: ${config.tables.map((t) => t.name).join(', ')})`);
  if (table.file || table.rest) throw new RequestError('table', `"${req.table}" ${table.file ? 'reads files over HTTP' : 'pulls a REST endpoint'}: each slice is a whole snapshot, so there is no time window to backfill`);
  if (table.watermark.kind !== 'timestamp') {
    throw new RequestError('table', `"${req.table}" has a ${table.watermark.kind} watermark; backfill windows are time ranges and need a timestamp watermark`);
  }
  const from = parseInstant('from', req.from);
  const to = parseInstant('to', req.to);
  if (from.getTime() >= to.getTime()) throw new RequestError('to', `must be after from (${from.toISOString()} >= ${to.toISOString()})`);
  const windowDays = (to.getTime() - from.getTime()) / 86_400_000;
  if (windowDays > limits.maxWindowDays) throw new RequestError('to', `window of ${windowDays.toFixed(1)} days exceeds the maximum of ${limits.maxWindowDays} days`);
  const chunkText = req.chunk ?? limits.defaultChunk;
  const span = to.getTime() - from.getTime();
  const auto = chunkText === AUTO_CHUNK;
  let chunkMs: number;
  if (auto) {
    chunkMs = Math.max(FALLBACK_CHUNK_MS, Math.ceil(span / limits.maxChunks));
  } else {
    const chunk = parseIsoDuration(chunkText);
    if (!chunk.ok) throw new RequestError('chunk', chunk.problem);
    chunkMs = chunk.ms;
    const chunks = Math.ceil(span / chunkMs);
    if (chunks > limits.maxChunks) throw new RequestError('chunk', `cuts the window into ${chunks} chunks; at most ${limits.maxChunks} are allowed`);
  }
  // The same request (by requestId, else by content) is the same backfill: asking twice never duplicates work.
  const identity = req.requestId ? `request:${req.requestId}` : `content:${table.name}|${from.toISOString()}|${to.toISOString()}|${auto ? AUTO_CHUNK : chunkMs}`;
  const id = createHash('sha256').update(identity).digest('hex').slice(0, 12);
  return { id, table, from, to, chunkMs, auto, requestId: req.requestId ?? null };
}

/** Chunk bounds as the source compares them: UTC wall-clock text with microseconds. */
export function sourceInstant(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000`;
}

export interface ChunkWindow {
  chunk: number;
  low: string;
  high: string;
}

/**
 * Contiguous `[low, high)` windows covering `[from, to)`: cut at `cuts` (epoch ms, increasing,
 * inside the window) when the chunks were sized by row estimates, else every `chunkMs`.
 */
export function cutWindow(plan: Pick<BackfillPlan, 'from' | 'to' | 'chunkMs'> & { cuts?: number[] | null }): ChunkWindow[] {
  const end = plan.to.getTime();
  const edges = [plan.from.getTime()];
  if (plan.cuts) edges.push(...plan.cuts);
  else for (let at = plan.from.getTime() + plan.chunkMs; at < end; at += plan.chunkMs) edges.push(at);
  edges.push(end);
  return edges.slice(0, -1).map((low, i) => ({ chunk: i, low: sourceInstant(new Date(low)), high: sourceInstant(new Date(edges[i + 1]!)) }));
}
