import type { InvocationContext, StorageQueueFunctionOptions } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getEventDeps } from '../shared/events/eventDepsSingleton.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** A debounce window closed: start Databricks once for its files. Throws on failure so the host retries, then poisons. */
export const databricksKick = loggingToInvocation(async (message: unknown, context: InvocationContext): Promise<void> => {
  const events = await getEventDeps();
  const outcome = await events.onKickMessage(message);
  context.log(`kick window ${outcome.windowId}: ${outcome.status}${'runId' in outcome ? ` (run ${outcome.runId})` : ''}`);
});

/** The kick queue (setting KICK_QUEUE). The local runner serves the same registration. */
export const databricksKickTrigger = { queueName: '%KICK_QUEUE%', connection: 'SOUNDLAKE_STORAGE', handler: databricksKick } satisfies StorageQueueFunctionOptions;

register.storageQueue('databricks-kick', databricksKickTrigger);
