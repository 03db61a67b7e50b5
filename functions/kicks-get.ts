import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { recentWindows } from '../shared/console/kickViews.js';
import { getEventDeps } from '../shared/events/eventDepsSingleton.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { queryInt } from '../shared/http/query.js';
import { answering, json } from '../shared/http/responses.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** GET /api/kicks?hours=&limit= -> the Databricks kick windows opened lately, newest first, with the runs they started. */
export const kicksGet = loggingToInvocation(async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const hours = queryInt(request.query, 'hours', { min: 1, max: 720, default: 24 });
    const limit = queryInt(request.query, 'limit', { min: 1, max: 200, default: 30 });
    const events = await getEventDeps();
    return json(200, await recentWindows(events.store, new Date(Date.now() - hours * 3_600_000), limit));
  });
});

/** GET only; other methods get 405 with Allow. The local runner serves the same registration. */
export const kicksGetHttp = { route: 'kicks', methods: EVERY_METHOD, authLevel: 'function', handler: onlyMethods(['GET'], kicksGet) } satisfies HttpFunctionOptions;

register.http('kicks-get', kicksGetHttp);
