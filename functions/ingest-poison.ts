import { app, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app/appSingleton.js';
import { reportPoisonMessage } from '../shared/ingest/reportPoisonMessage.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** Messages the host gave up on (maxDequeueCount in host.json) are reported, then dropped. */
export const ingestPoison = loggingToInvocation(async (message: unknown, context: InvocationContext): Promise<void> => {
  const soundlake = await getApp();
  const notice = await reportPoisonMessage(soundlake, message, { attempts: soundlake.settings.maxDequeueCount });
  context.warn(notice.title);
});

app.storageQueue('ingest-poison', { queueName: '%INGEST_QUEUE%-poison', connection: 'SOUNDLAKE_STORAGE', handler: ingestPoison });
