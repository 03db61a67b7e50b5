import { z } from 'zod';
import { JsonQueue } from '../queue/jsonQueue.js';

/**
 * One backfill chunk to run. Chunks run in `lanes` chains: a lane runs chunk c, then queues the
 * next unfinished chunk c + lanes, c + 2 lanes, ...; so at most `lanes` chunks of a backfill run
 * at once, however many instances the host scales to.
 */
export const backfillMessageSchema = z
  .object({
    backfillId: z.string().regex(/^[0-9a-f]{12}$/),
    chunk: z.number().int().min(0),
    lanes: z.number().int().min(1).max(64),
  })
  .strict();

export type BackfillMessage = z.output<typeof backfillMessageSchema>;

export class BackfillQueue extends JsonQueue<BackfillMessage> {}

export function parseBackfillMessage(payload: unknown): BackfillMessage {
  let value = payload;
  if (typeof payload === 'string') {
    try {
      value = JSON.parse(payload);
    } catch {
      throw new Error('backfill message is not JSON');
    }
  }
  const parsed = backfillMessageSchema.safeParse(value);
  if (!parsed.success) throw new Error(`backfill message invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
