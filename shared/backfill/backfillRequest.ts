import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { PipelineConfig, TableConfig } from '../config/pipelineConfig.js';
import { RequestError } from '../http/requestError.js';
import { parseIsoDuration } from '../time/isoDuration.js';
import { parseIsoInstant } from '../time/isoInstant.js';

/**
 * A backfill request: re-extract `table` rows with `from <= watermark < to`, cut into chunks.
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
  chunkMs: number;
  requestId: string | null;
}

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
  const chunk = parseIsoDuration(chunkText);
  if (!chunk.ok) throw new RequestError('chunk', chunk.problem);
  const chunkMs = chunk.ms;
  const chunks = Math.ceil((to.getTime() - from.getTime()) / chunkMs);
  if (chunks > limits.maxChunks) throw new RequestError('chunk', `cuts the window into ${chunks} chunks; at most ${limits.maxChunks} are allowed`);
  // The same request (by requestId, else by content) is the same backfill: asking twice never duplicates work.
  const identity = req.requestId ? `request:${req.requestId}` : `content:${table.name}|${from.toISOString()}|${to.toISOString()}|${chunkMs}`;
  const id = createHash('sha256').update(identity).digest('hex').slice(0, 12);
  return { id, table, from, to, chunkMs, requestId: req.requestId ?? null };
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

/** Contiguous `[low, high)` windows covering `[from, to)`. */
export function cutWindow(plan: Pick<BackfillPlan, 'from' | 'to' | 'chunkMs'>): ChunkWindow[] {
  const out: ChunkWindow[] = [];
  for (let start = plan.from.getTime(), i = 0; start < plan.to.getTime(); start += plan.chunkMs, i++) {
    const end = Math.min(start + plan.chunkMs, plan.to.getTime());
    out.push({ chunk: i, low: sourceInstant(new Date(start)), high: sourceInstant(new Date(end)) });
  }
  return out;
}
