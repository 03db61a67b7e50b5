import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlertChannel } from '../../shared/notify/alertChannel.js';
import { AlertNotifier } from '../../shared/notify/alertNotifier.js';
import { createWebhookChannel } from '../../shared/notify/webhookChannel.js';
import { notifierFromEnv, throttleTableName, timed } from '../support/alertFixture.js';
import { AcsStandIn, captureLogger, failureNotice, HttpStandIn, type Reply } from '../support/alertStandIns.js';

/**
 * Alerts never break or stall the pipeline: a channel that hangs or fails is retried a bounded
 * number of times and dropped, notify() neither throws nor outlives its budget, and the other
 * channel still delivers.
 */
let acs: AcsStandIn;
let hook: HttpStandIn;
let hookReply: Reply;
const PATH = '/services/T0/B0/r3s1l13nc3';
const TIMEOUT_MS = 300;
const RETRIES = 2;

const env = (): Record<string, string> => ({
  ALERT_EMAIL_TO: 'data-oncall@contoso.com',
  ALERT_EMAIL_FROM: 'DoNotReply@alerts.contoso.com',
  ACS_CONNECTION_STRING: acs.connectionString,
  ALERT_WEBHOOK_URL: hook.url(PATH),
  ALERT_WEBHOOK_KIND: 'slack',
  ALERT_TIMEOUT_SECONDS: String(TIMEOUT_MS / 1000),
  ALERT_RETRIES: String(RETRIES),
  ALERT_THROTTLE_TABLE: throttleTableName(),
});
const notice = () => failureNotice({ key: `ingest:orders:${Math.random()}` });
const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

beforeAll(async () => {
  acs = await AcsStandIn.start();
  hook = await HttpStandIn.start(() => hookReply);
});
afterAll(async () => {
  await Promise.all([acs?.close(), hook?.close()]);
});
beforeEach(() => {
  acs.http.reset();
  hook.reset();
  acs.sendMode = 'accept';
  acs.runningPolls = 0;
  hookReply = { status: 200, body: 'ok' };
});

describe('a failing channel', () => {
  it('that hangs is timed out, retried the configured number of times and dropped; email still goes', async () => {
    hookReply = 'hang';
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv(env(), { logger });
    const { ms, value } = await timed(() => notifier.report(notice()));

    expect(hook.requests).toHaveLength(RETRIES + 1);
    expect(acs.sends).toHaveLength(1);
    expect(value.sent).toBe(true);
    const webhook = value.outcomes.find((o) => o.channel === 'webhook:slack')!;
    expect(webhook).toMatchObject({ delivered: false, attempts: 3 });
    expect(webhook.failures.map((f) => f.error)).toEqual(Array(3).fill(`POST http://127.0.0.1:${hook.port}/… failed: no answer within ${TIMEOUT_MS} ms`));
    expect(value.outcomes.find((o) => o.channel === 'email')).toMatchObject({ delivered: true, attempts: 1 });
    // Three timeouts and two pauses (20 ms, 40 ms), and never more than the budget.
    expect(ms).toBeGreaterThanOrEqual(3 * TIMEOUT_MS + 55);
    expect(ms).toBeLessThan(notifier.budgetMs);
    expect(text()).toContain('alert dropped by webhook:slack after 3 attempt(s)');
    expect(text()).not.toContain('r3s1l13nc3');
  });

  it('that answers 500 is retried with growing pauses and dropped; email still goes', async () => {
    hookReply = { status: 500, body: 'upstream exploded at https://hooks.slack.com/services/T0/B0/r3s1l13nc3' };
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv(env(), { logger });
    const report = await notifier.report(notice());

    expect(hook.requests).toHaveLength(RETRIES + 1);
    const [first, second] = gaps(hook.requests.map((r) => r.at));
    expect(first).toBeGreaterThanOrEqual(19);
    expect(second).toBeGreaterThanOrEqual(39);
    // Every retry is the same message.
    expect(new Set(hook.requests.map((r) => r.body)).size).toBe(1);
    expect(report.outcomes.find((o) => o.channel === 'webhook:slack')!.failures[0]).toEqual({
      attempt: 1,
      error: `POST http://127.0.0.1:${hook.port}/… answered 500: upstream exploded at https://hooks.slack.com/[redacted]`,
      retryable: true,
    });
    expect(acs.sends).toHaveLength(1);
    expect(report.sent).toBe(true);
    expect(text()).not.toContain('r3s1l13nc3');
  });

  it('that answers 404 is not retried', async () => {
    hookReply = { status: 404, body: 'no_service' };
    const { logger } = captureLogger();
    const report = await notifierFromEnv(env(), { logger }).report(notice());
    expect(hook.requests).toHaveLength(1);
    expect(report.outcomes.find((o) => o.channel === 'webhook:slack')).toMatchObject({ delivered: false, attempts: 1, failures: [{ retryable: false }] });
  });

  it('ACS answering 500 is retried with the same Operation-Id, then dropped; the webhook still goes', async () => {
    acs.sendMode = 'fail-500';
    const { logger } = captureLogger();
    const report = await notifierFromEnv(env(), { logger }).report(notice());
    expect(acs.sends).toHaveLength(RETRIES + 1);
    expect(new Set(acs.sends.map((s) => s.headers['operation-id'])).size).toBe(1);
    expect(hook.requests).toHaveLength(1);
    expect(report.outcomes.find((o) => o.channel === 'email')).toMatchObject({ delivered: false, attempts: 3 });
    expect(report.outcomes.find((o) => o.channel === 'email')!.failures[0]!.error).toMatch(/^POST \/emails:send answered 500: /);
  });

  it('with every channel down, notify() resolves (never rejects) within its budget', async () => {
    acs.sendMode = 'hang';
    hookReply = 'hang';
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv(env(), { logger });
    const { ms, value } = await timed(() => notifier.notify(notice()));
    expect(value).toBeUndefined();
    expect(ms).toBeLessThan(notifier.budgetMs);
    expect(acs.sends).toHaveLength(RETRIES + 1);
    expect(hook.requests).toHaveLength(RETRIES + 1);
    expect(text()).toContain('alert dropped by email after 3 attempt(s)');
    expect(text()).not.toContain(acs.accessKey);
  });

  it('that ignores its abort signal cannot hold notify() past the deadline', async () => {
    const { logger } = captureLogger();
    const stuck: AlertChannel = { name: 'stuck', send: () => new Promise(() => undefined) };
    const webhook = createWebhookChannel({ url: hook.url(PATH), kind: 'teams' });
    const notifier = new AlertNotifier({ channels: [stuck, webhook], logger, policy: { timeoutMs: 200, retries: 1, backoffMs: 10 } });
    const { ms, value } = await timed(() => notifier.report(notice()));
    expect(value.sent).toBe(true);
    expect(value.outcomes.find((o) => o.channel === 'stuck')).toMatchObject({ delivered: false, attempts: 2 });
    expect(ms).toBeLessThan(notifier.budgetMs);
    expect(hook.requests).toHaveLength(1);
  });
});
