import { app, type InvocationContext } from '@azure/functions';
import { getEventDeps } from '../shared/events/eventDepsSingleton.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** A debounce window closed: start Databricks once for its files. Throws on failure so the host retries, then poisons. */
export const databricksKick = loggingToInvocation(async (message: unknown, context: InvocationContext): Promise<void> => {
  const events = await getEventDeps();
  const outcome = await events.onKickMessage(message, { owner: context.invocationId });
  context.log(`kick window ${outcome.windowId}: ${outcome.status}${'runId' in outcome && outcome.runId !== undefined ? ` (run ${outcome.runId})` : ''}${'updateId' in outcome && outcome.updateId ? ` (update ${outcome.updateId})` : ''}`);
});

app.storageQueue('databricks-kick', { queueName: '%KICK_QUEUE%', connection: 'SOUNDLAKE_STORAGE', handler: databricksKick });
