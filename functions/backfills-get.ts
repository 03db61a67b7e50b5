import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { queryInt } from '../shared/http/query.js';
import { answering, json } from '../shared/http/responses.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** GET /api/backfills?days=&limit= -> the newest backfills with the state of every chunk. */
export const backfillsGet = loggingToInvocation(async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const days = queryInt(request.query, 'days', { min: 1, max: 90, default: 7 });
    const limit = queryInt(request.query, 'limit', { min: 1, max: 50, default: 10 });
    const since = new Date(Date.now() - days * 86_400_000);
    return json(200, { backfills: await (await getApp()).backfill.recent(since, limit) });
  });
});

/** GET only; other methods get 405 with Allow. The local runner serves the same registration. */
export const backfillsGetHttp = { route: 'backfills', methods: EVERY_METHOD, authLevel: 'function', handler: onlyMethods(['GET'], backfillsGet) } satisfies HttpFunctionOptions;

register.http('backfills-get', backfillsGetHttp);
