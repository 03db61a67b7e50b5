import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { runDetail } from '../shared/console/runDetail.js';
import { getEventDeps } from '../shared/events/eventDepsSingleton.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { RequestError } from '../shared/http/requestError.js';
import { answering, json, notFound } from '../shared/http/responses.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** GET /api/runs/{runId} -> a run's activities, the manifests of its slices, its alerts, and its kick window if it is one. */
export const runGet = loggingToInvocation(async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const runId = request.params.runId ?? '';
    if (!/^[\w.:-]{1,100}$/.test(runId)) throw new RequestError('runId', 'must be a run id such as r-20261125T084700Z-5f2c9a');
    const soundlake = await getApp();
    const events = await getEventDeps();
    const detail = await runDetail({ ledger: soundlake.ledger, lake: soundlake.lake, alertLog: soundlake.alertLog, kicks: events.store }, runId);
    return detail ? json(200, detail) : notFound(`run ${runId}`);
  });
});

/** GET only; other methods get 405 with Allow. The local runner serves the same registration. */
export const runGetHttp = { route: 'runs/{runId}', methods: EVERY_METHOD, authLevel: 'function', handler: onlyMethods(['GET'], runGet) } satisfies HttpFunctionOptions;

register.http('run-get', runGetHttp);
