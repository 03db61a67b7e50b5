import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { OTHER_SUBJECTS, RUN_STATUSES, recentRuns } from '../shared/console/runHistory.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { queryChoice, queryInt } from '../shared/http/query.js';
import { answering, json } from '../shared/http/responses.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** GET /api/runs?table=&status=&limit= -> the newest ledger activities, newest first. */
export const runsGet = loggingToInvocation(async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const soundlake = await getApp();
    const subject = queryChoice(request.query, 'table', [...soundlake.config.tables.map((t) => t.name), ...OTHER_SUBJECTS]);
    const status = queryChoice(request.query, 'status', RUN_STATUSES);
    const limit = queryInt(request.query, 'limit', { min: 1, max: 200, default: 50 });
    return json(200, await recentRuns(soundlake.ledger, soundlake.config, { ...(subject ? { subject } : {}), ...(status ? { status } : {}), limit }));
  });
});

/** GET only; other methods get 405 with Allow. The local runner serves the same registration. */
export const runsGetHttp = { route: 'runs', methods: EVERY_METHOD, authLevel: 'function', handler: onlyMethods(['GET'], runsGet) } satisfies HttpFunctionOptions;

register.http('runs-get', runsGetHttp);
