import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { accepted, answering, readJson } from '../shared/http/responses.js';
import { parseIngestRequest } from '../shared/ingest/ingestRequest.js';
import { planRun } from '../shared/ingest/planRun.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** POST /api/ingest {table} -> 202 with a new run id: one table extracted now, through the same queue as a scheduled run. */
export const ingestPost = loggingToInvocation(async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const soundlake = await getApp();
    const table = parseIngestRequest(await readJson(request), soundlake.config);
    const run = await planRun(soundlake, { trigger: 'http', tables: [table.name] });
    const statusUrl = new URL(`/api/runs/${run.runId}`, request.url).toString();
    context.log(`run ${run.runId}: ${table.name} queued on request`);
    return accepted({ runId: run.runId, tables: run.tables, statusUrl }, statusUrl);
  });
});

/** POST only; other methods get 405 with Allow. The local runner serves the same registration. */
export const ingestPostHttp = { route: 'ingest', methods: EVERY_METHOD, authLevel: 'function', handler: onlyMethods(['POST'], ingestPost) } satisfies HttpFunctionOptions;

register.http('ingest-post', ingestPostHttp);
