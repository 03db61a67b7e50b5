import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { notifierFromEnv, TestClock } from '../support/alertFixture.js';
import { ACS_API_VERSION, AcsStandIn, captureLogger, failureNotice } from '../support/alertStandIns.js';

/**
 * Email through the real EmailClient against a local stand-in for Azure Communication
 * Services: the exact send request (path, signed headers, body), then the poller following the
 * Operation-Location until the email is Succeeded.
 */
let acs: AcsStandIn;
const RUN = 'run-20260301T0600-7f3a';
const LOOK_AT = `run ledger: subject orders, run ${RUN}; logs filtered on runId=${RUN}`;

const env = (over: Record<string, string> = {}): Record<string, string> => ({
  ALERT_EMAIL_TO: 'data-oncall@contoso.com, lake-owner@contoso.com',
  ALERT_EMAIL_FROM: 'DoNotReply@alerts.contoso.com',
  ACS_CONNECTION_STRING: acs.connectionString,
  ALERT_TIMEOUT_SECONDS: '2',
  ALERT_RETRIES: '2',
  ...over,
});

beforeAll(async () => {
  acs = await AcsStandIn.start();
});
afterAll(async () => {
  await acs?.close();
});
beforeEach(() => {
  acs.http.reset();
  acs.sendMode = 'accept';
  acs.runningPolls = 1;
  acs.finalStatus = 'Succeeded';
});

describe('email through ACS', () => {
  it('sends the exact request, then polls the operation until it succeeded', async () => {
    acs.runningPolls = 2;
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv(env(), { logger, now: new TestClock().now });
    const started = Date.now();
    const report = await notifier.report(
      failureNotice({ runId: RUN, lookAt: LOOK_AT, detail: 'login failed for "ingest" <Password=Sup3r!> & retry 3/3; Password=Sup3r!', key: `ingest:orders:${Math.random()}` }),
    );
    const finished = Date.now();
    expect(report.sent).toBe(true);
    if (!('alert' in report)) throw new Error('expected an alert');
    const alertId = report.alert.id;

    expect(acs.sends).toHaveLength(1);
    const send = acs.sends[0]!;
    expect(send.path).toBe(`/emails:send?api-version=${ACS_API_VERSION}`);
    expect(send.headers['content-type']).toBe('application/json');
    expect(send.headers.accept).toBe('application/json');
    expect(send.headers['operation-id']).toBe(alertId);
    expect(send.headers.host).toBe(`127.0.0.1:${acs.http.port}`);
    expect(send.headers['user-agent']).toMatch(/^azsdk-js-communication-email\/1\.1\.0 /);
    expect(acs.signatureValid(send)).toBe(true);
    // An unquoted Password= value runs to the next ';' (ADO.NET allows blanks in it), so '> & retry 3/3' goes with it.
    const detail = 'login failed for "ingest" &lt;Password=[redacted]; Password=[redacted]';
    expect(JSON.parse(send.body)).toEqual({
      senderAddress: 'DoNotReply@alerts.contoso.com',
      recipients: { to: [{ address: 'data-oncall@contoso.com' }, { address: 'lake-owner@contoso.com' }] },
      content: {
        subject: '[soundlake] ERROR: ingestion of orders failed',
        plainText: [
          'ingestion of orders failed',
          '',
          `Run: ${RUN}`,
          'Table: orders',
          'Kind: ingestion-failed',
          'Severity: error',
          'At: 2026-03-01T06:00:00.000Z',
          '',
          'Error:',
          'login failed for "ingest" <Password=[redacted]; Password=[redacted]',
          '',
          'Where to look:',
          LOOK_AT,
        ].join('\n'),
        html: [
          '<h2>ingestion of orders failed</h2>',
          '<table>',
          `<tr><th align="left">Run</th><td>${RUN}</td></tr>`,
          '<tr><th align="left">Table</th><td>orders</td></tr>',
          '<tr><th align="left">Kind</th><td>ingestion-failed</td></tr>',
          '<tr><th align="left">Severity</th><td>error</td></tr>',
          '<tr><th align="left">At</th><td>2026-03-01T06:00:00.000Z</td></tr>',
          '</table>',
          '<h3>Error</h3>',
          `<pre>${detail.replaceAll('"', '&quot;')}</pre>`,
          '<h3>Where to look</h3>',
          `<p>${LOOK_AT}</p>`,
        ].join('\n'),
      },
    });

    // Running, Running, Succeeded: three polls of the Operation-Location, all signed.
    const polls = acs.statusPolls;
    expect(polls.map((p) => p.path)).toEqual(Array(3).fill(`/emails/operations/${alertId}?api-version=${ACS_API_VERSION}`));
    for (const p of polls) {
      expect(p.body).toBe('');
      expect(acs.signatureValid(p)).toBe(true);
    }
    // notify() returned after the final status, not before.
    expect(polls.at(-1)!.at).toBeGreaterThanOrEqual(started);
    expect(polls.at(-1)!.at).toBeLessThanOrEqual(finished);
    expect(report.outcomes).toEqual([{ channel: 'email', delivered: true, attempts: 1, receipt: { id: alertId }, failures: [] }]);
    expect(text()).toContain('alert sent via email');
    expect(text()).not.toContain('Sup3r!');
    expect(text()).not.toContain(acs.accessKey);
  });

  it('does not resend an email ACS reported Failed', async () => {
    acs.finalStatus = 'Failed';
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv(env(), { logger });
    const report = await notifier.report(failureNotice({ key: `k:${Math.random()}` }));
    expect(report.sent).toBe(false);
    expect(acs.sends).toHaveLength(1);
    expect(report.outcomes[0]).toMatchObject({ channel: 'email', delivered: false, attempts: 1 });
    expect(report.outcomes[0]!.failures[0]!.error).toMatch(/^ACS reported the email failed: .*EmailDroppedAllRecipientsSuppressed/);
    expect(text()).toContain('alert dropped by email after 1 attempt(s)');
  });

  it('does not retry a send ACS rejects with 400', async () => {
    acs.sendMode = 'reject-400';
    const { logger } = captureLogger();
    const notifier = notifierFromEnv(env(), { logger });
    const report = await notifier.report(failureNotice({ key: `k:${Math.random()}` }));
    expect(acs.sends).toHaveLength(1);
    expect(report.outcomes[0]!.failures).toEqual([{ attempt: 1, error: expect.stringMatching(/^POST \/emails:send answered 400: .*sender not verified/), retryable: false }]);
  });

  it('does not send again an email ACS accepted but whose status it did not report in time', async () => {
    acs.runningPolls = 1_000_000;
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv(env({ ALERT_TIMEOUT_SECONDS: '0.4' }), { logger });
    const report = await notifier.report(failureNotice({ key: `k:${Math.random()}` }));
    expect(acs.sends).toHaveLength(1);
    expect(acs.statusPolls.length).toBeGreaterThan(1);
    expect(report.sent).toBe(true);
    if (!('alert' in report)) throw new Error('expected an alert');
    expect(report.outcomes[0]).toMatchObject({ delivered: true, attempts: 1, receipt: { id: report.alert.id, note: 'accepted by ACS; final status not confirmed: no answer within 400 ms' } });
    expect(text()).toContain('final status not confirmed');
  });
});
