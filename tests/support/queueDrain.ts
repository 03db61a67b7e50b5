import { QueueClient } from '@azure/storage-queue';
import type { Settings } from '../../shared/config/settings.js';

/** A Storage Queue read the way the Functions host reads it: base64 JSON, deleted after a successful handler. */
export function queueOf(settings: Settings, name: string): QueueClient {
  if (!('connectionString' in settings.storage)) throw new Error('tests need a connection string');
  return new QueueClient(settings.storage.connectionString, name);
}

export async function peekAll(queue: QueueClient): Promise<unknown[]> {
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as unknown);
}

/** Feed every message to `handler` until the queue is empty; failures are collected, their messages deleted. */
export async function drainQueue(queue: QueueClient, handler: (payload: unknown) => Promise<void>, maxMessages = 1000): Promise<{ handled: number; failures: Error[] }> {
  let handled = 0;
  const failures: Error[] = [];
  while (handled + failures.length < maxMessages) {
    const { receivedMessageItems: items } = await queue.receiveMessages({ numberOfMessages: 8, visibilityTimeout: 120 });
    if (items.length === 0) break;
    for (const item of items) {
      try {
        await handler(JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')));
        handled++;
      } catch (err) {
        failures.push(err as Error);
      }
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
  }
  return { handled, failures };
}
