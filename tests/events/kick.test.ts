import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processVisibleKicks } from './kickPump.js';
import pLimit from 'p-limit';
import { createEventHarness, dataPath, type EventHarness, JOB_ID, sampleEvent } from './eventSupport.js';

/** Kicks in the run ledger, and failed kicks as notices. */
async function burst(h: EventHarness, table: string, seq: number, n: number): Promise<string> {
  let windowId = '';
  for (let i = 0; i < n; i++) {
    const r = await h.deps.onBlobCreated(sampleEvent('blob-created.eventgrid', { container: h.container, path: dataPath(table, seq, i), id: randomUUID() }));
    windowId = r.accepted[0]!.windowId;
  }
  return windowId;
}

describe('the kick: ledger and failures', () => {
  let h: EventHarness;
  beforeAll(async () => {
    h = await createEventHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a failed kick is recorded, notified, and thrown so the host retries; the retry succeeds', async () => {
    const windowId = await burst(h, 'dim_users', 1, 2);
    h.standIn.script({ method: 'POST', path: '/api/2.2/jobs/run-now' }, { status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message: `Job ${JOB_ID} does not exist.` } });
    await h.windowClosed(windowId);
    const { outcomes, failures } = await processVisibleKicks(h.deps, { visibilityTimeoutSeconds: 60 });
    expect(outcomes).toEqual([]);
    expect(failures.map((f) => f.message)).toEqual([
      `kick window ${windowId}: starting Databricks for 2 files in dim_users failed: Databricks POST /api/2.2/jobs/run-now: 400 INVALID_PARAMETER_VALUE: Job ${JOB_ID} does not exist.`,
    ]);
    expect(h.notifier.notices).toEqual([
      {
        kind: 'databricks-kick-failed',
        severity: 'error',
        runId: windowId,
        subject: '_databricks',
        title: `Databricks kick for window ${windowId} failed`,
        detail: `starting Databricks for 2 files in dim_users failed: Databricks POST /api/2.2/jobs/run-now: 400 INVALID_PARAMETER_VALUE: Job ${JOB_ID} does not exist.\nThe window's files stay in bronze; a retry of this message, or the next window's run, picks them up.`,
        lookAt: `run ledger: subject _databricks, run ${windowId}; logs filtered on runId=${windowId}`,
        key: `databricks-kick:kick:${windowId}`,
      },
    ]);
    let ledger = await h.ledger.ofRun(windowId);
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({ subject: '_databricks', activity: 'kick', status: 'failed', files: 2, error: `Databricks POST /api/2.2/jobs/run-now: 400 INVALID_PARAMETER_VALUE: Job ${JOB_ID} does not exist.` });
    expect((await h.deps.store.window(windowId))?.status).toBe('closing');

    // The host delivers the message again (here: at once, instead of after the visibility timeout).
    const retry = await h.deps.onKickMessage({ windowId, step: 'kick' });
    expect(retry).toMatchObject({ status: 'kicked', windowId, files: 2, tables: ['dim_users'] });
    const runId = (retry as { runId: number }).runId;
    ledger = await h.ledger.ofRun(windowId);
    expect(ledger.map((e) => e.status).sort()).toEqual(['failed', 'succeeded']);
    expect(ledger.find((e) => e.status === 'succeeded')!.detail).toMatch(new RegExp(`^medallion job ${JOB_ID} run ${runId}; `));
    expect(h.notifier.notices).toHaveLength(1);
  });

  it('5xx beyond the retries: the same, with the retry count in the error', async () => {
    h.notifier.notices.length = 0;
    const windowId = await burst(h, 'dim_artists', 1, 1);
    const down = { status: 503, body: { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'The service is temporarily unavailable.' } };
    h.standIn.script({ path: '/api/2.2/jobs/run-now' }, down, down, down);
    await h.windowClosed(windowId);
    await expect(h.deps.onKickMessage({ windowId, step: 'kick' })).rejects.toThrow(
      `kick window ${windowId}: starting Databricks for 1 file in dim_artists failed: Databricks POST /api/2.2/jobs/run-now: 503 TEMPORARILY_UNAVAILABLE: The service is temporarily unavailable. (after 3 attempts)`,
    );
    expect(h.notifier.notices.map((n) => [n.kind, n.runId])).toEqual([['databricks-kick-failed', windowId]]);
    await h.drain().catch(() => undefined);
  });

  it('a window of 2,000 tables starts one run and records it: its row names the first tables and counts them all', async () => {
    h.notifier.notices.length = 0;
    const windowId = await burst(h, 'a_table_with_a_long_descriptive_name_0000', 1, 1);
    // The rest of the burst joins the same window (each file of its own table), as 1,999 events would.
    const limit = pLimit(16);
    await Promise.all(
      Array.from({ length: 1999 }, (_, i) => {
        const table = `a_table_with_a_long_descriptive_name_${String(i + 1).padStart(4, '0')}`;
        return limit(() => h.deps.store.addMember(windowId, { eventId: randomUUID(), eventTime: new Date().toISOString(), path: dataPath(table, 1), table }));
      }),
    );
    await h.windowClosed(windowId);
    const [outcome] = await h.drain();
    expect(outcome).toMatchObject({ status: 'kicked', windowId, files: 2000 });
    expect((outcome as { tables: string[] }).tables).toHaveLength(2000);
    const window = await h.deps.store.window(windowId);
    expect(window).toMatchObject({ status: 'kicked', files: 2000, tableCount: 2000 });
    expect(window!.tables).toHaveLength(50);
    const [entry] = await h.ledger.ofRun(windowId);
    expect(entry).toMatchObject({ status: 'succeeded', files: 2000 });
    expect(entry!.detail).toMatch(/; 2000 files; tables a_table_with_a_long_descriptive_name_0000,.*,a_table_with_a_long_descriptive_name_0049,\.\.\.\(\+1950 more\)$/);
    expect(h.notifier.notices).toEqual([]);
    expect(h.standIn.runs.filter((r) => r.idempotencyToken?.endsWith(windowId))).toHaveLength(1);
  });
});
