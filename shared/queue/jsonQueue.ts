import type { QueueClient } from '@azure/storage-queue';

/**
 * A Storage Queue of JSON messages, base64-encoded as the Functions host expects by default
 * (host.json extensions.queues.messageEncoding).
 */
export class JsonQueue<T> {
  constructor(private readonly client: QueueClient) {}

  get name(): string {
    return this.client.name;
  }

  async ensure(options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    await this.client.createIfNotExists(options);
  }

  /** `visibilityTimeoutSeconds` delays delivery: the message appears after that many seconds. */
  async send(message: T, options: { visibilityTimeoutSeconds?: number } = {}): Promise<void> {
    const body = Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
    await this.client.sendMessage(body, options.visibilityTimeoutSeconds ? { visibilityTimeout: options.visibilityTimeoutSeconds } : {});
  }
}
