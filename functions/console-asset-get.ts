import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { CONSOLE_HEADERS, consoleAsset } from '../shared/console/consoleAssets.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { answering, notFound } from '../shared/http/responses.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** GET /api/console/{file} -> a script or stylesheet of the console page (anonymous: code, no data). */
export const consoleAssetGet = loggingToInvocation(async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const file = request.params.file ?? '';
    const asset = await consoleAsset(file);
    return asset ? { status: 200, body: asset.body, headers: { ...CONSOLE_HEADERS, 'content-type': asset.contentType } } : notFound(`console file ${JSON.stringify(file.slice(0, 100))}`);
  });
});

/** GET only; other methods get 405 with Allow. The local runner serves the same registration. */
export const consoleAssetGetHttp = { route: 'console/{file}', methods: EVERY_METHOD, authLevel: 'anonymous', handler: onlyMethods(['GET'], consoleAssetGet) } satisfies HttpFunctionOptions;

register.http('console-asset-get', consoleAssetGetHttp);
