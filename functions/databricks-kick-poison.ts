import { app, type InvocationContext } from '@azure/functions';
import { getEventDeps } from '../shared/events/eventDepsSingleton.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** Kick messages the host gave up on are reported: that window's files wait for the next run. */
export const databricksKickPoison = loggingToInvocation(async (message: unknown, context: InvocationContext): Promise<void> => {
  const events = await getEventDeps();
  const notice = await events.onKickPoison(message, { attempts: events.settings.maxDequeueCount });
  context.warn(notice.title);
});

app.storageQueue('databricks-kick-poison', { queueName: '%KICK_QUEUE%-poison', connection: 'SOUNDLAKE_STORAGE', handler: databricksKickPoison });
