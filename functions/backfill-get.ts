import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app/appSingleton.js';
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

app.http('backfill-get', { route: 'backfill/{id}', methods: ['GET'], authLevel: 'function', handler: backfillGet });
