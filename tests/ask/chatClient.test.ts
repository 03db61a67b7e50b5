import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient, ChatError } from '../../shared/ask/chatClient.js';
import { HttpStandIn, type Reply } from '../support/alertStandIns.js';

/** The OpenAI-compatible client against a loopback server: retries, deadlines, errors, the key. */
let server: HttpStandIn;
let replies: Reply[] = [];
const key = ['sk', 'test', 'x'.repeat(20)].join('-');
const ok = (content: string): Reply => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }) });

beforeAll(async () => {
  server = await HttpStandIn.start(() => replies.shift() ?? ok('SELECT 1'));
});
afterAll(async () => {
  await server.close();
});

function client(extra: Partial<ConstructorParameters<typeof ChatClient>[0]> = {}) {
  const waits: number[] = [];
  const c = new ChatClient({ baseUrl: server.url('/v1/'), model: 'm', apiKey: key, timeoutMs: 10_000, maxRetries: 3, baseDelayMs: 10, sleep: async (ms) => void waits.push(ms), random: () => 0.5, ...extra });
  return { c, waits };
}

describe('the chat-completions client', () => {
  it('retries 429 after Retry-After and 5xx with backoff, then returns the text', async () => {
    server.reset();
    replies = [{ status: 429, headers: { 'retry-after': '2' }, body: '{"error":{"message":"slow down"}}' }, { status: 503, body: 'overloaded' }, ok('SELECT 42')];
    const { c, waits } = client();
    expect(await c.complete([{ role: 'user', content: 'q' }])).toBe('SELECT 42');
    expect(waits).toEqual([2000, 15]);
    expect(server.requests.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/v1/chat/completions']);
    expect(JSON.parse(server.requests[0]!.body)).toMatchObject({ model: 'm', temperature: 0, messages: [{ role: 'user', content: 'q' }] });
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${key}`);
  });

  it('fails at once on other 4xx, naming the status, without the key', async () => {
    replies = [{ status: 401, body: `{"error":{"message":"bad key ${key}"}}` }];
    const err = (await client().c.complete([{ role: 'user', content: 'q' }]).catch((e: unknown) => e)) as ChatError;
    expect(err).toBeInstanceOf(ChatError);
    expect(err.status).toBe(401);
    expect(err.message).toContain('401');
  });

  it('gives up after its retries when the endpoint hangs, each attempt bounded by the timeout', async () => {
    replies = ['hang', 'hang'];
    const { c, waits } = client({ maxRetries: 1, timeoutMs: 300 });
    const err = (await c.complete([{ role: 'user', content: 'q' }]).catch((e: unknown) => e)) as ChatError;
    expect(err.message).toMatch(/after 2 attempts: timed out after 300 ms/);
    expect(waits).toHaveLength(1);
  });

  it('keeps every attempt and wait inside the question\'s deadline', async () => {
    server.reset();
    replies = ['hang', 'hang'];
    const { c, waits } = client({ timeoutMs: 5_000 });
    const started = Date.now();
    const err = (await c.complete([{ role: 'user', content: 'q' }], { deadline: Date.now() + 150 }).catch((e: unknown) => e)) as ChatError;
    expect(err.message).toMatch(/timed out after 1\d\d ms \(no time left to retry\)/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(waits).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it('sends an Azure OpenAI key in the api-key header when told to', async () => {
    server.reset();
    replies = [ok('SELECT 1')];
    await client({ keyHeader: 'api-key' }).c.complete([{ role: 'user', content: 'q' }]);
    expect(server.requests[0]!.headers['api-key']).toBe(key);
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
  });
});
