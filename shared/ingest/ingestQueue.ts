import type { QueueClient } from '@azure/storage-queue';
import type { IngestMessage } from './ingestMessage.js';

/**
 * The work queue between the timer (one message per table) and the queue-triggered extractor.
 * Messages are base64 JSON, the Functions host's default encoding for queue triggers.
 */
export class IngestQueue {
  constructor(private readonly client: QueueClient) {}

  get name(): string {
    return this.client.name;
  }

  async ensure(): Promise<void> {
    await this.client.createIfNotExists();
  }

  async send(message: IngestMessage, options: { visibilityTimeoutSeconds?: number } = {}): Promise<void> {
    const body = Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
    await this.client.sendMessage(body, options.visibilityTimeoutSeconds ? { visibilityTimeout: options.visibilityTimeoutSeconds } : {});
  }
}
