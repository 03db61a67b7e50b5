import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { lagProbe } from '../shared/console/consoleReads.js';
import { listTables } from '../shared/console/tableViews.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { answering, json } from '../shared/http/responses.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** GET /api/tables -> every configured table: watermark, state, newest outcome, lag behind the source, history. */
export const tablesGet = loggingToInvocation(async (_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const soundlake = await getApp();
    const tables = await listTables({ config: soundlake.config, watermarks: soundlake.watermarks, ledger: soundlake.ledger, lag: lagProbe(soundlake) });
    return json(200, { tables, generatedAt: new Date().toISOString() });
  });
});

/** GET only; other methods get 405 with Allow. The local runner serves the same registration. */
export const tablesGetHttp = { route: 'tables', methods: EVERY_METHOD, authLevel: 'function', handler: onlyMethods(['GET'], tablesGet) } satisfies HttpFunctionOptions;

register.http('tables-get', tablesGetHttp);
