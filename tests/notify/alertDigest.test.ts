import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type SoundlakeApp } from '../../shared/app/soundlakeApp.js';
import { handleIngestMessage } from '../../shared/ingest/handleIngestMessage.js';
import { createLogger } from '../../shared/logging/logger.js';
import { notifierFromEnv, throttleTableName } from '../support/alertFixture.js';
import { captureLogger, HttpStandIn } from '../support/alertStandIns.js';
import { createHarness, testTable, type Harness } from '../support/harness.js';

/**
 * A source with a dozen tables goes down during a scheduled run: a person gets one alert at once
 * and one digest when the run ends that names every failed table, not twelve mails (the e-mail
 * domain sends 5 a minute; per-table alert keys lost the rest). Through the real notifier, the
 * real throttle on Azurite and a Slack webhook stand-in.
 */
const TABLES = Array.from({ length: 12 }, (_, i) => `orders_${String(i).padStart(2, '0')}`);
let h: Harness;
let hook: HttpStandIn;
let app: SoundlakeApp;

beforeAll(async () => {
  h = await createHarness();
  hook = await HttpStandIn.start(() => ({ status: 200, body: 'ok' }));
  const notifier = notifierFromEnv(
    { ALERT_WEBHOOK_URL: hook.url('/services/T0/B0/digest'), ALERT_WEBHOOK_KIND: 'slack', ALERT_THROTTLE_MINUTES: '60', ALERT_THROTTLE_TABLE: throttleTableName(), ALERT_RETRIES: '0' },
    { logger: captureLogger().logger },
  );
  // The tables were never created: every extraction fails the same way, as with a source that is gone.
  app = await createApp(h.settings, { logger: createLogger({ level: 'silent' }), notifier, config: { tables: TABLES.map((t) => testTable(h.schema, t)) } });
});
afterAll(async () => {
  await app?.close();
  await hook?.close();
  await h?.close();
});

const texts = (): string[] => hook.requests.map((r) => (JSON.parse(r.body) as { text: string; blocks: { text?: { text: string } }[] }).blocks.map((b) => b.text?.text ?? '').join('\n'));

describe('alerts when a source with a dozen tables fails', () => {
  it('sends the first failure at once and one digest at the end of the run naming every table', async () => {
    const runId = 'r-20261202T090000Z-d1g357';
    await app.ledger.completion.plan(runId, 'schedule', TABLES.length);
    const deps = { ...app.ingestDeps(), config: app.config, ingestQueue: app.ingestQueue };
    for (const table of TABLES) {
      await expect(handleIngestMessage(deps, { runId, table, trigger: 'schedule', continuation: 0 }, { budgetMs: 60_000 })).rejects.toThrow(/failed/);
    }
    expect(hook.requests).toHaveLength(2);
    const [first, digest] = texts();
    expect(first).toContain('ingestion of orders_00 failed');
    expect(digest).toContain(`run ${runId} (schedule): 12 tables, 0 rows, 12 failed`);
    expect(digest).toMatch(/12 failed: .*&lt;table&gt;.*\n\s+tables: orders_00, orders_01, orders_02, orders_03, orders_04, orders_05, orders_06, orders_07, orders_08, orders_09, orders_10, orders_11/);

    // The next run fails the same way: the failure alert is held (the source is known to be down),
    // and so is the digest; the next alert of each names the runs it held back.
    const next = 'r-20261202T091500Z-d1g358';
    await app.ledger.completion.plan(next, 'schedule', TABLES.length);
    for (const table of TABLES) await handleIngestMessage(deps, { runId: next, table, trigger: 'schedule', continuation: 0 }, { budgetMs: 60_000 }).catch(() => undefined);
    expect(hook.requests).toHaveLength(2);
    expect(await app.ledger.completion.tally(next)).toMatchObject({ planned: 12, done: 12, summarisedAt: expect.any(String) });
  });
});
