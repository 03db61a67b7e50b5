import { z } from 'zod';
import { parseMessage } from '../queue/parseMessage.js';

/** One queue message per table per run: what the queue-triggered function extracts. */
export const ingestMessageSchema = z
  .object({
    runId: z.string().min(1).max(100),
    table: z.string().min(1).max(63),
    trigger: z.string().min(1).max(40),
    /** How many invocations this table's slice has already used in this run. */
    continuation: z.number().int().min(0).max(10_000).default(0),
    /** How many times this message was sent back because its source had no free connection slot. */
    deferrals: z.number().int().min(1).max(10_000).optional(),
    /** One key range of the table's ranged initial load (extract/rangeLoad.ts), instead of the table. */
    range: z.number().int().min(0).max(255).optional(),
  })
  .strict();

export type IngestMessage = z.output<typeof ingestMessageSchema>;

export class MessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageError';
  }
}

/** Queue payloads arrive as parsed JSON (the host decodes base64 JSON) or as text. */
export function parseIngestMessage(payload: unknown): IngestMessage {
  try {
    return parseMessage(ingestMessageSchema, payload, 'ingest message');
  } catch (err) {
    throw new MessageError((err as Error).message);
  }
}
