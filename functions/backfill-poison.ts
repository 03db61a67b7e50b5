import { app, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app/appSingleton.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** Chunk messages the host gave up on are reported, and their lane goes on with its next chunk. */
export const backfillPoison = loggingToInvocation(async (message: unknown, context: InvocationContext): Promise<void> => {
  const soundlake = await getApp();
  const notice = await soundlake.backfill.giveUp(message, { attempts: soundlake.settings.maxDequeueCount });
  context.warn(notice.title);
});

app.storageQueue('backfill-poison', { queueName: '%BACKFILL_QUEUE%-poison', connection: 'SOUNDLAKE_STORAGE', handler: backfillPoison });
