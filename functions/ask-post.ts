import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getAskService } from '../shared/ask/createAskService.js';
import { parseAskRequest } from '../shared/ask/askService.js';
import { SettingsError } from '../shared/config/settingsError.js';
import { EVERY_METHOD, onlyMethods } from '../shared/http/methods.js';
import { answering, json, readJson } from '../shared/http/responses.js';
import { loggingToInvocation, routedLogger } from '../shared/logging/invocationScope.js';
import { createLogger } from '../shared/logging/logger.js';

/**
 * POST /api/ask {question} or {sql} -> 200 with the answer (status answered), 422 when the
 * guard refused the SQL, 502 when the endpoint or the model failed; 400 for a bad body. A
 * question has a deadline (ASK_DEADLINE_SECONDS <= 220, default 200) that bounds model calls,
 * retries and statements (cancelled when it passes), so the answer always comes inside the
 * 230 s Azure allows an HTTP request; no 202 is needed.
 */
export const askPost = loggingToInvocation(async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
  return answering(async () => {
    const body = parseAskRequest(await readJson(request));
    const service = await getAskService(() => routedLogger(createLogger())).catch((err: unknown) => {
      // Not configured yet (no warehouse id before the first bundle deploy, say): the service is
      // unavailable, not broken; the answer names the settings, never their values.
      if (err instanceof SettingsError) return err;
      throw err;
    });
    if (service instanceof SettingsError) return json(503, { status: 'unavailable', error: { code: 'not_configured', message: service.message } });
    const answer = await service.ask(body);
    context.log(`ask ${answer.runId}: ${answer.status} (${answer.rowCount} rows, ${answer.durationMs} ms)`);
    return json(answer.status === 'answered' ? 200 : answer.status === 'refused' ? 422 : 502, answer);
  });
});

/** POST only; other methods get 405 with Allow. The local runner serves the same registration. */
export const askPostHttp = { route: 'ask', methods: EVERY_METHOD, authLevel: 'function', handler: onlyMethods(['POST'], askPost) } satisfies HttpFunctionOptions;

register.http('ask-post', askPostHttp);
