import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { retryKick } from '../shared/events/kickRetry.js';
import { getEventDeps } from '../shared/events/eventDepsSingleton.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { accepted, answering } from '../shared/http/responses.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** POST /api/kicks/{id}/retry -> 202: the given-up window's kick message is queued again (409 for a window in another state). */
export const kickRetryPost = loggingToInvocation(async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const events = await getEventDeps();
    const retried = await retryKick({ store: events.store, kickQueue: events.kickQueue }, request.params.id ?? '');
    const statusUrl = new URL(`/api/runs/${retried.windowId}`, request.url).toString();
    context.log(`kick window ${retried.windowId} (was ${retried.previousStatus}): kick queued again`);
    return accepted({ ...retried, queued: true, statusUrl }, statusUrl);
  });
});

/** POST only; other methods get 405 with Allow. The local runner serves the same registration. */
export const kickRetryPostHttp = { route: 'kicks/{id}/retry', methods: EVERY_METHOD, authLevel: 'function', handler: onlyMethods(['POST'], kickRetryPost) } satisfies HttpFunctionOptions;

register.http('kick-retry-post', kickRetryPostHttp);
