import { z } from 'zod';
import { JsonQueue } from '../queue/jsonQueue.js';
import { parseMessage } from '../queue/parseMessage.js';

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
    /** How many times this message was sent back because its source had no free connection slot. */
    deferrals: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();

export type BackfillMessage = z.output<typeof backfillMessageSchema>;

export class BackfillQueue extends JsonQueue<BackfillMessage> {}

export function parseBackfillMessage(payload: unknown): BackfillMessage {
  return parseMessage(backfillMessageSchema, payload, 'backfill message');
}
