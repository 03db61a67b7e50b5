import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { CONSOLE_HEADERS, consoleAsset } from '../shared/console/consoleAssets.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { answering, notFound } from '../shared/http/responses.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/**
 * GET /api/console -> the console page. The page itself is anonymous: it holds no data and no
 * secret; every JSON call it makes goes to a function-key endpoint with the key the user types
 * in (kept in the tab's sessionStorage). Put Entra ID (App Service Authentication) in front of
 * the app to keep the page itself private too (README, "The console").
 */
export const consoleGet = loggingToInvocation(async (_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const page = await consoleAsset('index.html');
    return page ? { status: 200, body: page.body, headers: { ...CONSOLE_HEADERS, 'content-type': page.contentType } } : notFound('the console page (run npm run build)');
  });
});

/** GET only; other methods get 405 with Allow. The local runner serves the same registration. */
export const consoleGetHttp = { route: 'console', methods: EVERY_METHOD, authLevel: 'anonymous', handler: onlyMethods(['GET'], consoleGet) } satisfies HttpFunctionOptions;

register.http('console-get', consoleGetHttp);
