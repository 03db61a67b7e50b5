import type { HttpMethod, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { json } from './responses.js';

/** Every method the Functions host routes, so that a route answers every one of them itself. */
export const EVERY_METHOD: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT'];

type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

export function methodNotAllowed(method: string, allowed: readonly string[]): HttpResponseInit {
  return json(405, { error: { field: 'method', problem: `${method} is not allowed here; use ${allowed.join(' or ')}`, message: `method: ${method} is not allowed` } }, { allow: allowed.join(', ') });
}

/**
 * A handler that serves only `allowed` and answers any other method with 405 and an Allow
 * header (RFC 9110). The function is registered for EVERY_METHOD: left to itself, the Functions
 * host answers a known route with the wrong method 404 (Azure/azure-functions-host#10098).
 */
export function onlyMethods(allowed: readonly HttpMethod[], handler: Handler): Handler {
  return async (request, context) => (allowed.includes(request.method as HttpMethod) ? handler(request, context) : methodNotAllowed(request.method, allowed));
}
