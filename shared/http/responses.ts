import type { HttpResponseInit } from '@azure/functions';
import { RequestError } from './requestError.js';

/** Small, uniform HTTP answers for the function endpoints. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'cache-control': 'no-store', ...headers } };
}

export function problem(err: RequestError): HttpResponseInit {
  return json(err.status, { error: { field: err.field, problem: err.problem, message: err.message } });
}

export function accepted(body: unknown, location: string): HttpResponseInit {
  return json(202, body, { location });
}

export function notFound(what: string): HttpResponseInit {
  return json(404, { error: { message: `${what} not found` } });
}

/** The body as JSON, or a RequestError naming the body when it is not JSON. */
export async function readJson(request: { text(): Promise<string> }): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') throw new RequestError('body', 'is empty; send a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RequestError('body', `is not valid JSON (${(err as Error).message})`);
  }
}

/** Turn a handler's RequestError into its 4xx answer; anything else propagates (500, logged by the host). */
export async function answering(fn: () => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RequestError) return problem(err);
    throw err;
  }
}
