import type { InvocationContext, EventGridFunctionOptions } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
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

/** The Event Grid subscription (infra/bicep/modules/event-grid.bicep) delivers here; the local runner delivers every committed bronze file here. */
export const bronzeBlobCreatedTrigger = { handler: bronzeBlobCreated } satisfies EventGridFunctionOptions;

register.eventGrid('bronze-blob-created', bronzeBlobCreatedTrigger);
