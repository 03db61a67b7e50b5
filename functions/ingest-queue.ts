import type { InvocationContext, StorageQueueFunctionOptions } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { handleIngestMessage } from '../shared/ingest/handleIngestMessage.js';
import { parseIngestMessage } from '../shared/ingest/ingestMessage.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** One table per message; throws on failure so the host retries and, at last, poisons the message. */
export const ingestQueue = loggingToInvocation(async (message: unknown, context: InvocationContext): Promise<void> => {
  const soundlake = await getApp();
  const msg = parseIngestMessage(message);
  const result = await handleIngestMessage(soundlake.ingestMessageDeps(), msg, {
    budgetMs: soundlake.settings.invocationBudgetMs,
    owner: context.invocationId,
  });
  context.log(`run ${result.runId} ${result.table}: ${result.status}: ${result.message}`);
});

/** The ingest queue (setting INGEST_QUEUE). The local runner serves the same registration. */
export const ingestQueueTrigger = { queueName: '%INGEST_QUEUE%', connection: 'SOUNDLAKE_STORAGE', handler: ingestQueue } satisfies StorageQueueFunctionOptions;

register.storageQueue('ingest-queue', ingestQueueTrigger);
