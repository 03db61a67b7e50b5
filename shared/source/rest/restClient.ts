import { GuardedFetch, HttpFetchError } from '../http/guardedFetch.js';
import type { HttpSettings } from '../http/httpSettings.js';

/** How a REST source authenticates, with its secrets already read from settings (never logged). */
export type RestAuth =
  | { type: 'none' }
  | { type: 'bearer'; token: string }
  | { type: 'client_credentials'; tokenUrl: string; clientId: string; clientSecret: string };

export interface RestClientOptions {
  http: HttpSettings;
  auth: RestAuth;
  /** Retries of a 5xx or a failed connection per request (backoff 0.5 s, 1 s, 2 s ...). */
  maxRetries?: number;
  /** Seconds a request may spend waiting on 429 Retry-After answers, in all. */
  retryAfterBudgetSeconds?: number;
  /** Waits (ms); tests pass one that records and returns at once. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A failed REST call: says which URL and why; never carries a token or the client secret. */
export class RestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestError';
  }
}

/**
 * JSON GETs for REST sources, through the guarded fetcher: OAuth 2.0 client credentials (token
 * cached until shortly before it expires; a 401 invalidates it and the request is retried once
 * with a fresh one), 429 honoured by its Retry-After within a bounded budget, 5xx and dropped
 * connections retried with backoff. Tokens and the client secret go into headers only, so no
 * URL, error or log line carries them.
 */
export class RestClient {
  private readonly fetch: GuardedFetch;
  private token: { value: string; expiresAt: number } | null = null;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  /** Tokens fetched so far (for tests and logs: a count, never a value). */
  tokensIssued = 0;

  constructor(private readonly options: RestClientOptions) {
    this.fetch = new GuardedFetch(options.http);
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
  }

  async getJson(url: string): Promise<{ body: unknown; text: string }> {
    const maxRetries = this.options.maxRetries ?? 3;
    let budget = (this.options.retryAfterBudgetSeconds ?? 120) * 1000;
    let refreshed = false;
    let failures = 0;
    for (;;) {
      const headers: Record<string, string> = { accept: 'application/json' };
      const bearer = await this.bearer();
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      try {
        const res = await this.fetch.get(url, headers);
        const text = Buffer.concat(await res.body.toArray()).toString('utf8');
        try {
          return { body: JSON.parse(text) as unknown, text };
        } catch (err) {
          throw new RestError(`${url}: the response is not JSON: ${(err as Error).message}`);
        }
      } catch (err) {
        if (!(err instanceof HttpFetchError)) throw err;
        if (err.status === 401 && this.options.auth.type === 'client_credentials' && !refreshed) {
          // An expired or revoked token: one fresh token, once per request.
          refreshed = true;
          this.token = null;
          continue;
        }
        if (err.status === 429) {
          const wait = retryAfterMs(err.headers['retry-after'], this.now());
          if (wait > budget) throw new RestError(`${err.message.split(': ')[0]}: HTTP 429, Retry-After ${Math.ceil(wait / 1000)} s exceeds what is left of the ${this.options.retryAfterBudgetSeconds ?? 120} s budget`);
          budget -= wait;
          await this.sleep(wait);
          continue;
        }
        const retryable = err.status === undefined || err.status >= 500;
        if (retryable && failures < maxRetries) {
          await this.sleep(500 * 2 ** failures);
          failures++;
          continue;
        }
        throw new RestError(failures > 0 ? `${err.message} (after ${failures} retries)` : err.message);
      }
    }
  }

  async close(): Promise<void> {
    await this.fetch.close();
  }

  private async bearer(): Promise<string | null> {
    const auth = this.options.auth;
    if (auth.type === 'none') return null;
    if (auth.type === 'bearer') return auth.token;
    if (this.token && this.token.expiresAt > this.now()) return this.token.value;
    const basic = Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64');
    let text: string;
    try {
      const res = await this.fetch.post(auth.tokenUrl, { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, 'grant_type=client_credentials');
      text = Buffer.concat(await res.body.toArray()).toString('utf8');
    } catch (err) {
      throw new RestError(`token request failed: ${(err as Error).message}`);
    }
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new RestError(`token request to ${auth.tokenUrl}: the answer is not JSON`);
    }
    if (typeof parsed.access_token !== 'string') throw new RestError(`token request to ${auth.tokenUrl}: no access_token in the answer`);
    const seconds = typeof parsed.expires_in === 'number' ? parsed.expires_in : 3600;
    // Renewed a minute early (or at half-life for short tokens), so a token never expires mid-page.
    this.token = { value: parsed.access_token, expiresAt: this.now() + Math.max(seconds - 60, seconds / 2) * 1000 };
    this.tokensIssued++;
    return this.token.value;
  }
}

/** Retry-After as seconds or an HTTP date; 1 s when absent or unreadable. */
function retryAfterMs(value: string | undefined, now: number): number {
  if (value === undefined) return 1000;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - now);
}
