import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { databricksKickPoison } from '../../functions/databricks-kick-poison.js';
import { queueClient } from '../../shared/azure/storageClients.js';
import { setEventDeps } from '../../shared/events/eventDepsSingleton.js';
import { idempotencyToken } from '../../shared/events/kicker.js';
import { notifierFromEnv } from '../support/alertFixture.js';
import { captureLogger, HttpStandIn } from '../support/alertStandIns.js';
import { createEventHarness, dataPath, type EventHarness, JOB_ID, sampleEvent } from './eventSupport.js';
import { waitFor } from '../support/waitFor.js';
import { processVisibleKicks } from './kickPump.js';

/**
 * Kicks that Databricks refuses: every given-up window is alerted and its files verifiably reach
 * a later run; a 429 with a long Retry-After re-schedules the kick instead of burning the host's
 * deliveries. Against the Databricks stand-in, Azurite, and (for alerts) a webhook behind the
 * real throttle.
 */
const RUN_NOW = { method: 'POST', path: '/api/2.2/jobs/run-now' };
const refused = { status: 400, body: { error_code: 'INVALID_STATE', message: 'The workspace is being upgraded.' } };
const tooMany = (seconds: number) => ({ status: 429, headers: { 'retry-after': String(seconds) }, body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'Too many requests.' } });
const poisonContext = (): InvocationContext =>
  new InvocationContext({ functionName: 'databricks-kick-poison', invocationId: randomUUID(), logHandler: () => undefined, triggerMetadata: { dequeueCount: 1 } });

/** A burst of `n` bronze files of one table: the window it opened. */
async function burst(h: EventHarness, table: string, seq: number, n: number): Promise<string> {
  const ids = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await h.deps.onBlobCreated(sampleEvent('blob-created.eventgrid', { container: h.container, path: dataPath(table, seq, i), id: randomUUID() }));
    ids.add(r.accepted[0]!.windowId);
  }
  expect(ids.size).toBe(1);
  return [...ids][0]!;
}

describe('a window the host gives up on', () => {
  const MAX = 3;
  let h: EventHarness;
  let hook: HttpStandIn;

  beforeAll(async () => {
    hook = await HttpStandIn.start(() => ({ status: 200, body: 'ok' }));
    // The app's own notifier: Slack webhook behind the Table Storage throttle (60 minutes).
    const alerts = notifierFromEnv({ ALERT_WEBHOOK_URL: hook.url('/hooks/kicks'), ALERT_WEBHOOK_KIND: 'slack', ALERT_RETRIES: '0' }, { logger: captureLogger().logger });
    h = await createEventHarness({ env: { AzureFunctionsJobHost__extensions__queues__maxDequeueCount: String(MAX) }, notifyThrough: alerts });
    setEventDeps(h.deps);
  });
  afterAll(async () => {
    setEventDeps(undefined);
    await h?.close();
    await hook?.close();
  });

  /** The host: deliver the window's kick message MAX times, each failing, then move it to the poison queue. */
  async function giveUp(windowId: string): Promise<void> {
    let failures = 0;
    await waitFor(
      `the kick of ${windowId} to fail ${MAX} times`,
      async () => {
        const r = await processVisibleKicks(h.deps, { maxDequeueCount: MAX, visibilityTimeoutSeconds: 1 });
        expect(r.outcomes).toEqual([]);
        failures += r.failures.length;
        return failures >= MAX;
      },
      30_000,
    );
    await databricksKickPoison({ windowId, step: 'kick' }, poisonContext());
  }
  const alertTexts = (): string[] => hook.to('/hooks/kicks').map((r) => (JSON.parse(r.body) as { text: string }).text);

  it('alerts every given-up window, and the next run records that it takes their files', async () => {
    const w1 = await burst(h, 'dim_users', 1, 2);
    h.standIn.script(RUN_NOW, refused, refused, refused);
    await giveUp(w1);
    const w2 = await burst(h, 'dim_artists', 1, 1);
    h.standIn.script(RUN_NOW, refused, refused, refused);
    await giveUp(w2);

    // Each window: one failure alert (its three attempts share a throttle key) and one give-up alert.
    const texts = alertTexts();
    for (const [w, files] of [
      [w1, 2],
      [w2, 1],
    ] as const) {
      expect(texts.filter((t) => t.startsWith(`[soundlake] ERROR: Databricks kick for window ${w} failed (`))).toHaveLength(1);
      expect(texts.filter((t) => t.startsWith(`[soundlake] ERROR: Databricks start for window ${w} failed 3 times and was given up (`))).toHaveLength(1);
      expect(await h.deps.store.window(w)).toMatchObject({ status: 'given-up', files });
    }
    expect(texts).toHaveLength(4);
    expect(h.standIn.runs).toHaveLength(0);

    // Databricks is back: the next burst's run starts, after every file of w1 and w2 landed.
    const w3 = await burst(h, 'dim_tracks', 1, 1);
    const kicked = await h.firstKick((o) => o.status === 'kicked' && o.windowId === w3);
    const runId = (kicked as { runId: number }).runId;
    expect(h.standIn.runs.map((r) => [r.runId, r.idempotencyToken])).toEqual([[runId, idempotencyToken(JOB_ID, w3)]]);
    expect(await h.deps.store.window(w1)).toMatchObject({ status: 'carried', carriedBy: w3, databricksRunId: runId, files: 2 });
    expect(await h.deps.store.window(w2)).toMatchObject({ status: 'carried', carriedBy: w3, databricksRunId: runId, files: 1 });
    const [own] = (await h.ledger.ofRun(w3)).filter((e) => e.activity === 'kick');
    expect(own).toMatchObject({ status: 'succeeded', files: 1 });
    expect(own!.detail).toMatch(new RegExp(`; also takes the files of given-up windows ${w1} \\(2 files\\), ${w2} \\(1 file\\)$`));
    for (const w of [w1, w2]) {
      const carried = (await h.ledger.ofRun(w)).filter((e) => e.activity === 'carried');
      expect(carried).toMatchObject([{ status: 'succeeded', detail: `the kick was given up; medallion job ${JOB_ID} run ${runId} of window ${w3}, started after these files landed, takes them` }]);
    }
    // A stray kick message of a carried window starts nothing new.
    expect(await h.deps.onKickMessage({ windowId: w1, step: 'kick' })).toEqual({ status: 'already-kicked', windowId: w1, runId });
    expect(h.standIn.runs).toHaveLength(1);
  });

  it('a window given up after a later run started is carried by that run at once', async () => {
    const w4 = await burst(h, 'dim_albums', 2, 1);
    await h.takeKickMessage(w4);
    const w5 = await burst(h, 'dim_albums', 3, 1);
    const kicked = await h.firstKick((o) => o.status === 'kicked' && o.windowId === w5);
    const runId = (kicked as { runId: number }).runId;
    await databricksKickPoison({ windowId: w4, step: 'kick' }, poisonContext());
    expect(await h.deps.store.window(w4)).toMatchObject({ status: 'carried', carriedBy: w5, databricksRunId: runId });
    expect(alertTexts().filter((t) => t.includes(w4))).toHaveLength(1);
    expect(h.notifier.notices.find((n) => n.kind === 'poison-message' && n.runId === w4)!.detail).toBe(
      `The window's 1 file in dim_albums was taken by Databricks run ${runId} of window ${w5}, which started after it landed.`,
    );
  });
});

describe('429 with Retry-After', () => {
  let h: EventHarness;
  beforeAll(async () => {
    h = await createEventHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('600 s: the kick message is sent again to arrive in 600 s; nothing fails, nothing is alerted', async () => {
    const w = await burst(h, 'fact_streams', 1, 2);
    h.standIn.script(RUN_NOW, tooMany(600));
    const deferred = await h.firstKick((o) => o.windowId === w);
    expect(deferred).toEqual({ status: 'deferred', windowId: w, retryAfterSeconds: 600, deferrals: 1 });
    // One request: no retries burnt inside the invocation, none by the host.
    expect(h.standIn.requests.filter((r) => r.path === RUN_NOW.path).map((r) => r.status)).toEqual([429]);
    expect(h.notifier.notices).toEqual([]);
    expect(await h.deps.store.window(w)).toMatchObject({ status: 'closing' });
    expect(await h.ledger.ofRun(w)).toMatchObject([
      { activity: 'kick', status: 'skipped', files: 2, detail: 'Databricks answered 429 with Retry-After 600 s: the kick message comes back in 600 s (deferral 1 of at most 10)' },
    ]);
    // The re-sent message waits, invisible, in the kick queue.
    const queue = queueClient({ connectionString: inject('storageConnectionString') }, h.deps.settings.kickQueue);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(1);
    expect(await h.drain()).toEqual([]);
    await queue.clearMessages();
  });
});

describe('429 with Retry-After, bounded by KICK_MAX_RETRY_AFTER_SECONDS and KICK_MAX_DEFERRALS', () => {
  let h: EventHarness;
  beforeAll(async () => {
    h = await createEventHarness({ env: { KICK_MAX_RETRY_AFTER_SECONDS: '1', KICK_MAX_DEFERRALS: '1' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a deferred kick starts the run when it comes back', async () => {
    const w = await burst(h, 'dim_users', 7, 1);
    h.standIn.script(RUN_NOW, tooMany(600));
    const outcomes = await h.kicks((o) => o.windowId === w && o.status === 'kicked');
    expect(outcomes.filter((o) => o.windowId === w).map((o) => o.status)).toEqual(['deferred', 'kicked']);
    expect(outcomes.find((o) => o.status === 'deferred')).toMatchObject({ retryAfterSeconds: 1, deferrals: 1 });
    expect(h.standIn.runs.map((r) => r.idempotencyToken)).toEqual([idempotencyToken(JOB_ID, w)]);
    expect(h.notifier.notices).toEqual([]);
    expect((await h.ledger.ofRun(w)).map((e) => e.status).sort()).toEqual(['skipped', 'succeeded']);
  });

  it('past the most deferrals, the kick fails and alerts like any other failure', async () => {
    const w = await burst(h, 'dim_users', 8, 1);
    h.standIn.script(RUN_NOW, tooMany(600), tooMany(600));
    const seen: string[] = [];
    const failure = await waitFor(
      'the kick to fail',
      async () => {
        const r = await processVisibleKicks(h.deps, { visibilityTimeoutSeconds: 30 });
        seen.push(...r.outcomes.map((o) => o.status));
        return r.failures[0];
      },
      20_000,
    );
    expect(seen).toEqual(['deferred']);
    expect(failure.message).toBe(
      `kick window ${w}: starting Databricks for 1 file in dim_users (after 1 deferral for 429) failed: Databricks POST /api/2.2/jobs/run-now: 429 REQUEST_LIMIT_EXCEEDED: Too many requests. (Retry-After 600 s is too long to wait)`,
    );
    expect(h.notifier.notices.map((n) => [n.kind, n.runId, n.key])).toEqual([['databricks-kick-failed', w, `databricks-kick:kick:${w}`]]);
  });
});
