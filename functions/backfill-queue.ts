import type { InvocationContext, StorageQueueFunctionOptions } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { parseBackfillMessage } from '../shared/backfill/backfillMessage.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** One backfill chunk per message; a failed chunk throws so the host retries it, then poisons it. */
export const backfillQueue = loggingToInvocation(async (message: unknown, context: InvocationContext): Promise<void> => {
  const soundlake = await getApp();
  const result = await soundlake.backfill.runMessage(parseBackfillMessage(message), {
    owner: `${context.invocationId}`,
    deadline: Date.now() + soundlake.settings.invocationBudgetMs,
  });
  if (result.status === 'failed') throw new Error(`backfill ${result.backfillId} chunk ${result.chunk}: ${result.error}`);
  context.log(`backfill ${result.backfillId} chunk ${result.chunk}: ${result.status}: ${result.message}`);
});

/** The backfill queue (setting BACKFILL_QUEUE). The local runner serves the same registration. */
export const backfillQueueTrigger = { queueName: '%BACKFILL_QUEUE%', connection: 'SOUNDLAKE_STORAGE', handler: backfillQueue } satisfies StorageQueueFunctionOptions;

register.storageQueue('backfill-queue', backfillQueueTrigger);
