import type { InvocationContext, StorageQueueFunctionOptions } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getEventDeps } from '../shared/events/eventDepsSingleton.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** Kick messages the host gave up on are reported: that window's files wait for the next run. */
export const databricksKickPoison = loggingToInvocation(async (message: unknown, context: InvocationContext): Promise<void> => {
  const events = await getEventDeps();
  const notice = await events.onKickPoison(message, { attempts: events.settings.maxDequeueCount });
  context.warn(notice.title);
});

/** The kick queue's poison queue. The local runner serves the same registration. */
export const databricksKickPoisonTrigger = { queueName: '%KICK_QUEUE%-poison', connection: 'SOUNDLAKE_STORAGE', handler: databricksKickPoison } satisfies StorageQueueFunctionOptions;

register.storageQueue('databricks-kick-poison', databricksKickPoisonTrigger);
