import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { answering, json, notFound } from '../shared/http/responses.js';
import { RequestError } from '../shared/http/requestError.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** GET /api/backfill/{id} -> the backfill and the state of each chunk. */
export const backfillGet = loggingToInvocation(async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const id = request.params.id ?? '';
    if (!/^[0-9a-f]{12}$/.test(id)) throw new RequestError('id', 'must be a backfill id (12 hex characters)');
    const status = await (await getApp()).backfill.status(id);
    return status ? json(200, status) : notFound(`backfill ${id}`);
  });
});

/** GET only; other methods get 405 with Allow. The local runner serves the same registration. */
export const backfillGetHttp = { route: 'backfill/{id}', methods: EVERY_METHOD, authLevel: 'function', handler: onlyMethods(['GET'], backfillGet) } satisfies HttpFunctionOptions;

register.http('backfill-get', backfillGetHttp);
