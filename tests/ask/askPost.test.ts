import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { askPost } from '../../functions/ask-post.js';
import { setAskService } from '../../shared/ask/createAskService.js';

afterEach(() => {
  vi.unstubAllEnvs();
  setAskService(undefined);
});

describe('POST /api/ask before the question box is configured', () => {
  it('answers 503 naming the missing settings, and builds the service once they are set', async () => {
    setAskService(undefined);
    vi.stubEnv('ASK_ENDPOINT', 'databricks');
    vi.stubEnv('DATABRICKS_HOST', 'https://adb-1.2.azuredatabricks.net');
    vi.stubEnv('DATABRICKS_WAREHOUSE_ID', '');
    const ask = () =>
      askPost(
        new HttpRequest({ method: 'POST', url: 'http://127.0.0.1/api/ask', body: { string: JSON.stringify({ sql: 'SELECT 1' }) } }),
        new InvocationContext({ functionName: 'ask-post', invocationId: 'not-configured', logHandler: () => undefined }),
      );
    const res = await ask();
    expect(res.status).toBe(503);
    const body = res.jsonBody as { status: string; error: { code: string; message: string } };
    expect(body.status).toBe('unavailable');
    expect(body.error.code).toBe('not_configured');
    expect(body.error.message).toMatch(/DATABRICKS_WAREHOUSE_ID: required when ASK_ENDPOINT is databricks/);
    // Nothing was cached: the next request after the setting arrives is not stuck on the error.
    vi.stubEnv('DATABRICKS_WAREHOUSE_ID', 'abcdef123456');
    vi.stubEnv('DATABRICKS_TOKEN', ['dapi', '0'.repeat(32)].join(''));
    const refused = await ask();
    expect(refused.status).toBe(422);
  });
});
