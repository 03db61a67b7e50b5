import type { InvocationContext, StorageQueueFunctionOptions } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { reportPoisonMessage } from '../shared/ingest/reportPoisonMessage.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** Messages the host gave up on (maxDequeueCount in host.json) are reported, then dropped. */
export const ingestPoison = loggingToInvocation(async (message: unknown, context: InvocationContext): Promise<void> => {
  const soundlake = await getApp();
  const notice = await reportPoisonMessage(soundlake, message, { attempts: soundlake.settings.maxDequeueCount });
  context.warn(notice.title);
});

/** The ingest queue's poison queue. The local runner serves the same registration. */
export const ingestPoisonTrigger = { queueName: '%INGEST_QUEUE%-poison', connection: 'SOUNDLAKE_STORAGE', handler: ingestPoison } satisfies StorageQueueFunctionOptions;

register.storageQueue('ingest-poison', ingestPoisonTrigger);
