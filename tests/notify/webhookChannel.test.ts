import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../shared/notify/notifier.js';
import { notifierFromEnv, TestClock } from '../support/alertFixture.js';
import { captureLogger, failureNotice, HttpStandIn } from '../support/alertStandIns.js';

/**
 * Slack and Teams webhooks against a real local HTTP server: the exact body each receives,
 * secrets in the error text masked in the message and in the logs, and the success summary
 * sent only when asked for.
 */
let hook: HttpStandIn;
const SLACK_PATH = '/services/T0SOUND/B0LAKE/s3cr3tW3bh00kT0k3n';
const TEAMS_PATH = '/workflows/7c1f/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=t3amsS1gnatur3';

const SECRET_DETAIL =
  'blob write failed: DefaultEndpointsProtocol=https;AccountName=lake;AccountKey=c2VjcmV0a2V5PT0=;EndpointSuffix=core.windows.net' +
  ' | Authorization: Bearer eyJhbGciOi.abc.def | https://lake.blob.core.windows.net/bronze?sv=2024-08-04&sig=AbCdEf%3D' +
  // An unquoted connection-string value runs to the next ';' (ADO.NET allows blanks in it), so the key comes last.
  ' | postgres://ingest:hunter2@db:5432/app | endpoint=https://x.communication.azure.com/;accesskey=QUNTa2V5';
const REDACTED_DETAIL =
  'blob write failed: DefaultEndpointsProtocol=https;AccountName=lake;AccountKey=[redacted];EndpointSuffix=core.windows.net' +
  ' | Authorization: Bearer [redacted] | https://lake.blob.core.windows.net/bronze?sv=2024-08-04&sig=[redacted]' +
  ' | postgres://ingest:[redacted]@db:5432/app | endpoint=https://x.communication.azure.com/;accesskey=[redacted]';
const SECRETS = ['c2VjcmV0a2V5PT0=', 'eyJhbGciOi', 'AbCdEf', 'QUNTa2V5', 'hunter2', 's3cr3tW3bh00kT0k3n', 't3amsS1gnatur3'];

const RUN = 'run-20260301T0600-7f3a';
const LOOK_AT = `run ledger: subject orders, run ${RUN}; logs filtered on runId=${RUN}`;
const notice = (over: Partial<Notice> = {}): Notice => failureNotice({ runId: RUN, detail: SECRET_DETAIL, lookAt: LOOK_AT, key: `ingest:orders:${Math.random()}`, ...over });

beforeAll(async () => {
  hook = await HttpStandIn.start(() => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' }));
});
afterAll(async () => {
  await hook?.close();
});
beforeEach(() => hook.reset());

describe('slack', () => {
  it('posts Block Kit blocks and a text fallback with run, table, error and where to look; secrets masked', async () => {
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv({ ALERT_WEBHOOK_URL: hook.url(SLACK_PATH), ALERT_WEBHOOK_KIND: 'slack' }, { logger, now: new TestClock().now });
    const report = await notifier.report(notice());
    expect(report.sent).toBe(true);

    expect(hook.requests).toHaveLength(1);
    const req = hook.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(SLACK_PATH);
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(req.body)).toEqual({
      text: `[soundlake] ERROR: ingestion of orders failed (run ${RUN}, orders)`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: ':rotating_light: ingestion of orders failed', emoji: true } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: `*Run*\n${RUN}` },
            { type: 'mrkdwn', text: '*Table*\norders' },
            { type: 'mrkdwn', text: '*Kind*\ningestion-failed' },
            { type: 'mrkdwn', text: '*Severity*\nerror' },
            { type: 'mrkdwn', text: '*At*\n2026-03-01T06:00:00.000Z' },
          ],
        },
        { type: 'section', text: { type: 'mrkdwn', text: '*Error*\n```' + REDACTED_DETAIL.replaceAll('&', '&amp;') + '```' } },
        { type: 'section', text: { type: 'mrkdwn', text: `*Where to look*\n${LOOK_AT}` } },
      ],
    });
    for (const secret of SECRETS) {
      expect(req.body).not.toContain(secret);
      expect(text()).not.toContain(secret);
    }
    // The notice itself is always logged too.
    expect(text()).toContain('ingestion-failed: ingestion of orders failed');
  });

  it("escapes Slack's control characters", async () => {
    const { logger } = captureLogger();
    const notifier = notifierFromEnv({ ALERT_WEBHOOK_URL: hook.url(SLACK_PATH), ALERT_WEBHOOK_KIND: 'slack' }, { logger });
    await notifier.notify(notice({ detail: 'value <script> & ```fence```', lookAt: 'GET /api/backfill/<id>' }));
    const body = JSON.parse(hook.requests[0]!.body) as { blocks: { text?: { text: string } }[] };
    expect(body.blocks[2]!.text!.text).toBe("*Error*\n```value &lt;script&gt; &amp; '''fence'''```");
    expect(body.blocks[3]!.text!.text).toBe('*Where to look*\nGET /api/backfill/&lt;id&gt;');
  });
});

describe('teams', () => {
  it('posts an Adaptive Card in the message/attachments envelope; secrets masked', async () => {
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv({ ALERT_WEBHOOK_URL: hook.url(TEAMS_PATH), ALERT_WEBHOOK_KIND: 'teams' }, { logger, now: new TestClock().now });
    await notifier.notify(notice({ kind: 'backfill-chunk-failed', title: 'backfill bf-1 of orders: chunk 3 failed', lookAt: 'GET /api/backfill/bf-1' }));

    expect(hook.requests).toHaveLength(1);
    const req = hook.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(TEAMS_PATH);
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(req.body)).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            msteams: { width: 'Full' },
            body: [
              { type: 'TextBlock', text: 'backfill bf-1 of orders: chunk 3 failed', size: 'Medium', weight: 'Bolder', color: 'Attention', wrap: true },
              {
                type: 'FactSet',
                facts: [
                  { title: 'Run', value: RUN },
                  { title: 'Table', value: 'orders' },
                  { title: 'Kind', value: 'backfill-chunk-failed' },
                  { title: 'Severity', value: 'error' },
                  { title: 'At', value: '2026-03-01T06:00:00.000Z' },
                ],
              },
              { type: 'TextBlock', text: 'Error', weight: 'Bolder', wrap: true },
              { type: 'TextBlock', text: REDACTED_DETAIL, fontType: 'Monospace', wrap: true },
              { type: 'TextBlock', text: 'Where to look', weight: 'Bolder', wrap: true },
              { type: 'TextBlock', text: 'GET /api/backfill/bf-1', wrap: true },
            ],
          },
        },
      ],
    });
    for (const secret of SECRETS) {
      expect(req.body).not.toContain(secret);
      expect(text()).not.toContain(secret);
    }
  });

  it('labels internal subjects as Subject and leaves out Where to look when there is none', async () => {
    const { logger } = captureLogger();
    const notifier = notifierFromEnv({ ALERT_WEBHOOK_URL: hook.url(TEAMS_PATH), ALERT_WEBHOOK_KIND: 'teams' }, { logger });
    await notifier.notify(notice({ kind: 'databricks-kick-failed', subject: '_databricks', title: 'Databricks job kick failed', detail: 'HTTP 403', lookAt: undefined }));
    const card = (JSON.parse(hook.requests[0]!.body) as { attachments: { content: { body: Record<string, unknown>[] } }[] }).attachments[0]!.content;
    expect(card.body).toHaveLength(4);
    expect((card.body[1] as { facts: { title: string }[] }).facts[1]).toEqual({ title: 'Subject', value: '_databricks' });
  });
});

describe('success summary', () => {
  const summary = (): Notice => ({
    kind: 'run-summary',
    severity: 'info',
    runId: RUN,
    subject: '_run',
    title: `run ${RUN}: 12 tables, 12 succeeded`,
    detail: '48210 rows in 14 files',
  });

  it('is logged but not sent unless ALERT_ON_SUCCESS is on', async () => {
    const { logger, text } = captureLogger();
    const notifier = notifierFromEnv({ ALERT_WEBHOOK_URL: hook.url(SLACK_PATH), ALERT_WEBHOOK_KIND: 'slack' }, { logger });
    const report = await notifier.report(summary());
    expect(report).toEqual({ sent: false, reason: 'summaries-off', outcomes: [] });
    expect(hook.requests).toHaveLength(0);
    expect(text()).toContain(`run-summary: run ${RUN}: 12 tables, 12 succeeded`);
  });

  it('is sent when ALERT_ON_SUCCESS=true', async () => {
    const { logger } = captureLogger();
    const notifier = notifierFromEnv({ ALERT_WEBHOOK_URL: hook.url(SLACK_PATH), ALERT_WEBHOOK_KIND: 'slack', ALERT_ON_SUCCESS: 'true' }, { logger, now: new TestClock().now });
    await notifier.notify(summary());
    expect(hook.requests).toHaveLength(1);
    const body = JSON.parse(hook.requests[0]!.body) as { text: string; blocks: { text?: { text: string } }[] };
    expect(body.text).toBe(`[soundlake] INFO: run ${RUN}: 12 tables, 12 succeeded (run ${RUN}, _run)`);
    expect(body.blocks[0]!.text!.text).toBe(`:white_check_mark: run ${RUN}: 12 tables, 12 succeeded`);
    expect(body.blocks[2]!.text!.text).toBe('*Detail*\n```48210 rows in 14 files```');
  });
});
