import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../local/freePort.js';
import { notifierFromEnv, TestClock, throttleTableName, timed } from '../support/alertFixture.js';
import { captureLogger, failureNotice, HttpStandIn } from '../support/alertStandIns.js';

/**
 * The throttle against Azurite: one alert per key per period, shared by every instance through
 * conditional writes, and never a reason to stay silent or slow when the table is unreachable.
 */
let hook: HttpStandIn;
let status = 200;
const PATH = '/services/T0/B0/throttle';
const HOUR = 60 * 60_000;

const env = (table: string, over: Record<string, string> = {}): Record<string, string> => ({
  ALERT_WEBHOOK_URL: hook.url(PATH),
  ALERT_WEBHOOK_KIND: 'slack',
  ALERT_THROTTLE_MINUTES: '60',
  ALERT_THROTTLE_TABLE: table,
  ALERT_TIMEOUT_SECONDS: '2',
  ALERT_RETRIES: '0',
  ...over,
});
const key = (name: string): string => `ingest:${name}:${Math.random().toString(16).slice(2)}`;
const deliveredFacts = (i: number): string[] =>
  (JSON.parse(hook.requests[i]!.body) as { blocks: { fields?: { text: string }[] }[] }).blocks[1]!.fields!.map((f) => f.text);

beforeAll(async () => {
  hook = await HttpStandIn.start(() => ({ status, body: status === 200 ? 'ok' : 'stand-in failure' }));
});
afterAll(async () => {
  await hook?.close();
});
beforeEach(() => {
  hook.reset();
  status = 200;
});

describe('alert throttle', () => {
  it('sends a key once per period, other keys meanwhile, and the key again after the period with the count held back', async () => {
    const clock = new TestClock();
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv(env(throttleTableName()), { logger, now: clock.now });
    const orders = key('orders');

    expect((await notifier.report(failureNotice({ key: orders }))).sent).toBe(true);
    clock.advance(5 * 60_000);
    expect(await notifier.report(failureNotice({ key: orders }))).toEqual({ sent: false, reason: 'throttled', outcomes: [] });
    clock.advance(5 * 60_000);
    expect((await notifier.report(failureNotice({ key: orders, runId: 'run-20260301T0010-cd34' }))).sent).toBe(false);
    expect(hook.requests).toHaveLength(1);
    expect(text()).toContain(`alert held back: ${orders} was sent at 2026-03-01T06:00:00.000Z`);

    expect((await notifier.report(failureNotice({ key: key('customers'), subject: 'customers' }))).sent).toBe(true);
    expect(hook.requests).toHaveLength(2);

    clock.advance(HOUR - 10 * 60_000); // exactly one period after the first send
    expect((await notifier.report(failureNotice({ key: orders }))).sent).toBe(true);
    expect(hook.requests).toHaveLength(3);
    // The alert names every run it held back, so none goes unheard.
    expect(deliveredFacts(2)).toContain('*Repeats suppressed*\n2 since the last alert of this kind (runs run-20260301T0000-ab12, run-20260301T0010-cd34)');
    expect(deliveredFacts(2)).toContain('*At*\n2026-03-01T07:00:00.000Z');

    // The period restarts at the new send.
    clock.advance(HOUR - 1);
    expect((await notifier.report(failureNotice({ key: orders }))).sent).toBe(false);
    expect(hook.requests).toHaveLength(3);
  });

  it('lets exactly one of several instances send the same key at the same time', async () => {
    const table = throttleTableName();
    const { logger } = captureLogger();
    const clock = new TestClock();
    // Separate notifiers, separate table clients: as separate Function instances would be.
    const instances = Array.from({ length: 4 }, () => notifierFromEnv(env(table), { logger, now: clock.now }));
    for (let round = 0; round < 5; round++) {
      hook.reset();
      const k = key(`race${round}`);
      const reports = await Promise.all(instances.map((n) => n.report(failureNotice({ key: k }))));
      expect(reports.filter((r) => r.sent)).toHaveLength(1);
      expect(reports.filter((r) => r.reason === 'throttled')).toHaveLength(instances.length - 1);
      expect(hook.requests).toHaveLength(1);
    }
    // Also when the row exists already and its period has run out: both read the same ETag, one write wins.
    const k = key('existing');
    await instances[0]!.report(failureNotice({ key: k }));
    clock.advance(HOUR);
    hook.reset();
    const reports = await Promise.all(instances.map((n) => n.report(failureNotice({ key: k }))));
    expect(reports.filter((r) => r.sent)).toHaveLength(1);
    expect(hook.requests).toHaveLength(1);
  });

  it('does not throttle with ALERT_THROTTLE_MINUTES=0, nor notices without a key', async () => {
    const { logger } = captureLogger();
    const off = notifierFromEnv(env(throttleTableName(), { ALERT_THROTTLE_MINUTES: '0' }), { logger });
    const k = key('off');
    await off.notify(failureNotice({ key: k }));
    await off.notify(failureNotice({ key: k }));
    const on = notifierFromEnv(env(throttleTableName()), { logger });
    await on.notify(failureNotice({ key: undefined }));
    await on.notify(failureNotice({ key: undefined }));
    expect(hook.requests).toHaveLength(4);
  });

  it('hands the claim back when the alert reached no channel, so the next one is tried', async () => {
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv(env(throttleTableName()), { logger });
    const k = key('handback');
    status = 503;
    expect(await notifier.report(failureNotice({ key: k }))).toMatchObject({ sent: false, reason: 'undelivered' });
    expect(text()).toContain('the next notice with this key will be tried again');
    status = 200;
    expect((await notifier.report(failureNotice({ key: k }))).sent).toBe(true);
    expect((await notifier.report(failureNotice({ key: k }))).sent).toBe(false);
    expect(hook.requests).toHaveLength(2);
  });

  it('sends anyway, within its deadline, when the throttle table cannot be reached', async () => {
    const { logger, text } = captureLogger();
    // Nothing listens on this port: every Table Storage call is refused, and the SDK would retry for seconds.
    const port = await freePort();
    const unreachable = TableClient.fromConnectionString(
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:${port}/devstoreaccount1`,
      'alertsunreachable',
      { allowInsecureConnection: true },
    );
    const notifier = notifierFromEnv(env(throttleTableName(), { ALERT_TIMEOUT_SECONDS: '0.5' }), { logger, throttleTable: unreachable });
    const { ms, value } = await timed(() => notifier.report(failureNotice({ key: key('unreachable') })));
    expect(value.sent).toBe(true);
    expect(hook.requests).toHaveLength(1);
    expect(ms).toBeLessThan(notifier.budgetMs);
    expect(text()).toContain('alert throttle unavailable, sending anyway');
    expect(text()).not.toContain('Eby8vdM02xNOcqFl');
  });
});
