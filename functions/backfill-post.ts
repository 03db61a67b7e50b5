import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { accepted, answering, readJson } from '../shared/http/responses.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** POST /api/backfill {table, from, to, chunk?, requestId?} -> 202 with the backfill id and its status URL. */
export const backfillPost = loggingToInvocation(async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const soundlake = await getApp();
    const plan = soundlake.backfill.plan(await readJson(request));
    const { status, created } = await soundlake.backfill.start(plan, { queue: true });
    const statusUrl = new URL(`/api/backfill/${status.id}`, request.url).toString();
    context.log(`backfill ${status.id} (${status.runId}) ${created ? 'accepted' : 'requested again'}: ${status.table} ${status.from}..${status.to}, ${status.totals.chunks} chunks`);
    return accepted({ id: status.id, runId: status.runId, created, statusUrl, status: status.status, chunks: status.totals.chunks }, statusUrl);
  });
});

/** POST only; other methods get 405 with Allow. The local runner serves the same registration. */
export const backfillPostHttp = { route: 'backfill', methods: EVERY_METHOD, authLevel: 'function', handler: onlyMethods(['POST'], backfillPost) } satisfies HttpFunctionOptions;

register.http('backfill-post', backfillPostHttp);
