import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAskService } from '../shared/ask/createAskService.js';
import { parseAskRequest } from '../shared/ask/askService.js';
import { answering, json, readJson } from '../shared/http/responses.js';
import { createLogger } from '../shared/logging/logger.js';

/**
 * POST /api/ask {question} or {sql} -> 200 with the answer (status answered), 422 when the
 * guard refused the SQL, 502 when the endpoint or the model failed; 400 for a bad body. The
 * statement timeout is capped (ASK_STATEMENT_TIMEOUT_SECONDS <= 150) so the answer always
 * comes inside the Functions HTTP limit; no 202 is needed.
 */
export async function askPost(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return answering(async () => {
    const body = parseAskRequest(await readJson(request));
    const service = await getAskService(() => createLogger());
    const answer = await service.ask(body);
    context.log(`ask ${answer.runId}: ${answer.status} (${answer.rowCount} rows, ${answer.durationMs} ms)`);
    return json(answer.status === 'answered' ? 200 : answer.status === 'refused' ? 422 : 502, answer);
  });
}

app.http('ask-post', { route: 'ask', methods: ['POST'], authLevel: 'function', handler: askPost });
