import { app, type InvocationContext } from '@azure/functions';
import { getEventDeps } from '../shared/events/eventDepsSingleton.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/**
 * Microsoft.Storage.BlobCreated from the bronze account (Event Grid or CloudEvents schema): a
 * completed bronze data file joins the open debounce window, whose kick message starts
 * Databricks when the window closes. Other events are ignored; a storage failure throws so
 * Event Grid delivers again.
 */
export const bronzeBlobCreated = loggingToInvocation(async (event: unknown, context: InvocationContext): Promise<void> => {
  const events = await getEventDeps();
  const result = await events.onBlobCreated(event);
  for (const a of result.accepted) context.log(`${a.path}: ${a.outcome} kick window ${a.windowId}`);
  for (const i of result.ignored) context.debug(`event ${i.eventId} ignored: ${i.reason}`);
  for (const line of result.invalid) context.error(line);
});

app.eventGrid<unknown>('bronze-blob-created', { handler: bronzeBlobCreated });
