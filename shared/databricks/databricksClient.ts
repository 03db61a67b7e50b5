import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { Logger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import { redactSecrets } from '../logging/redact.js';
import type { DatabricksAuth } from './databricksAuth.js';

/**
 * The Databricks workspace REST calls soundlake makes: Jobs `run-now` (API 2.2) for the kick, and
 * any other call through `request` (the SQL Statement Execution adapter). Plain fetch, no SDK:
 * every request is visible here, which is what the stand-in and the tests check against.
 *
 * Retries: 429 waits for Retry-After (when it is reasonable), 5xx and network failures back off
 * exponentially with jitter; any other 4xx fails at once with Databricks' error_code and message.
 * Tokens go into the Authorization header and nowhere else (not into errors, not into logs).
 */
export interface DatabricksClientOptions {
  /** Workspace URL, e.g. `https://adb-1234567890123456.7.azuredatabricks.net` (scheme optional) or a local stand-in. */
  host: string;
  auth: DatabricksAuth;
  /** Per attempt, connect to last byte (default 30 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 5). */
  maxRetries?: number;
  /** First backoff step (default 500 ms); doubles per retry. */
  baseDelayMs?: number;
  /** Longest backoff step (default 30 s). */
  maxDelayMs?: number;
  /** A Retry-After longer than this fails the call instead (the queue retries later; default 120 s). */
  maxRetryAfterMs?: number;
  logger?: Logger;
  /** Injected in tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface RunNowRequest {
  jobId: number;
  /** At most 64 characters. The same token always yields the same run. */
  idempotencyToken?: string;
  jobParameters?: Record<string, string>;
}

export interface RunNowResult {
  runId: number;
  numberInJob?: number;
}

export interface DatabricksErrorDetails {
  method: string;
  path: string;
  status?: number;
  errorCode?: string;
  apiMessage?: string;
  attempts: number;
  /** Worth trying again later (429, 5xx, network): a queue retry may succeed. */
  retryable: boolean;
  /** A 429's Retry-After (ms) that was not waited for here: the caller should come back after it. */
  retryAfterMs?: number;
}

export class DatabricksError extends Error {
  constructor(
    readonly details: DatabricksErrorDetails,
    reason: string,
  ) {
    const tries = details.attempts > 1 ? ` (after ${details.attempts} attempts)` : '';
    super(`Databricks ${details.method} ${details.path}: ${reason}${tries}`);
    this.name = 'DatabricksError';
  }

  get status(): number | undefined {
    return this.details.status;
  }

  get errorCode(): string | undefined {
    return this.details.errorCode;
  }
}

const runNowResponse = z.object({ run_id: z.number().int(), number_in_job: z.number().int().optional() });
/** Normalises `adb-1.2.azuredatabricks.net`, `https://.../` and `http://127.0.0.1:8123` to an origin. */
export function normaliseHost(host: string): string {
  const trimmed = host.trim().replace(/\/+$/, '');
  const withScheme = /^https?:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  const url = new URL(withScheme);
  if (url.pathname !== '/' && url.pathname !== '') throw new Error(`Databricks host must be a workspace URL without a path: ${host}`);
  return url.origin;
}

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class DatabricksClient {
  readonly host: string;
  private readonly auth: DatabricksAuth;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly logger: Logger;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: DatabricksClientOptions) {
    this.host = normaliseHost(options.host);
    this.auth = options.auth;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.logger = options.logger ?? silentLogger;
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.random = options.random ?? Math.random;
  }

  /** `POST /api/2.2/jobs/run-now`: with an idempotency token, repeating the call returns the same run. */
  async runNow(request: RunNowRequest): Promise<RunNowResult> {
    if (request.idempotencyToken !== undefined && request.idempotencyToken.length > 64) {
      throw new Error(`idempotency token longer than 64 characters: ${request.idempotencyToken}`);
    }
    const body: Record<string, unknown> = { job_id: request.jobId };
    if (request.idempotencyToken !== undefined) body.idempotency_token = request.idempotencyToken;
    if (request.jobParameters) body.job_parameters = request.jobParameters;
    const res = await this.call('POST', '/api/2.2/jobs/run-now', body, runNowResponse);
    return { runId: res.run_id, ...(res.number_in_job !== undefined ? { numberInJob: res.number_in_job } : {}) };
  }

  /**
   * Any other workspace call, with the same retries, timeouts and error handling (the SQL
   * Statement Execution adapter uses it). `schema` checks the response.
   */
  request<T>(method: 'GET' | 'POST', path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    return this.call(method, path, body, schema);
  }

  private backoff(retry: number): number {
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** retry);
    return Math.round(cap / 2 + (this.random() * cap) / 2);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    const url = `${this.host}${path}`;
    let attempt = 0;
    for (;;) {
      attempt++;
      const outcome = await this.attempt(method, url, body);
      const base = { method, path, attempts: attempt };
      if (outcome.kind === 'ok') {
        const parsed = schema.safeParse(outcome.body);
        if (!parsed.success) {
          throw new DatabricksError({ ...base, status: outcome.status, retryable: false }, `unexpected response: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        }
        return parsed.data;
      }
      let wait: number;
      let reason: string;
      let details: DatabricksErrorDetails;
      if (outcome.kind === 'network') {
        reason = `request failed: ${outcome.message}`;
        details = { ...base, retryable: true };
        wait = this.backoff(attempt - 1);
      } else {
        const { status, errorCode, apiMessage } = outcome;
        reason = `${status}${errorCode ? ` ${errorCode}` : ''}${apiMessage ? `: ${apiMessage}` : ''}`;
        const retryable = status === 429 || status >= 500;
        details = { ...base, status, retryable, ...(errorCode ? { errorCode } : {}), ...(apiMessage ? { apiMessage } : {}) };
        if (!retryable) throw new DatabricksError(details, reason);
        const after = status === 429 ? retryAfterMs(outcome.retryAfter) : undefined;
        if (after !== undefined) details.retryAfterMs = after;
        if (after !== undefined && after > this.maxRetryAfterMs) throw new DatabricksError(details, `${reason} (Retry-After ${after / 1000} s is too long to wait)`);
        wait = after ?? this.backoff(attempt - 1);
      }
      if (attempt > this.maxRetries) throw new DatabricksError(details, reason);
      this.logger.warn({ method, path, status: details.status, attempt, waitMs: wait }, `Databricks ${method} ${path}: ${reason}; retrying in ${wait} ms`);
      await this.sleep(wait);
    }
  }

  private async attempt(
    method: string,
    url: string,
    body: unknown,
  ): Promise<
    | { kind: 'ok'; status: number; body: unknown }
    | { kind: 'http'; status: number; errorCode?: string; apiMessage?: string; retryAfter: string | null }
    | { kind: 'network'; message: string }
  > {
    // A credential that cannot produce a token fails the call as it is: retrying here would not help.
    const headers: Record<string, string> = {
      authorization: await this.auth.authorization(),
      accept: 'application/json',
      'user-agent': 'soundlake/0.1',
    };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await this.fetchImpl(url, {
        method,
        headers,
        signal: controller.signal,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : {};
      } catch {
        json = undefined;
      }
      if (res.ok) {
        return json === undefined ? { kind: 'http', status: res.status, apiMessage: `response is not JSON: ${snippet(text)}`, retryAfter: null } : { kind: 'ok', status: res.status, body: json };
      }
      const err = (json ?? {}) as { error_code?: unknown; message?: unknown };
      // Some legacy endpoints put the HTTP status (a number) in error_code: treat it as absent.
      const errorCode = typeof err.error_code === 'string' ? err.error_code : undefined;
      const apiMessage = typeof err.message === 'string' ? redactSecrets(err.message) : text ? snippet(text) : undefined;
      return { kind: 'http', status: res.status, retryAfter: res.headers.get('retry-after'), ...(errorCode ? { errorCode } : {}), ...(apiMessage ? { apiMessage } : {}) };
    } catch (err) {
      if (controller.signal.aborted) return { kind: 'network', message: `timed out after ${this.timeoutMs} ms` };
      const e = err as Error & { cause?: { code?: string; message?: string } };
      return { kind: 'network', message: redactSecrets(e.cause?.code ?? e.cause?.message ?? e.message) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return redactSecrets(flat.length > 300 ? `${flat.slice(0, 300)}...` : flat);
}
