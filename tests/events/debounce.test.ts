import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcceptedFile, EventDeps } from '../../shared/events/eventDeps.js';
import { idempotencyToken } from '../../shared/events/kicker.js';
import { createEventHarness, dataPath, type EventHarness, JOB_ID, PAT, sampleEvent } from './eventSupport.js';

/**
 * Bursts of BlobCreated events -> debounce windows in real Azurite (Table Storage + a delayed
 * queue message) -> run-now on the Databricks stand-in (a real HTTP server). The window is 2 s;
 * kick messages are handled as the Functions host would, when they become visible.
 */
let h: EventHarness;
let second: EventDeps;

beforeAll(async () => {
  h = await createEventHarness();
  second = await h.another();
});
afterAll(async () => {
  await h?.close();
});

/** Deterministic shuffle (mulberry32). */
function shuffle<T>(items: T[], seed: number): T[] {
  let s = seed;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const runNows = () => h.standIn.requests.filter((r) => r.method === 'POST' && r.path === '/api/2.2/jobs/run-now');

/** Deliver events with `concurrency` in flight, alternating between two Function instances. */
async function deliver(events: Record<string, unknown>[], concurrency = 10): Promise<AcceptedFile[]> {
  const limit = pLimit(concurrency);
  const results = await Promise.all(events.map((e, i) => limit(() => (i % 2 ? second : h.deps).onBlobCreated(e))));
  return results.flatMap((r) => r.accepted);
}

const TABLES = ['dim_users', 'dim_tracks', 'fact_streams'];
let firstBurst: Record<string, unknown>[] = [];
let firstWindow = '';
let firstRunId = 0;

describe('debounce', () => {
  it('100 events of one burst, duplicated and out of order, start exactly one run', async () => {
    const t0 = Date.parse('2026-11-25T08:47:00Z');
    // 75 data files, half in each schema, event times spread over the burst.
    firstBurst = Array.from({ length: 75 }, (_, i) =>
      sampleEvent(i % 2 ? 'blob-created.eventgrid' : 'blob-created.cloudevents', {
        container: h.container,
        path: dataPath(TABLES[i % 3]!, 1, i),
        id: randomUUID(),
        time: new Date(t0 + i * 20).toISOString(),
      }),
    );
    // 20 redeliveries (same event, same id) and 5 events that must not count.
    const duplicates = Array.from({ length: 20 }, (_, i) => structuredClone(firstBurst[(i * 7) % 75]!));
    const noise = [
      sampleEvent('blob-created.eventgrid', { container: h.container, path: '_manifests/dim_users/s0000000001.json', api: 'PutBlob', id: randomUUID() }),
      sampleEvent('blob-created.cloudevents', { container: h.container, path: '_manifests/fact_streams/s0000000001.json', api: 'PutBlob', id: randomUUID() }),
      sampleEvent('adls-blob-created.eventgrid', { container: h.container, path: dataPath('dim_users', 1, 0), id: randomUUID() }),
      sampleEvent('blob-created.eventgrid', { container: 'elsewhere', path: dataPath('dim_users', 1, 0), id: randomUUID() }),
      sampleEvent('blob-created.cloudevents', { container: h.container, path: 'dim_users/_temporary/p.parquet', id: randomUUID() }),
    ];
    const all = shuffle([...firstBurst, ...duplicates, ...noise], 42);
    expect(all).toHaveLength(100);

    h.freeze(true);
    const accepted = await deliver(all);
    h.freeze(false);
    expect(accepted).toHaveLength(95);
    expect(new Set(accepted.map((a) => a.windowId)).size).toBe(1);
    expect(accepted.filter((a) => a.outcome === 'opened')).toHaveLength(1);
    expect(new Set(accepted.map((a) => a.path)).size).toBe(75);
    firstWindow = accepted[0]!.windowId;
    const members = await h.deps.store.members(firstWindow);
    expect(members).toHaveLength(75);
    expect(runNows()).toHaveLength(0);

    const outcomes = await h.kicks((o) => o.status === 'kicked');
    const kicked = outcomes.find((o) => o.status === 'kicked')!;
    expect(kicked).toMatchObject({ windowId: firstWindow, files: 75, tables: ['dim_tracks', 'dim_users', 'fact_streams'] });
    // Windows opened by instances that lost the race to the pointer have no files and start nothing.
    expect(outcomes.filter((o) => o.status !== 'kicked').every((o) => o.status === 'empty')).toBe(true);

    expect(runNows()).toHaveLength(1);
    const [req] = runNows();
    expect(req!.body).toEqual({ job_id: JOB_ID, idempotency_token: idempotencyToken(JOB_ID, firstWindow) });
    expect(idempotencyToken(JOB_ID, firstWindow)).toBe(`soundlake-4242-${firstWindow}`);
    expect(req!.headers.authorization).toBe(`Bearer ${PAT}`);
    expect(h.standIn.runs).toHaveLength(1);
    firstRunId = h.standIn.runs[0]!.runId;
    expect(kicked).toMatchObject({ runId: firstRunId });

    const window = await h.deps.store.window(firstWindow);
    expect(window).toMatchObject({ status: 'kicked', databricksRunId: firstRunId, files: 75, tables: ['dim_tracks', 'dim_users', 'fact_streams'] });
    expect(Date.parse(window!.closesAt) - Date.parse(window!.opensAt)).toBe(2000);
    const ledger = await h.ledger.recent('_databricks');
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({ runId: firstWindow, subject: '_databricks', activity: 'kick', trigger: 'blob-created', status: 'succeeded', files: 75, low: window!.opensAt, high: window!.closesAt });
    expect(ledger[0]!.detail).toBe(`medallion job ${JOB_ID} run ${firstRunId}; window ${window!.opensAt}..${window!.closesAt}; 75 files; tables dim_tracks,dim_users,fact_streams`);
  });

  it('a later burst starts a second run; late redeliveries of the first burst start nothing', async () => {
    const later = Array.from({ length: 10 }, (_, i) => sampleEvent('blob-created.eventgrid', { container: h.container, path: dataPath('dim_users', 2, i), id: randomUUID() }));
    const redelivered = firstBurst.slice(0, 5).map((e) => structuredClone(e));
    h.freeze(true);
    const accepted = await deliver(shuffle([...later, ...redelivered], 7), 4);
    h.freeze(false);
    expect(accepted.filter((a) => a.outcome === 'duplicate').map((a) => a.windowId)).toEqual([firstWindow, firstWindow, firstWindow, firstWindow, firstWindow]);
    const secondWindow = accepted.find((a) => a.outcome !== 'duplicate')!.windowId;
    expect(secondWindow).not.toBe(firstWindow);
    expect(accepted.filter((a) => a.windowId === secondWindow)).toHaveLength(10);

    const outcomes = await h.kicks((o) => o.status === 'kicked');
    expect(outcomes.find((o) => o.status === 'kicked')).toMatchObject({ windowId: secondWindow, files: 10, tables: ['dim_users'] });
    expect(runNows().map((r) => (r.body as { idempotency_token: string }).idempotency_token)).toEqual([idempotencyToken(JOB_ID, firstWindow), idempotencyToken(JOB_ID, secondWindow)]);
    expect(h.standIn.runs).toHaveLength(2);

    // Nothing is left to start: more redeliveries are duplicates (they open no window), and once
    // every kick message, visible or still delayed, has been handled, there are still two runs.
    const late = await deliver(firstBurst.slice(10, 20).map((e) => structuredClone(e)));
    expect(late.map((a) => [a.outcome, a.windowId])).toEqual(Array.from({ length: 10 }, () => ['duplicate', firstWindow]));
    const rest = await h.settle();
    expect(rest.filter((o) => o.status === 'kicked')).toEqual([]);
    expect(runNows()).toHaveLength(2);
  });

  it('a duplicate kick message starts no second run', async () => {
    // Delivered again after the run was recorded: answered from the window, Databricks not called.
    const before = runNows().length;
    expect(await h.deps.onKickMessage({ windowId: firstWindow, step: 'kick' })).toEqual({ status: 'already-kicked', windowId: firstWindow, runId: firstRunId });
    expect(runNows()).toHaveLength(before);

    // Two deliveries of one kick at the same time, on two instances: one run (same token).
    const files = Array.from({ length: 3 }, (_, i) => sampleEvent('blob-created.cloudevents', { container: h.container, path: dataPath('fact_streams', 3, i), id: randomUUID() }));
    const windowId = (await deliver(files))[0]!.windowId;
    await h.windowClosed(windowId);
    const both = await Promise.all([h.deps.onKickMessage({ windowId, step: 'kick' }), second.onKickMessage({ windowId, step: 'kick' })]);
    const runIds = both.map((o) => ('runId' in o ? o.runId : undefined));
    expect(runIds[0]).toBeDefined();
    expect(runIds[1]).toBe(runIds[0]);
    const forWindow = runNows().filter((r) => (r.body as { idempotency_token: string }).idempotency_token === idempotencyToken(JOB_ID, windowId));
    expect(forWindow.length).toBeGreaterThanOrEqual(1);
    expect(runNows()).toHaveLength(before + forWindow.length);
    expect(h.standIn.runs.filter((r) => r.idempotencyToken === idempotencyToken(JOB_ID, windowId))).toHaveLength(1);
    await h.drain();
  });

  it('a kick repeated after a crash between run-now and recording it gets the same run (idempotency token)', async () => {
    const files = Array.from({ length: 2 }, (_, i) => sampleEvent('blob-created.eventgrid', { container: h.container, path: dataPath('dim_tracks', 4, i), id: randomUUID() }));
    const windowId = (await deliver(files))[0]!.windowId;
    await h.windowClosed(windowId);
    // The earlier invocation reached Databricks and died before writing the window.
    const crashed = await h.deps.databricks.runNow({ jobId: JOB_ID, idempotencyToken: idempotencyToken(JOB_ID, windowId) });
    const runsBefore = h.standIn.runs.length;
    const outcome = await h.deps.onKickMessage({ windowId: windowId, step: 'kick' });
    expect(outcome).toMatchObject({ status: 'kicked', runId: crashed.runId, files: 2 });
    expect(h.standIn.runs).toHaveLength(runsBefore);
    const tokens = runNows().slice(-2).map((r) => (r.body as { idempotency_token: string }).idempotency_token);
    expect(tokens).toEqual([idempotencyToken(JOB_ID, windowId), idempotencyToken(JOB_ID, windowId)]);
  });

  it('old kick state leaves the table after a kick; state within retention stays', async () => {
    const store = h.deps.store;
    const old = 'w-20250101T000000Z-0a0a0a';
    await store.createWindow({ id: old, opensAt: '2025-01-01T00:00:00.000Z', closesAt: '2025-01-01T00:00:02.000Z' });
    const oldFile = { eventId: randomUUID(), eventTime: '2025-01-01T00:00:01.000Z', path: dataPath('dim_users', 1, 99), table: 'dim_users' };
    await store.addMember(old, oldFile);
    await store.markSeen(oldFile, old);

    // Housekeeping rides on a kick, as in production (KICK_RETENTION_DAYS, 14 by default).
    const files = [sampleEvent('blob-created.eventgrid', { container: h.container, path: dataPath('dim_artists', 6, 0), id: randomUUID() })];
    const windowId = (await deliver(files))[0]!.windowId;
    await h.windowClosed(windowId);
    expect(await h.deps.onKickMessage({ windowId, step: 'kick' })).toMatchObject({ status: 'kicked', windowId });

    expect(await store.window(old)).toBeNull();
    expect(await store.members(old)).toEqual([]);
    expect(await store.seen(oldFile.eventId, oldFile.eventTime)).toBeNull();
    expect(await store.window(firstWindow)).toMatchObject({ status: 'kicked', files: 75 });
    expect(await store.members(firstWindow)).toHaveLength(75);
    // Redeliveries of the first burst are still recognised.
    expect((await deliver(firstBurst.slice(0, 3).map((e) => structuredClone(e)))).map((a) => [a.outcome, a.windowId])).toEqual([
      ['duplicate', firstWindow],
      ['duplicate', firstWindow],
      ['duplicate', firstWindow],
    ]);
    await h.drain();
  });

  it('a purge keeps the window the pointer names, however old', async () => {
    const store = h.deps.store;
    const pointer = (await store.pointer())!;
    const removed = await store.purge(new Date(Date.now() + 86_400_000));
    expect(removed.windows).toBeGreaterThanOrEqual(4);
    expect(removed.events).toBeGreaterThanOrEqual(75);
    expect(await store.window(firstWindow)).toBeNull();
    expect(await store.window(pointer.windowId)).toMatchObject({ id: pointer.windowId });
    expect(await store.members(pointer.windowId)).toHaveLength(1);
    expect(await store.purge(new Date(Date.now() + 86_400_000))).toEqual({ events: 0, windows: 0, members: 0 });
  });

  it('a kick message for a window that no longer exists, or a malformed one, is handled plainly', async () => {
    expect(await h.deps.onKickMessage({ windowId: 'w-20200101T000000Z-000000', step: 'kick' })).toEqual({ status: 'no-window', windowId: 'w-20200101T000000Z-000000' });
    await expect(h.deps.onKickMessage({ windowId: 'nope', step: 'kick' })).rejects.toThrow(/^kick message invalid: windowId: must be a window id/);
    await expect(h.deps.onKickMessage('{')).rejects.toThrow('kick message is not JSON');
  });

  it('a load that keeps writing across windows starts exactly one run per window, and every file is in one', async () => {
    const tokensBefore = new Set(runNows().map((r) => (r.body as { idempotency_token: string }).idempotency_token));
    const files: string[] = [];
    const windows: string[] = [];
    let part = 0;
    const write = async (n: number): Promise<string> => {
      let windowId = '';
      for (let i = 0; i < n; i++) {
        const path = dataPath('fact_streams', 9, part++);
        files.push(path);
        const [accepted] = (await h.deps.onBlobCreated(sampleEvent('blob-created.eventgrid', { container: h.container, path, id: randomUUID() }))).accepted;
        windowId = accepted!.windowId;
        if (!windows.includes(windowId)) windows.push(windowId);
      }
      return windowId;
    };
    // Four windows' worth of a long load: files go on landing after a window closed and before
    // its kick ran, and while the previous window's run is being started.
    let current = await write(5);
    for (let w = 0; w < 3; w++) {
      await h.windowClosed(current);
      const next = await write(3);
      expect(next).not.toBe(current);
      await h.drain();
      current = next;
    }
    await h.settle();

    const started = runNows().map((r) => (r.body as { idempotency_token: string }).idempotency_token).filter((t) => !tokensBefore.has(t));
    expect(windows).toHaveLength(4);
    expect(started.sort()).toEqual(windows.map((w) => idempotencyToken(JOB_ID, w)).sort());
    const members = (await Promise.all(windows.map((w) => h.deps.store.members(w)))).flat().map((m) => m.path);
    expect(members.sort()).toEqual([...files].sort());
    for (const w of windows) expect(await h.deps.store.window(w)).toMatchObject({ status: 'kicked' });
  });
});
