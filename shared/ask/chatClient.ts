import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { retryAfterMs, type DatabricksClientOptions } from '../databricks/databricksClient.js';
import { silentLogger } from '../logging/logger.js';
import { redactSecrets } from '../logging/redact.js';

/**
 * Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI's v1 API, Groq, a local
 * server): `POST {baseUrl}/chat/completions`. Retries like the Databricks client: 429 waits
 * for Retry-After when reasonable, 5xx and network failures back off exponentially with
 * jitter, every attempt has a deadline, other 4xx fail at once. The key goes into one header
 * and nowhere else.
 */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * Retry and timeout options as the Databricks client documents them, with other defaults
 * here (someone is waiting for the answer): timeoutMs 30 s, maxRetries 3, baseDelayMs 500,
 * maxDelayMs 10 s, maxRetryAfterMs 30 s.
 */
export interface ChatClientOptions
  extends Pick<DatabricksClientOptions, 'timeoutMs' | 'maxRetries' | 'baseDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs' | 'logger' | 'fetch' | 'sleep' | 'random'> {
  /** e.g. https://api.openai.com/v1, https://<resource>.openai.azure.com/openai/v1, http://127.0.0.1:8080/v1 */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Header the key goes in: `authorization` (Bearer, default) or `api-key` (Azure OpenAI keys). */
  keyHeader?: 'authorization' | 'api-key';
}

export class ChatError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}

const completion = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
});

export class ChatClient {
  private readonly url: string;

  constructor(private readonly options: ChatClientOptions) {
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  get model(): string {
    return this.options.model;
  }

  /** The first choice's text; with a deadline (epoch ms), no attempt or wait runs past it. */
  async complete(messages: ChatMessage[], options: { deadline?: number } = {}): Promise<string> {
    const o = this.options;
    const maxRetries = o.maxRetries ?? 3;
    const sleep = o.sleep ?? ((ms: number) => delay(ms));
    const logger = o.logger ?? silentLogger;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'soundlake/0.1' };
    if (o.apiKey) {
      if (o.keyHeader === 'api-key') headers['api-key'] = o.apiKey;
      else headers.authorization = `Bearer ${o.apiKey}`;
    }
    const body = JSON.stringify({ model: o.model, messages, temperature: 0 });
    for (let attempt = 1; ; attempt++) {
      const left = options.deadline === undefined ? Infinity : options.deadline - Date.now();
      if (left <= 0) throw new ChatError('chat completion: no time left for the question');
      const attemptMs = Math.min(o.timeoutMs ?? 30_000, left);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), attemptMs);
      let problem: string;
      let status: number | undefined;
      let wait: number | undefined;
      try {
        const res = await (o.fetch ?? fetch)(this.url, { method: 'POST', headers, body, signal: controller.signal });
        const text = await res.text();
        if (res.ok) {
          const parsed = completion.safeParse(safeJson(text));
          if (!parsed.success) throw new ChatError(`chat completion: unexpected response: ${snippet(text)}`, res.status);
          return parsed.data.choices[0]!.message.content ?? '';
        }
        status = res.status;
        const err = (safeJson(text) as { error?: { message?: unknown } } | undefined)?.error;
        problem = `${res.status}${typeof err?.message === 'string' ? `: ${redactSecrets(err.message)}` : text ? `: ${snippet(text)}` : ''}`;
        if (res.status !== 429 && res.status < 500) throw new ChatError(`chat completion failed: ${problem}`, res.status);
        if (res.status === 429) {
          wait = retryAfterMs(res.headers.get('retry-after'));
          if (wait !== undefined && wait > (o.maxRetryAfterMs ?? 30_000)) throw new ChatError(`chat completion: ${problem} (Retry-After ${wait / 1000} s is too long to wait)`, 429);
        }
      } catch (err) {
        if (err instanceof ChatError) throw err;
        problem = controller.signal.aborted ? `timed out after ${attemptMs} ms` : redactSecrets((err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message);
      } finally {
        clearTimeout(timer);
      }
      if (attempt > maxRetries) throw new ChatError(`chat completion failed after ${attempt} attempts: ${problem}`, status);
      const cap = Math.min(o.maxDelayMs ?? 10_000, (o.baseDelayMs ?? 500) * 2 ** (attempt - 1));
      wait ??= Math.round(cap / 2 + ((o.random ?? Math.random)() * cap) / 2);
      if (options.deadline !== undefined && Date.now() + wait >= options.deadline) throw new ChatError(`chat completion failed: ${problem} (no time left to retry)`, status);
      logger.warn({ status, attempt, waitMs: wait }, `chat completion: ${problem}; retrying in ${wait} ms`);
      await sleep(wait);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return redactSecrets(flat.length > 300 ? `${flat.slice(0, 300)}...` : flat);
}
