import type { QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { JsonQueue } from '../queue/jsonQueue.js';
import { parseMessage } from '../queue/parseMessage.js';

/**
 * A delayed message per debounce window: it arrives when the window closes (visibility timeout
 * = window length) and starts the Databricks run. `step` is always `kick`.
 */
export const kickMessageSchema = z
  .object({
    windowId: z.string().regex(/^w-\d{8}T\d{6}Z-[0-9a-f]{6}$/, 'must be a window id such as w-20261125T084700Z-5f2c9a'),
    step: z.literal('kick'),
    /** How many times in a row Databricks answered 429 and the message was re-sent after its Retry-After. */
    deferrals: z.number().int().min(1).optional(),
  })
  .strict();

export type KickMessage = z.output<typeof kickMessageSchema>;

export function parseKickMessage(payload: unknown): KickMessage {
  return parseMessage(kickMessageSchema, payload, 'kick message');
}

export interface ReceivedKick {
  message: unknown;
  messageId: string;
  popReceipt: string;
  dequeueCount: number;
}

/** The kick queue (setting KICK_QUEUE). Receive/delete are for runners without a Functions host. */
export class KickQueue extends JsonQueue<KickMessage> {
  constructor(private readonly queue: QueueClient) {
    super(queue);
  }

  async receive(max = 16, visibilityTimeoutSeconds = 60): Promise<ReceivedKick[]> {
    const { receivedMessageItems } = await this.queue.receiveMessages({ numberOfMessages: max, visibilityTimeout: visibilityTimeoutSeconds });
    return receivedMessageItems.map((m) => ({
      message: JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as unknown,
      messageId: m.messageId,
      popReceipt: m.popReceipt,
      dequeueCount: m.dequeueCount,
    }));
  }

  async delete(item: ReceivedKick): Promise<void> {
    await this.queue.deleteMessage(item.messageId, item.popReceipt);
  }
}
