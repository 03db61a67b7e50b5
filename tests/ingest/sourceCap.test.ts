import { QueueClient } from '@azure/storage-queue';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp, type SoundlakeApp } from '../../shared/app/soundlakeApp.js';
import { isBronzeDataPath } from '../../shared/bronze/bronzePaths.js';
import type { PipelineConfig } from '../../shared/config/pipelineConfig.js';
import { loadSettings, type Settings } from '../../shared/config/settings.js';
import { handleIngestMessage } from '../../shared/ingest/handleIngestMessage.js';
import { SourceBusyError, SourceRegistry } from '../../shared/source/sourceRegistry.js';
import { SlotLostError, SourceSlots } from '../../shared/source/sourceSlots.js';
import { tableClient } from '../../shared/azure/storageClients.js';
import { peekAll, queueOf } from '../support/queueDrain.js';
import { createLogger } from '../../shared/logging/logger.js';
import { newRunId } from '../../shared/run/runId.js';
import { RecordingNotifier, testEnv, testId, testTable } from '../support/harness.js';
import { countById } from '../support/ingest.js';
import { readParquetBytes } from '../support/parquetReader.js';
import { TcpProxy } from '../support/tcpProxy.js';
import { waitFor } from '../support/waitFor.js';

/**
 * Two app instances (two apps over the same Azurite, as two Functions instances share a storage
 * account) each pull the ingest queue six messages at a time, as host.json lets an instance
 * (batchSize 4 + newBatchThreshold 2). Six tables read one source whose catalog cap is 2. The
 * sessions are counted where the database sees them: every connection passes a TCP relay in
 * front of the Postgres server.
 */
const TABLES = ['t1', 't2', 't3', 't4', 't5', 't6'];
const ROWS = 2_000;

let id: string;
let schema: string;
let db: pg.Client;
let proxy: TcpProxy;
let settings: Settings;
let apps: SoundlakeApp[];
const notifier = new RecordingNotifier();

beforeAll(async () => {
  id = testId();
  schema = `t_${id}`;
  db = new pg.Client({ connectionString: inject('postgresUrl') });
  await db.connect();
  await db.query(`CREATE SCHEMA ${schema}`);
  for (const t of TABLES) {
    await db.query(`CREATE TABLE ${schema}.${t} (id integer PRIMARY KEY, payload text NOT NULL, updated_at timestamptz NOT NULL)`);
    await db.query(`INSERT INTO ${schema}.${t} SELECT i, repeat('x', 200), TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, ${ROWS}) i`);
  }
  const target = new URL(inject('postgresUrl'));
  proxy = new TcpProxy(target.hostname, Number(target.port));
  await proxy.start();
  target.port = String(proxy.port);
  settings = loadSettings({
    ...testEnv(id),
    STREAMING_DB_URL: target.toString(),
    SOURCE_BUSY_RETRY_SECONDS: '1',
  });
  // Small files: every table takes several parts (and Table Storage writes), so extractions overlap.
  const config: PipelineConfig = {
    sources: [{ name: 'streaming_db', kind: 'postgres', url: { setting: 'STREAMING_DB_URL' }, maxConnections: 2 }],
    tables: TABLES.map((t) => testTable(schema, t, { source: 'streaming_db', maxRowsPerFile: 400, rowGroupRows: 200 })),
  };
  const logger = createLogger({ level: settings.logLevel, fd: 2 });
  apps = [await createApp(settings, { logger, notifier, config }), await createApp(settings, { logger, notifier, config })];
});

afterAll(async () => {
  await Promise.all((apps ?? []).map((a) => a.close()));
  await proxy?.stop();
  await db?.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
  await db?.end();
});

/** One instance's queue trigger: up to six messages in flight, deleted when the handler returns, retried when it throws. */
function instance(app: SoundlakeApp, name: string, stop: { done: boolean }, seen: { deferred: number; failures: Error[] }): Promise<void> {
  if (!('connectionString' in settings.storage)) throw new Error('tests need a connection string');
  const queue = new QueueClient(settings.storage.connectionString, settings.ingestQueue);
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  return (async () => {
    while (!stop.done) {
      const room = 6 - inFlight.size;
      const items = room > 0 ? (await queue.receiveMessages({ numberOfMessages: room, visibilityTimeout: 120 })).receivedMessageItems : [];
      for (const item of items) {
        const work = (async () => {
          try {
            const message = JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')) as Parameters<typeof handleIngestMessage>[1];
            const result = await handleIngestMessage(app.ingestMessageDeps(), message, { budgetMs: 480_000, owner: `${name}-${++n}` });
            if (result.status === 'deferred') seen.deferred++;
            await queue.deleteMessage(item.messageId, item.popReceipt);
          } catch (err) {
            seen.failures.push(err as Error);
            await queue.updateMessage(item.messageId, item.popReceipt, undefined, 1);
          }
        })();
        inFlight.add(work);
        void work.finally(() => inFlight.delete(work));
      }
      if (items.length === 0) await Promise.race([...inFlight, new Promise((r) => setTimeout(r, 200))]);
    }
    await Promise.all(inFlight);
  })();
}

describe('the per-source connection cap', () => {
  it('holds with two instances competing: never more than maxConnections sessions, every table once', async () => {
    const runId = newRunId('cap');
    for (const table of TABLES) await apps[0]!.ingestQueue.send({ runId, table, trigger: 'test', continuation: 0 });
    const stop = { done: false };
    const seen = { deferred: 0, failures: [] as Error[] };
    const running = [instance(apps[0]!, 'a', stop, seen), instance(apps[1]!, 'b', stop, seen)];
    try {
      await waitFor(
        'every table committed',
        async () => {
          // Checked while it runs, so a breach fails at once rather than as a timeout.
          if (proxy.peak > 2) throw new Error(`the source saw ${proxy.peak} sessions at once; its cap is 2`);
          return (await Promise.all(TABLES.map((t) => apps[0]!.watermarks.get(t)))).every((w) => w?.value && !w.pending);
        },
        180_000,
        250,
      );
    } finally {
      stop.done = true;
      await Promise.all(running);
    }
    // The database never saw more than 2 sessions, though the cap was contended (messages went back to the queue).
    expect(proxy.peak).toBeGreaterThan(0);
    expect(proxy.peak).toBeLessThanOrEqual(2);
    expect(seen.deferred).toBeGreaterThan(0);
    expect(seen.failures).toEqual([]);
    // Sessions close with their slots, and every slot was given back.
    await waitFor('sessions closed', () => proxy.open === 0, 10_000);
    expect(await apps[0]!.sources.slotHolders('streaming_db')).toEqual([]);

    // Every table exactly once: one successful extraction each, every row in bronze once.
    const ledger = await apps[0]!.ledger.ofRun(runId);
    for (const t of TABLES) {
      expect(ledger.filter((e) => e.subject === t && e.status === 'succeeded')).toHaveLength(1);
      const rows: Record<string, unknown>[] = [];
      for await (const f of apps[0]!.lake.list(`${t}/`)) {
        if (isBronzeDataPath(f.path)) rows.push(...(await readParquetBytes((await apps[0]!.lake.get(f.path))!)).rows);
      }
      const ids = countById(rows);
      expect(ids.size).toBe(ROWS);
      expect([...ids.values()].every((c) => c === 1)).toBe(true);
    }
  }, 240_000);
});

describe('a source with every slot held', () => {
  it('sends an ingest or backfill message back with a delay instead of failing it, and fails it after the last deferral', async () => {
    const holders = await Promise.all([0, 1].map((i) => apps[0]!.sources.open('streaming_db', `holder-${i}`, 'test')));
    expect(holders.every((x) => x !== null)).toBe(true);
    // Each held session opens its connection at once; whatever opens another from here ran.
    await waitFor('the holders connected', async () => proxy.open === 2, 5_000);
    const accepted = proxy.accepted;
    const queue = queueOf(settings, settings.ingestQueue);
    try {
      await queue.clearMessages();
      const message = { runId: newRunId('busy'), table: 't1', trigger: 'test', continuation: 0 };
      const deferred = await handleIngestMessage(apps[1]!.ingestMessageDeps(), message, { budgetMs: 480_000 });
      expect(deferred).toMatchObject({ status: 'deferred', table: 't1', deferrals: 1 });
      expect(deferred.message).toMatch(new RegExp(`^source streaming_db has all 2 connection slots in use: t1 \\(run ${message.runId}\\) comes back in \\d+ s \\(deferral 1 of at most 40\\)$`));
      // The message comes back after its delay, carrying its deferral count; nothing ran meanwhile.
      const back = await waitFor('the deferred message', async () => (await peekAll(queue)).find((m) => (m as { runId: string }).runId === message.runId), 15_000);
      expect(back).toEqual({ ...message, deferrals: 1 });
      expect(proxy.accepted).toBe(accepted);

      // The last allowed deferral spent: the message fails like any failure (retries, then poison and an alert).
      await expect(handleIngestMessage(apps[1]!.ingestMessageDeps(), { ...message, deferrals: settings.sourceSlots.maxDeferrals }, { budgetMs: 480_000 })).rejects.toBeInstanceOf(SourceBusyError);

      // A backfill chunk waits the same way.
      const backfills = apps[1]!.backfill;
      const { status } = await backfills.start(backfills.plan({ table: 't2', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', chunk: 'P1D' }), { queue: false });
      const chunk = await backfills.runMessage({ backfillId: status.id, chunk: 0, lanes: 1 }, {});
      expect(chunk).toMatchObject({ status: 'deferred', rows: 0 });
      expect(chunk.message).toMatch(new RegExp(`^source streaming_db has all 2 connection slots in use: backfill ${status.id} chunk 0 comes back in \\d+ s \\(deferral 1 of at most 40\\)$`));
    } finally {
      await Promise.all(holders.map((x) => x?.release()));
      await queue.clearMessages();
    }
  });

  it("stops a session whose slot was lost (its holder stalled past the lease and another took it)", async () => {
    const quick = new SourceSlots(tableClient(settings.storage, settings.sourceSlots.table), 3_000);
    const registry = new SourceRegistry([apps[0]!.sources.endpoint('streaming_db')], quick, { logger: createLogger({ level: 'silent' }) });
    const both = [(await registry.open('streaming_db', 'stalled', 'test'))!, (await registry.open('streaming_db', 'stalled', 'test'))!];
    const table = testTable(schema, 't1');
    expect((await both[0]!.source.describe(table)).map((c) => c.name)).toEqual(['id', 'payload', 'updated_at']);
    // Another holder, whose clock is past the lease, takes a slot as an expired one.
    const later = new SourceSlots(tableClient(settings.storage, settings.sourceSlots.table), 3_000, { now: () => Date.now() + 10_000 });
    const taken = (await later.acquire('streaming_db', 2, 'taker', 'test'))!;
    const held = both.find((h) => h.slot === taken.slot)!;
    // At its next renewal the stalled holder learns it, and its session refuses to go on.
    await waitFor('the lost slot noticed', async () => held.source.describe(table).then(() => false, (err: unknown) => err instanceof SlotLostError), 10_000);
    await registry.close();
    // Its release left the taker's slot alone.
    expect((await apps[0]!.sources.slotHolders('streaming_db')).map((h) => h.owner)).toEqual(['taker']);
    await later.release(taken);
  });
});

describe('a session under a connection slot', () => {
  it('opens its connection once it holds the slot, before its first query, which then uses it', async () => {
    const registry = new SourceRegistry([apps[0]!.sources.endpoint('streaming_db')], new SourceSlots(tableClient(settings.storage, settings.sourceSlots.table), 60_000), { logger: createLogger({ level: 'silent' }) });
    const before = proxy.accepted;
    const held = (await registry.open('streaming_db', 'warm', 'test'))!;
    try {
      await waitFor('the session connected', async () => proxy.accepted === before + 1, 5_000);
      expect((await held.source.describe(testTable(schema, 't1'))).map((c) => c.name)).toEqual(['id', 'payload', 'updated_at']);
      expect(proxy.accepted).toBe(before + 1);
    } finally {
      await registry.close();
    }
  });
});
