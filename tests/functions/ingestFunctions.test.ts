import { InvocationContext, type Timer } from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestPoison } from '../../functions/ingest-poison.js';
import { ingestQueue } from '../../functions/ingest-queue.js';
import { ingestTimer } from '../../functions/ingest-timer.js';
import { setApp } from '../../shared/app/appSingleton.js';
import type { SoundlakeApp } from '../../shared/app/soundlakeApp.js';
import { tableClient } from '../../shared/azure/storageClients.js';
import { KickStore } from '../../shared/events/kickStore.js';
import { newRunId } from '../../shared/run/runId.js';
import { createHarness, testTable, type Harness } from '../support/harness.js';
import { countById } from '../support/ingest.js';
import { drainQueue, peekAll } from '../support/queueDrain.js';

/**
 * The function handlers outside the host: the timer fans out to the real Azurite queue, and the
 * queue handler is fed what the host would feed it (decoded JSON), message by message.
 */
let h: Harness;
let app: SoundlakeApp;
let queue: QueueClient;

const timer: Timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
const context = (name: string, dequeueCount = 1): InvocationContext =>
  new InvocationContext({ functionName: name, invocationId: 'test', logHandler: () => undefined, triggerMetadata: { dequeueCount } });

/** What the host does: receive, decode base64 JSON, invoke, delete. */
const drain = () => drainQueue(queue, (payload) => ingestQueue(payload, context('ingest-queue')));

beforeAll(async () => {
  h = await createHarness((schema) => [
    testTable(schema, 'songs', { maxRowsPerFile: 200, rowGroupRows: 100 }),
    testTable(schema, 'plays', { maxRowsPerFile: 200, rowGroupRows: 100 }),
  ]);
  for (const [name, n] of [['songs', 150], ['plays', 900]] as const) {
    await h.db.query(`CREATE TABLE ${h.schema}.${name} (id integer PRIMARY KEY, updated_at timestamptz NOT NULL)`);
    await h.db.query(`INSERT INTO ${h.schema}.${name} SELECT i, TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, ${n}) i`);
  }
  app = h.app;
  await app.ingestQueue.ensure();
  queue = new QueueClient(h.settings.storage && 'connectionString' in h.settings.storage ? h.settings.storage.connectionString : '', h.settings.ingestQueue);
  setApp(app);
});

afterAll(async () => {
  setApp(undefined);
  await h?.close();
});

describe('timer -> queue -> extractor', () => {
  it('fans out one message per table and extracts each, continuing slices that outgrow the budget', async () => {
    // A budget of one part per invocation: the 900-row table needs five invocations.
    app.settings.invocationBudgetMs = 0;
    await ingestTimer(timer, context('ingest-timer'));
    // Peeked, not received: the messages stay visible for the drain below.
    const planned = (await peekAll(queue)) as { table: string; runId: string }[];
    expect(planned.map((m) => m.table).sort()).toEqual(['plays', 'songs']);
    expect(new Set(planned.map((m) => m.runId)).size).toBe(1);

    const { handled, failures } = await drain();
    expect(failures).toEqual([]);
    expect(handled).toBe(1 + 5);
    expect(countById(await h.bronzeRows('plays')).size).toBe(900);
    expect(countById(await h.bronzeRows('songs')).size).toBe(150);
    const runId = planned[0]!.runId;
    const ledger = await app.ledger.ofRun(runId);
    const plays = ledger.filter((e) => e.subject === 'plays').map((e) => e.status).sort();
    expect(plays).toEqual(['partial', 'partial', 'partial', 'partial', 'succeeded']);
    expect(ledger.find((e) => e.subject === '_runs')).toMatchObject({ activity: 'plan', status: 'succeeded', tables: 'songs,plays' });
    // The invocation that finished the run's last table sent the run summary, once.
    const summaries = h.notifier.notices.filter((n) => n.kind === 'run-summary' && n.runId === runId);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.detail).toBe('plays: succeeded, 900 rows, 5 files\nsongs: succeeded, 150 rows, 1 files');
    app.settings.invocationBudgetMs = 480_000;
  });

  it('throws for a failing table so the host retries it, and reports bad messages clearly', async () => {
    await h.db.query(`ALTER TABLE ${h.schema}.songs RENAME TO songs_gone`);
    await expect(ingestQueue({ runId: 'r-x', table: 'songs', trigger: 'test' }, context('ingest-queue'))).rejects.toThrow(/run r-x: ingestion of songs failed: .*not found/);
    await h.db.query(`ALTER TABLE ${h.schema}.songs_gone RENAME TO songs`);
    await expect(ingestQueue({ runId: 'r-x', table: 'nope', trigger: 'test' }, context('ingest-queue'))).rejects.toThrow(/unknown table "nope"/);
    await expect(ingestQueue({ table: 'songs' }, context('ingest-queue'))).rejects.toThrow(/ingest message invalid: runId: /);
  });

  it('reports a poisoned message through the notifier and the ledger', async () => {
    // The poison trigger's dequeueCount is its own (1 the first time); the original was tried maxDequeueCount times.
    await ingestPoison({ runId: 'r-poison', table: 'plays', trigger: 'schedule', continuation: 0 }, context('ingest-poison', 1));
    const notice = h.notifier.notices.find((n) => n.kind === 'poison-message');
    expect(notice).toMatchObject({ runId: 'r-poison', subject: 'plays', severity: 'error' });
    expect(app.settings.maxDequeueCount).toBe(5);
    expect(notice!.title).toBe('ingestion of plays in run r-poison failed 5 times and was given up');
    const [entry] = await app.ledger.ofRun('r-poison');
    expect(entry).toMatchObject({ subject: 'plays', activity: 'poison', status: 'failed' });
  });

  it('counts each table once in its run, however often its message comes, and a poisoned last table still completes the run', async () => {
    const runId = 'r-tally';
    await app.ledger.completion.plan(runId, 'schedule', 2);
    const message = { runId, table: 'songs', trigger: 'schedule' };
    await ingestQueue(message, context('ingest-queue'));
    // The host delivers a message at least once: the second delivery is not a second table.
    await ingestQueue(message, context('ingest-queue'));
    expect(await app.ledger.completion.tally(runId)).toMatchObject({ planned: 2, done: 1 });
    expect(h.notifier.notices.filter((n) => n.kind === 'run-summary' && n.runId === runId)).toEqual([]);
    await ingestPoison({ ...message, table: 'plays', continuation: 0 }, context('ingest-poison', 1));
    expect(await app.ledger.completion.tally(runId)).toMatchObject({ planned: 2, done: 2, summarisedAt: expect.any(String) });
    await ingestQueue(message, context('ingest-queue'));
    const summaries = h.notifier.notices.filter((n) => n.kind === 'run-summary' && n.runId === runId);
    expect(summaries.map((n) => [n.title, n.detail])).toEqual([
      [
        'run r-tally (schedule): 2 tables, 0 rows, 1 failed',
        '1 failed: given up after 5 attempts\n  tables: plays\n\nplays: failed, 0 rows, 0 files\nsongs: nochange, 0 rows, 0 files',
      ],
    ]);
  });

  it('the timer removes ledger entries and kick state past their retention, whether or not any kick succeeds', async () => {
    const old = new Date(Date.now() - (app.settings.retention.ledgerDays + 1) * 86_400_000);
    const entry = await app.ledger.start({ runId: 'r-old', subject: 'songs', activity: 'ingest', trigger: 'schedule', startedAt: old.toISOString() });
    await app.ledger.finish(entry, { status: 'succeeded', rows: 1 });
    await app.ledger.completion.plan('r-old', 'schedule', 1);
    const plan = await app.ledger.start({ runId: 'r-old', subject: '_runs', activity: 'plan', trigger: 'schedule', startedAt: old.toISOString() });
    await app.ledger.finish(plan, { status: 'succeeded' });
    expect(await app.ledger.ofRun('r-old')).toHaveLength(2);
    app.settings.retention.kickTable = `kicks${h.id}`;
    const kicks = new KickStore(tableClient(app.settings.storage, app.settings.retention.kickTable));
    await kicks.ensure();
    const stale = newRunId('w', new Date(Date.now() - (app.settings.retention.kickDays + 1) * 86_400_000));
    await kicks.createWindow({ id: stale, opensAt: old.toISOString(), closesAt: old.toISOString() });

    await ingestTimer(timer, context('ingest-timer'));
    expect(await app.ledger.ofRun('r-old')).toEqual([]);
    expect((await app.ledger.recent('songs', 1000)).filter((e) => e.runId === 'r-old')).toEqual([]);
    expect(await app.ledger.completion.tally('r-old')).toBeNull();
    expect(await kicks.window(stale)).toBeNull();
    await drain();
  });
});
