import type { InvocationContext, StorageQueueFunctionOptions } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** Chunk messages the host gave up on are reported, and their lane goes on with its next chunk. */
export const backfillPoison = loggingToInvocation(async (message: unknown, context: InvocationContext): Promise<void> => {
  const soundlake = await getApp();
  const notice = await soundlake.backfill.giveUp(message, { attempts: soundlake.settings.maxDequeueCount });
  context.warn(notice.title);
});

/** The backfill queue's poison queue. The local runner serves the same registration. */
export const backfillPoisonTrigger = { queueName: '%BACKFILL_QUEUE%-poison', connection: 'SOUNDLAKE_STORAGE', handler: backfillPoison } satisfies StorageQueueFunctionOptions;

register.storageQueue('backfill-poison', backfillPoisonTrigger);
