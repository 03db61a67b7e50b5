import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import pino from 'pino';
import { z } from 'zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDatabricksStandIn, type DatabricksStandIn } from '../../local/databricksStandIn.js';
import { freePort } from '../../local/freePort.js';
import { AZURE_DATABRICKS_SCOPE, entraAuth, patAuth } from '../../shared/databricks/databricksAuth.js';
import { DatabricksClient, DatabricksError, normaliseHost, retryAfterMs, type DatabricksClientOptions } from '../../shared/databricks/databricksClient.js';

/**
 * The REST client against the stand-in as a real HTTP server on 127.0.0.1: exact paths, bodies
 * and headers; retries with an injected sleep that records each wait (so backoff is asserted
 * exactly without waiting it out).
 */
// Built at run time so no token-shaped literal sits in the repository (secret scanners).
const PAT = `dapi${'0'.repeat(31)}1`;
let standIn: DatabricksStandIn;
let sleeps: number[];
let logLines: string[];

const client = (overrides: Partial<DatabricksClientOptions> = {}): DatabricksClient =>
  new DatabricksClient({
    host: standIn.url,
    auth: patAuth(PAT),
    baseDelayMs: 100,
    maxDelayMs: 10_000,
    maxRetries: 3,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    logger: pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) }),
    ...overrides,
  });

beforeAll(async () => {
  standIn = await startDatabricksStandIn({ token: PAT, jobs: [11, 4242], onRun: async () => undefined });
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(() => {
  standIn.requests.length = 0;
  sleeps = [];
  logLines = [];
});

describe('requests', () => {
  it('run-now: exact path, body and headers (PAT)', async () => {
    const res = await client().runNow({ jobId: 4242, idempotencyToken: 'soundlake-4242-w-20261125T084700Z-5f2c9a' });
    expect(res.runId).toBeGreaterThanOrEqual(1000);
    expect(standIn.requests).toHaveLength(1);
    const [req] = standIn.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/api/2.2/jobs/run-now', query: {}, body: { job_id: 4242, idempotency_token: 'soundlake-4242-w-20261125T084700Z-5f2c9a' }, status: 200 });
    expect(Object.keys(req!.body as object)).toEqual(['job_id', 'idempotency_token']);
    expect(req!.headers.authorization).toBe(`Bearer ${PAT}`);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers.accept).toBe('application/json');
    expect(req!.headers['user-agent']).toBe('soundlake/0.1');
  });

  it('the same idempotency token returns the same run; another token a new one', async () => {
    const c = client();
    const before = standIn.runs.length;
    const a = await c.runNow({ jobId: 11, idempotencyToken: 'tok-a' });
    const b = await c.runNow({ jobId: 11, idempotencyToken: 'tok-a' });
    const other = await c.runNow({ jobId: 11, idempotencyToken: 'tok-b' });
    expect(b.runId).toBe(a.runId);
    expect(other.runId).not.toBe(a.runId);
    expect(standIn.runs.length - before).toBe(2);
    await expect(c.runNow({ jobId: 11, idempotencyToken: 'x'.repeat(65) })).rejects.toThrow(/longer than 64/);
  });

  it('Entra: the token of an injected TokenCredential for the Azure Databricks scope', async () => {
    const scopes: string[][] = [];
    const credential: TokenCredential = {
      getToken: async (scope: string | string[], _options?: GetTokenOptions): Promise<AccessToken> => {
        scopes.push([scope].flat());
        return { token: 'eyJ.entra.token', expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const entraStandIn = await startDatabricksStandIn({ token: 'eyJ.entra.token' });
    try {
      const c = client({ host: entraStandIn.url, auth: entraAuth(credential) });
      await c.runNow({ jobId: 5, idempotencyToken: 't' });
      await c.runNow({ jobId: 5, idempotencyToken: 't' });
      expect(AZURE_DATABRICKS_SCOPE).toBe('2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default');
      expect(scopes).toEqual([[AZURE_DATABRICKS_SCOPE], [AZURE_DATABRICKS_SCOPE]]);
      expect(entraStandIn.requests.map((r) => r.headers.authorization)).toEqual(['Bearer eyJ.entra.token', 'Bearer eyJ.entra.token']);
    } finally {
      await entraStandIn.close();
    }
    const none: TokenCredential = { getToken: async () => null };
    await expect(client({ auth: entraAuth(none) }).runNow({ jobId: 5 })).rejects.toThrow(`no Microsoft Entra token for ${AZURE_DATABRICKS_SCOPE}`);
  });

  it('hosts: scheme optional, trailing slash dropped, paths refused', () => {
    expect(normaliseHost('adb-1234567890123456.7.azuredatabricks.net')).toBe('https://adb-1234567890123456.7.azuredatabricks.net');
    expect(normaliseHost('https://adb-1.2.azuredatabricks.net/')).toBe('https://adb-1.2.azuredatabricks.net');
    expect(normaliseHost('http://127.0.0.1:8123')).toBe('http://127.0.0.1:8123');
    expect(() => normaliseHost('https://adb-1.2.azuredatabricks.net/api/2.2')).toThrow(/without a path/);
  });
});

describe('retries and errors', () => {
  it('429 with Retry-After, then 200: waits exactly Retry-After and succeeds', async () => {
    standIn.script({ method: 'POST', path: '/api/2.2/jobs/run-now' }, { status: 429, headers: { 'retry-after': '2' }, body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'Too many requests' } });
    const res = await client().runNow({ jobId: 4242, idempotencyToken: 'retry-429' });
    expect(res.runId).toBeGreaterThan(0);
    expect(sleeps).toEqual([2000]);
    expect(standIn.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(standIn.requests.map((r) => r.body)).toEqual([
      { job_id: 4242, idempotency_token: 'retry-429' },
      { job_id: 4242, idempotency_token: 'retry-429' },
    ]);
  });

  it('429 without Retry-After backs off; a Retry-After beyond the limit fails at once (the queue retries later)', async () => {
    standIn.script({ path: '/api/2.2/jobs/run-now' }, { status: 429 });
    await client().runNow({ jobId: 4242 });
    expect(sleeps).toEqual([75]);
    standIn.script({ path: '/api/2.2/jobs/run-now' }, { status: 429, headers: { 'retry-after': '600' }, body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' } });
    const err = (await client().runNow({ jobId: 4242 }).catch((e: unknown) => e)) as DatabricksError;
    expect(err).toBeInstanceOf(DatabricksError);
    expect(err.message).toBe('Databricks POST /api/2.2/jobs/run-now: 429 REQUEST_LIMIT_EXCEEDED: slow down (Retry-After 600 s is too long to wait)');
    expect(err.details.retryable).toBe(true);
  });

  it('500 every time: bounded retries with exponential backoff and jitter, then an error', async () => {
    const boom = { status: 500, body: { error_code: 'INTERNAL_ERROR', message: 'boom' } };
    standIn.script({ path: '/api/2.2/jobs/run-now' }, boom, boom, boom, boom, boom);
    const err = (await client().runNow({ jobId: 4242, idempotencyToken: 't500' }).catch((e: unknown) => e)) as DatabricksError;
    expect(err).toBeInstanceOf(DatabricksError);
    expect(err.message).toBe('Databricks POST /api/2.2/jobs/run-now: 500 INTERNAL_ERROR: boom (after 4 attempts)');
    expect(err.details).toMatchObject({ status: 500, errorCode: 'INTERNAL_ERROR', apiMessage: 'boom', attempts: 4, retryable: true });
    expect(standIn.requests).toHaveLength(4);
    // cap = 100 ms x 2^n, wait = cap/2 + random x cap/2 with random 0.5.
    expect(sleeps).toEqual([75, 150, 300]);
    // With real randomness every wait stays within [cap/2, cap].
    const jittered: number[] = [];
    standIn.script({ path: '/api/2.2/jobs/run-now' }, boom, boom, boom, boom);
    await client({ random: Math.random, sleep: async (ms) => void jittered.push(ms) })
      .runNow({ jobId: 4242 })
      .catch(() => undefined);
    expect(jittered).toHaveLength(3);
    jittered.forEach((ms, n) => {
      expect(ms).toBeGreaterThanOrEqual(50 * 2 ** n);
      expect(ms).toBeLessThanOrEqual(100 * 2 ** n);
    });
    standIn.script({ path: '/api/2.2/jobs/run-now' }, boom);
    standIn.script({ path: '/api/2.2/jobs/run-now' }, { status: 503, body: '<html>Service Unavailable</html>' });
    await expect(client().runNow({ jobId: 4242 })).resolves.toMatchObject({ runId: expect.any(Number) });
  });

  it('400: fails at once with Databricks error_code and message', async () => {
    const err = (await client().runNow({ jobId: 99, idempotencyToken: 'x' }).catch((e: unknown) => e)) as DatabricksError;
    expect(err).toBeInstanceOf(DatabricksError);
    expect(err.message).toBe('Databricks POST /api/2.2/jobs/run-now: 400 INVALID_PARAMETER_VALUE: Job 99 does not exist.');
    expect(err.details).toEqual({ method: 'POST', path: '/api/2.2/jobs/run-now', status: 400, errorCode: 'INVALID_PARAMETER_VALUE', apiMessage: 'Job 99 does not exist.', attempts: 1, retryable: false });
    expect(standIn.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('other 4xx fail at once too; a numeric error_code (legacy endpoints) counts as absent', async () => {
    standIn.script({ path: '/api/2.2/jobs/run-now' }, { status: 403, body: { error_code: 403, message: 'User does not have permission' } });
    await expect(client().runNow({ jobId: 4242 })).rejects.toThrow(/^Databricks POST \/api\/2\.2\/jobs\/run-now: 403: User does not have permission$/);
    await expect(client({ auth: patAuth('dapi-wrong') }).runNow({ jobId: 4242 })).rejects.toThrow('401 UNAUTHENTICATED: Invalid access token.');
    await expect(client().request('GET', '/api/2.2/clusters/list', undefined, z.unknown())).rejects.toThrow("404 ENDPOINT_NOT_FOUND: No API found for 'GET /api/2.2/clusters/list'");
    expect(sleeps).toEqual([]);
  });

  it('times out a request that hangs, and retries it', async () => {
    const hung: Server = createServer(() => undefined);
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
      const t0 = Date.now();
      await expect(client({ host: url, timeoutMs: 200, maxRetries: 1 }).runNow({ jobId: 1 })).rejects.toThrow('Databricks POST /api/2.2/jobs/run-now: request failed: timed out after 200 ms (after 2 attempts)');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
      expect(sleeps).toEqual([75]);
    } finally {
      hung.closeAllConnections();
      await new Promise<void>((r) => hung.close(() => r()));
    }
  });

  it('retries a refused connection, then reports it', async () => {
    const port = await freePort();
    await expect(client({ host: `http://127.0.0.1:${port}`, maxRetries: 2 }).runNow({ jobId: 1 })).rejects.toThrow(/request failed: ECONNREFUSED \(after 3 attempts\)$/);
    expect(sleeps).toEqual([75, 150]);
  });

  it('never puts the token in errors or logs', async () => {
    const boom = { status: 500, body: { error_code: 'INTERNAL_ERROR', message: `echo Bearer ${PAT}` } };
    standIn.script({ path: '/api/2.2/jobs/run-now' }, boom, boom, boom, boom);
    const err = (await client().runNow({ jobId: 4242 }).catch((e: unknown) => e)) as Error;
    expect(logLines.length).toBe(3);
    for (const text of [err.message, JSON.stringify((err as DatabricksError).details), ...logLines]) expect(text).not.toContain(PAT);
    expect(JSON.parse(logLines[0]!)).toMatchObject({ method: 'POST', path: '/api/2.2/jobs/run-now', status: 500, attempt: 1, waitMs: 75 });
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    const now = Date.parse('2026-11-25T08:47:00Z');
    expect(retryAfterMs('Wed, 25 Nov 2026 08:47:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 25 Nov 2026 08:46:00 GMT', now)).toBe(0);
  });
});
