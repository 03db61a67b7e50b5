import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processVisibleKicks } from './kickPump.js';
import { idempotencyToken } from '../../shared/events/kicker.js';
import { createEventHarness, dataPath, type EventHarness, JOB_ID, sampleEvent } from './eventSupport.js';

/** Kicks in the run ledger, failed kicks as notices, and mode job-then-pipeline (silver job, then the gold pipeline). */
async function burst(h: EventHarness, table: string, seq: number, n: number): Promise<string> {
  let windowId = '';
  for (let i = 0; i < n; i++) {
    const r = await h.deps.onBlobCreated(sampleEvent('blob-created.eventgrid', { container: h.container, path: dataPath(table, seq, i), id: randomUUID() }));
    windowId = r.accepted[0]!.windowId;
  }
  return windowId;
}
const closed = (): Promise<void> => new Promise((r) => setTimeout(r, 2_100));

describe('mode job: ledger and failures', () => {
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
    await closed();
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
    await closed();
    await expect(h.deps.onKickMessage({ windowId, step: 'kick' })).rejects.toThrow(
      `kick window ${windowId}: starting Databricks for 1 file in dim_artists failed: Databricks POST /api/2.2/jobs/run-now: 503 TEMPORARILY_UNAVAILABLE: The service is temporarily unavailable. (after 3 attempts)`,
    );
    expect(h.notifier.notices.map((n) => [n.kind, n.runId])).toEqual([['databricks-kick-failed', windowId]]);
    await h.drain().catch(() => undefined);
  });
});

describe('mode job-then-pipeline', () => {
  let h: EventHarness;
  const SILVER = 77;
  const PIPELINE = 'a12cd3e4-0ab1-1abc-1a2b-1a2bcd3e4fg5';
  beforeAll(async () => {
    h = await createEventHarness({
      env: { DATABRICKS_KICK_MODE: 'job-then-pipeline', DATABRICKS_JOB_ID: '', DATABRICKS_SILVER_JOB_ID: String(SILVER), DATABRICKS_PIPELINE_ID: PIPELINE, KICK_POLL_SECONDS: '5', KICK_MAX_POLLS: '3' },
      standIn: { jobs: [SILVER], pipelines: [PIPELINE] },
    });
    h.standIn.holdRuns = true;
  });
  afterAll(async () => {
    await h?.close();
  });
  const pipelinePosts = () => h.standIn.requests.filter((r) => r.method === 'POST' && r.path === `/api/2.0/pipelines/${PIPELINE}/updates`);

  it('starts the silver job, waits for it, then starts one gold pipeline update', async () => {
    const windowId = await burst(h, 'fact_streams', 1, 3);
    await closed();
    const kick = await h.firstKick((o) => o.status === 'silver-started');
    expect(kick).toMatchObject({ status: 'silver-started', windowId, files: 3 });
    const silverRunId = (kick as { runId: number }).runId;
    expect(h.standIn.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/2.2/jobs/run-now', body: { job_id: SILVER, idempotency_token: idempotencyToken(SILVER, windowId) } });

    // The gold message polls the silver run (called here directly; in the queue it waits KICK_POLL_SECONDS).
    expect(await h.deps.onKickMessage({ windowId, step: 'gold', poll: 0 })).toEqual({ status: 'waiting-for-silver', windowId, runId: silverRunId, poll: 1 });
    expect(h.standIn.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/2.2/jobs/runs/get', query: { run_id: String(silverRunId) } });
    expect(pipelinePosts()).toHaveLength(0);

    h.standIn.finishRun(silverRunId, 'SUCCESS');
    // Two deliveries at once (the re-queued poll and a duplicate): one update.
    const both = await Promise.all([h.deps.onKickMessage({ windowId, step: 'gold', poll: 1 }), (await h.another()).onKickMessage({ windowId, step: 'gold', poll: 1 })]);
    const started = both.filter((o) => o.status === 'gold-started');
    expect(started).toHaveLength(1);
    expect(both.filter((o) => o.status !== 'gold-started').every((o) => o.status === 'claimed-elsewhere' || o.status === 'already-kicked')).toBe(true);
    expect(pipelinePosts()).toHaveLength(1);
    expect(pipelinePosts()[0]!.body).toEqual({ full_refresh: false });
    const updateId = (started[0] as { updateId: string }).updateId;
    expect(h.standIn.updates.map((u) => u.updateId)).toEqual([updateId]);

    expect(await h.deps.onKickMessage({ windowId, step: 'gold', poll: 2 })).toEqual({ status: 'already-kicked', windowId, updateId });
    expect(pipelinePosts()).toHaveLength(1);
    expect(await h.deps.store.window(windowId)).toMatchObject({ status: 'kicked', silverRunId, pipelineUpdateId: updateId, files: 3, tables: ['fact_streams'] });
    const ledger = await h.ledger.ofRun(windowId);
    expect(ledger.map((e) => [e.activity, e.status]).sort()).toEqual([
      ['gold', 'succeeded'],
      ['kick', 'succeeded'],
    ]);
    expect(ledger.find((e) => e.activity === 'gold')!.detail).toBe(`pipeline ${PIPELINE} update ${updateId} after silver run ${silverRunId}; window ${ledger[0]!.low}..${ledger[0]!.high}`);
  });

  it('a failed silver run starts no gold update and is notified; a run that never ends is given up', async () => {
    const windowId = await burst(h, 'dim_users', 2, 1);
    await closed();
    const kick = await h.firstKick((o) => o.status === 'silver-started');
    const silverRunId = (kick as { runId: number }).runId;
    h.standIn.finishRun(silverRunId, 'FAILED', 'Task ingest failed');
    expect(await h.deps.onKickMessage({ windowId, step: 'gold', poll: 0 })).toEqual({ status: 'silver-failed', windowId, runId: silverRunId });
    expect(h.notifier.notices.at(-1)).toMatchObject({ kind: 'databricks-kick-failed', runId: windowId, detail: expect.stringContaining(`silver run ${silverRunId} ended FAILED: Task ingest failed; gold pipeline ${PIPELINE} not started`) });
    expect(await h.deps.onKickMessage({ windowId, step: 'gold', poll: 1 })).toEqual({ status: 'silver-failed', windowId, runId: silverRunId });

    const stuck = await burst(h, 'dim_albums', 1, 1);
    await closed();
    const k2 = await h.firstKick((o) => o.status === 'silver-started' && o.windowId === stuck);
    expect(await h.deps.onKickMessage({ windowId: stuck, step: 'gold', poll: 2 })).toEqual({ status: 'gave-up', windowId: stuck, runId: (k2 as { runId: number }).runId });
    expect(h.notifier.notices.at(-1)!.detail).toMatch(/still RUNNING after 3 polls/);
    expect(pipelinePosts()).toHaveLength(1);
  });
});
