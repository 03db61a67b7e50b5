import { HttpRequest, InvocationContext } from '@azure/functions';
import type { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillGet } from '../../functions/backfill-get.js';
import { backfillPoison } from '../../functions/backfill-poison.js';
import { backfillPost } from '../../functions/backfill-post.js';
import { backfillQueue } from '../../functions/backfill-queue.js';
import { setApp } from '../../shared/app/appSingleton.js';
import { runBackfillChunk } from '../../shared/backfill/runBackfillChunk.js';
import { BackfillStore } from '../../shared/backfill/backfillStore.js';
import { tableClient } from '../../shared/azure/storageClients.js';
import { RunLedger } from '../../shared/state/runLedger.js';
import { captureLogger } from '../support/alertStandIns.js';
import { refusingTableService } from '../support/refusingTables.js';
import type { BackfillStatus } from '../../shared/backfill/backfillService.js';
import type { ChunkRunResult } from '../../shared/backfill/runBackfillChunk.js';
import { createHarness, testTable, type Harness } from '../support/harness.js';
import { countById, ingest, InjectedCrash } from '../support/ingest.js';
import { drainQueue, peekAll, queueOf } from '../support/queueDrain.js';

/**
 * Backfills over HTTP and the queue, as the host would run them: validation with field-level
 * 400s, chunks in bounded lanes, exactly-once per chunk, crash and resume, and a live watermark
 * that never moves.
 */
let h: Harness;
let queue: QueueClient;
const ctx = (): InvocationContext => new InvocationContext({ functionName: 'test', invocationId: `inv-${Math.random().toString(16).slice(2)}`, logHandler: () => undefined });

const post = async (body: unknown): Promise<{ status: number; body: any }> => {
  const res = await backfillPost(
    new HttpRequest({ method: 'POST', url: 'http://localhost:7071/api/backfill', body: { string: typeof body === 'string' ? body : JSON.stringify(body) }, headers: { 'content-type': 'application/json' } }),
    ctx(),
  );
  return { status: res.status!, body: res.jsonBody };
};
const get = async (id: string): Promise<{ status: number; body: BackfillStatus & { error?: unknown } }> => {
  const res = await backfillGet(new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/backfill/${id}`, params: { id } }), ctx());
  return { status: res.status!, body: res.jsonBody as BackfillStatus };
};
const drain = () => drainQueue(queue, (payload) => backfillQueue(payload, ctx()));

beforeAll(async () => {
  h = await createHarness((schema) => [
    testTable(schema, 'plays', { maxRowsPerFile: 40, rowGroupRows: 20 }),
    testTable(schema, 'ints', { watermark: { column: 'seq', kind: 'integer' } }),
  ]);
  // One row per hour over ten days of 2026-03.
  await h.db.query(`CREATE TABLE ${h.schema}.plays (id integer PRIMARY KEY, payload text, updated_at timestamptz NOT NULL)`);
  await h.db.query(`INSERT INTO ${h.schema}.plays SELECT i, 'v1', TIMESTAMPTZ '2026-03-01 00:00:00+00' + (i - 1) * INTERVAL '1 hour' FROM generate_series(1, 240) i`);
  await h.db.query(`CREATE TABLE ${h.schema}.ints (id integer PRIMARY KEY, seq bigint NOT NULL)`);
  h.app.settings.backfill.concurrency = 2;
  (h.app.backfill as unknown as { settings: { concurrency: number; maxWindowDays: number } }).settings.maxWindowDays = 31;
  queue = queueOf(h.settings, h.settings.backfill.queue);
  setApp(h.app);
});
afterAll(async () => {
  setApp(undefined);
  await h?.close();
});

describe('bad requests', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['not JSON', '{"table": ', 'body', /not valid JSON/],
    ['not an object', [1, 2], 'body', /JSON object/],
    ['unknown table', { table: 'nope', from: '2026-03-01', to: '2026-03-02' }, 'table', /unknown table "nope"/],
    ['missing from', { table: 'plays', to: '2026-03-02' }, 'from', /.+/],
    ['from after to', { table: 'plays', from: '2026-03-05', to: '2026-03-02' }, 'to', /must be after from/],
    ['from equal to', { table: 'plays', from: '2026-03-05T00:00:00Z', to: '2026-03-05' }, 'to', /must be after from/],
    ['unparseable date', { table: 'plays', from: 'yesterday', to: '2026-03-02' }, 'from', /ISO-8601/],
    ['impossible date', { table: 'plays', from: '2026-02-30T25:00:00Z', to: '2026-03-02' }, 'from', /not a valid date-time|ISO-8601/],
    ['30 February', { table: 'plays', from: '2026-02-30', to: '2026-03-05' }, 'from', /February 2026 has 28 days, not 30/],
    ['29 February of a common year', { table: 'plays', from: '2026-02-20', to: '2026-02-29T00:00:00Z' }, 'to', /February 2026 has 28 days, not 29/],
    ['31 April', { table: 'plays', from: '2026-04-31T06:00', to: '2026-05-02' }, 'from', /April 2026 has 30 days, not 31/],
    ['month 13', { table: 'plays', from: '2026-13-01', to: '2027-01-05' }, 'from', /month 13 does not exist/],
    ['hour 24', { table: 'plays', from: '2026-03-01T24:00:00Z', to: '2026-03-05' }, 'from', /hour 24 is past 23/],
    ['minute 60', { table: 'plays', from: '2026-03-01', to: '2026-03-02T10:60Z' }, 'to', /minute 60 is past 59/],
    ['second 60', { table: 'plays', from: '2026-03-01T10:00:60Z', to: '2026-03-02' }, 'from', /second 60 is past 59/],
    ['offset +25:00', { table: 'plays', from: '2026-03-01T10:00:00+25:00', to: '2026-03-05' }, 'from', /offset \+25:00 does not exist/],
    ['microseconds that a Date would drop', { table: 'plays', from: '2026-03-01T10:00:00.0000015Z', to: '2026-03-05' }, 'from', /at most milliseconds/],
    ['zero chunk P0D', { table: 'plays', from: '2026-03-01', to: '2026-03-02', chunk: 'P0D' }, 'chunk', /is zero/],
    ['empty chunk P', { table: 'plays', from: '2026-03-01', to: '2026-03-02', chunk: 'P' }, 'chunk', /ISO-8601 duration/],
    ['empty chunk PT', { table: 'plays', from: '2026-03-01', to: '2026-03-02', chunk: 'PT' }, 'chunk', /ISO-8601 duration/],
    ['window too large', { table: 'plays', from: '2026-01-01', to: '2026-03-01' }, 'to', /exceeds the maximum of 31 days/],
    ['bad chunk', { table: 'plays', from: '2026-03-01', to: '2026-03-02', chunk: '6 hours' }, 'chunk', /ISO-8601 duration/],
    ['unknown field', { table: 'plays', from: '2026-03-01', to: '2026-03-02', colour: 'red' }, 'colour', /not a known field/],
    ['non-time watermark', { table: 'ints', from: '2026-03-01', to: '2026-03-02' }, 'table', /integer watermark/],
  ];
  for (const [name, body, field, problem] of cases) {
    it(`answers 400 naming the field: ${name}`, async () => {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe(field);
      expect(res.body.error.problem).toMatch(problem);
    });
  }

  it('queues and stores nothing for any of them', async () => {
    expect(await peekAll(queue)).toEqual([]);
    const stored: unknown[] = [];
    for await (const e of (h.app.backfills as unknown as { client: { listEntities(): AsyncIterable<unknown> } }).client.listEntities()) stored.push(e);
    expect(stored).toEqual([]);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    expect((await get('0123456789ab')).status).toBe(404);
    expect((await get('nope')).status).toBe(400);
  });
});

describe('a backfill, end to end', () => {
  it('runs every chunk once, in bounded lanes, and never moves the live watermark', async () => {
    await ingest(h, h.app.config.tables[0]!);
    const before = await h.app.watermarks.get('plays');
    await h.db.query(`UPDATE ${h.schema}.plays SET payload = 'v2' WHERE updated_at >= '2026-03-02' AND updated_at < '2026-03-04 12:00'`);

    const accepted = await post({ table: 'plays', from: '2026-03-02T00:00:00Z', to: '2026-03-04T12:00:00Z', chunk: 'PT12H', requestId: 'fix-plays-1' });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ created: true, chunks: 5, status: 'pending' });
    expect(accepted.body.statusUrl).toBe(`http://localhost:7071/api/backfill/${accepted.body.id}`);
    // Two lanes: two messages, chunks 0 and 1.
    expect((await peekAll(queue)).map((m) => (m as { chunk: number }).chunk).sort()).toEqual([0, 1]);

    const { handled, failures } = await drain();
    expect(failures).toEqual([]);
    expect(handled).toBe(5);
    const status = (await get(accepted.body.id)).body;
    expect(status.status).toBe('done');
    expect(status.chunks.map((c) => [c.chunk, c.status, c.rows])).toEqual([0, 1, 2, 3, 4].map((c) => [c, 'done', 12]));
    expect(status.chunks[0]).toMatchObject({ low: '2026-03-02 00:00:00.000000', high: '2026-03-02 12:00:00.000000' });
    expect(status.totals).toMatchObject({ rows: 60, done: 5, failed: 0 });

    // Backfilled rows are the 60 in the window, each once, told apart by path and manifest.
    const files = (await h.bronzeFiles('plays')).filter((f) => f.path.includes(`__b${accepted.body.id}-c`));
    expect(files).toHaveLength(5);
    const manifests = (await h.manifests('plays')).filter((m) => m.kind === 'backfill');
    expect(manifests).toHaveLength(5);
    expect(manifests.every((m) => m.backfillId === accepted.body.id && m.runId === status.runId)).toBe(true);
    const backfilled = (await h.bronzeRows('plays')).filter((r) => r.payload === 'v2');
    expect(countById(backfilled).size).toBe(60);
    expect([...countById(backfilled).values()].every((n) => n === 1)).toBe(true);

    const after = await h.app.watermarks.get('plays');
    expect(after).toMatchObject({ value: before!.value, seq: before!.seq, pending: null });

    // The same request again: same backfill, nothing queued, no new files.
    const filesBefore = (await h.bronzeFiles('plays')).length;
    const again = await post({ table: 'plays', from: '2026-03-02T00:00:00Z', to: '2026-03-04T12:00:00Z', chunk: 'PT12H', requestId: 'fix-plays-1' });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: accepted.body.id, created: false, status: 'done' });
    expect(await peekAll(queue)).toEqual([]);
    expect((await h.bronzeFiles('plays')).length).toBe(filesBefore);
  });

  it('resumes after a crash mid-chunk: the chunk is rewritten under the same names, nothing twice', async () => {
    const accepted = await post({ table: 'plays', from: '2026-03-06', to: '2026-03-08', chunk: 'P1D', requestId: 'crashy' });
    expect(accepted.status).toBe(202);
    await queue.clearMessages();
    // Chunk 0 dies after its first part is in the lake but before it is recorded.
    const crashed = await runBackfillChunk({ ...h.app.ingestDeps(), config: h.app.config, backfills: h.app.backfills }, accepted.body.id, 0, {
      owner: 'crashing-instance',
      hooks: {
        checkpoint: (p, d) => {
          if (p === 'part-committed' && d.part === 0) throw new InjectedCrash(p);
        },
      },
    });
    expect(crashed.status).toBe('failed');
    const failed = (await get(accepted.body.id)).body;
    expect(failed.status).toBe('failed');
    expect(failed.chunks[0]).toMatchObject({ status: 'failed', attempts: 1, error: expect.stringMatching(/injected crash/) });
    expect(h.notifier.notices.some((n) => n.kind === 'backfill-chunk-failed' && n.runId === failed.runId && n.lookAt?.includes(accepted.body.id))).toBe(true);

    // Asking again resumes the unfinished chunks.
    const resumed = await post({ table: 'plays', from: '2026-03-06', to: '2026-03-08', chunk: 'P1D', requestId: 'crashy' });
    expect(resumed.body).toMatchObject({ id: accepted.body.id, created: false });
    const { failures } = await drain();
    expect(failures).toEqual([]);
    const done = (await get(accepted.body.id)).body;
    expect(done.chunks.map((c) => [c.status, c.rows])).toEqual([
      ['done', 24],
      ['done', 24],
    ]);
    expect(done.chunks[0]!.attempts).toBe(2);
    const files = (await h.bronzeFiles('plays')).filter((f) => f.path.includes(`__b${accepted.body.id}-c`));
    expect(files.map((f) => f.path.replace(/.*__b\w+-/, ''))).toEqual(['c00000__p00000.parquet', 'c00001__p00000.parquet']);
  });

  it('reports a chunk the host gave up on, and its lane goes on with the next chunk', async () => {
    const accepted = await post({ table: 'plays', from: '2026-03-05', to: '2026-03-05T18:00:00Z', chunk: 'PT6H', requestId: 'poisoned' });
    expect(accepted.body).toMatchObject({ chunks: 3 });
    await queue.clearMessages();
    const id = accepted.body.id as string;
    const failed = await runBackfillChunk({ ...h.app.ingestDeps(), config: h.app.config, backfills: h.app.backfills }, id, 0, {
      owner: 'failing-instance',
      hooks: {
        checkpoint: (p) => {
          if (p === 'part-committed') throw new InjectedCrash(p);
        },
      },
    });
    expect(failed.status).toBe('failed');

    // The poison message's own first delivery; the chunk message was tried maxDequeueCount (5, host.json) times.
    const context = new InvocationContext({ functionName: 'backfill-poison', invocationId: 'inv-poison', logHandler: () => undefined, triggerMetadata: { dequeueCount: 1 } });
    await backfillPoison({ backfillId: id, chunk: 0, lanes: 2 }, context);
    const status = (await get(id)).body;
    const notice = h.notifier.notices.find((n) => n.kind === 'poison-message' && n.runId === status.runId);
    expect(notice).toMatchObject({ severity: 'error', subject: 'plays', title: `backfill ${id} of plays: chunk 0 failed 5 times and was given up` });
    expect(notice!.detail).toMatch(/last error: .*injected crash/);
    expect(notice!.lookAt).toContain(`/api/backfill/${id}`);
    expect((await h.app.ledger.ofRun(status.runId)).some((e) => e.activity === 'poison' && e.status === 'failed')).toBe(true);

    // Lane 0 of 2 holds chunks 0 and 2: chunk 2 is queued in place of the given-up chunk.
    expect(await peekAll(queue)).toEqual([{ backfillId: id, chunk: 2, lanes: 2 }]);
    expect((await drain()).failures).toEqual([]);
    expect((await get(id)).body.chunks.map((c) => c.status)).toEqual(['failed', 'pending', 'done']);

    await backfillPoison('not json at all', context);
    expect(h.notifier.notices.at(-1)).toMatchObject({ kind: 'poison-message', runId: 'unknown-run', subject: '_poison' });
    expect(await peekAll(queue)).toEqual([]);
  });

  it('closes the ledger entry of a chunk attempt that died holding the chunk, naming the attempt that took over', async () => {
    const accepted = await post({ table: 'plays', from: '2026-03-08', to: '2026-03-09', chunk: 'P1D', requestId: 'dies-holding' });
    await queue.clearMessages();
    const deps = { ...h.app.ingestDeps(), config: h.app.config, backfills: h.app.backfills };
    let stalled!: () => void;
    const reached = new Promise<void>((resolve) => (stalled = resolve));
    let wake!: () => void;
    const gate = new Promise<void>((resolve) => (wake = resolve));
    // The first attempt hangs with its lease (1 s) as a killed process would.
    const dead = runBackfillChunk({ ...deps, leaseMs: 1_000 }, accepted.body.id, 0, {
      owner: 'dead-instance',
      hooks: {
        checkpoint: async (p) => {
          if (p === 'part-committed') {
            stalled();
            await gate;
          }
        },
      },
    });
    await reached;
    // The rescuer's clock reads past the first attempt's 1 s lease: the lease has expired for it.
    const holder = (await h.app.backfills.chunk(accepted.body.id, 0))!;
    const later = Date.parse(holder.lease!.expiresAt) + 1_000 - Date.now();
    const rescue = await runBackfillChunk({ ...deps, now: () => Date.now() + later }, accepted.body.id, 0, { owner: 'rescuing-instance' });
    expect(rescue).toMatchObject({ status: 'done', rows: 24 });
    const entries = (await h.app.ledger.ofRun(accepted.body.runId)).filter((e) => e.activity.startsWith(`backfill-${accepted.body.id}-c0-`));
    expect(entries.map((e) => [e.activity.replace(/.*-c0-/, ''), e.status]).sort()).toEqual([
      ['a1', 'abandoned'],
      ['a2', 'succeeded'],
    ]);
    expect(entries.find((e) => e.status === 'abandoned')!.detail).toMatch(/took its work over/);
    expect(entries.find((e) => e.status === 'abandoned')!.detail).toMatch(/lease owner rescuing-instance/);
    wake();
    expect((await dead).status).toBe('failed');
    expect((await get(accepted.body.id)).body.chunks[0]).toMatchObject({ status: 'done', rows: 24 });
  });

  it('works each chunk once when two processes run the same backfill at once', async () => {
    await h.db.query(`UPDATE ${h.schema}.plays SET payload = 'v3' WHERE updated_at >= '2026-03-05' AND updated_at < '2026-03-07'`);
    const plan = h.app.backfill.plan({ table: 'plays', from: '2026-03-05', to: '2026-03-07', chunk: 'PT6H', requestId: 'twice-at-once' });
    const { status } = await h.app.backfill.start(plan, { queue: false });
    // A second `soundlake backfill` for the same request: another process, the same backfill id and run id.
    // One chunk at a time in each, so both start on chunk 0 together (and PGlite, one session
    // multiplexed over its connections, serves two readers at once reliably, not four).
    const other = await h.newApp();
    const lanes = (app: typeof other): { concurrency: number } => (app.backfill as unknown as { settings: { concurrency: number } }).settings;
    const before = lanes(h.app).concurrency;
    lanes(h.app).concurrency = 1;
    lanes(other).concurrency = 1;
    const results: ChunkRunResult[] = [];
    const [mine, theirs] = await Promise.all([
      h.app.backfill.runAll(status.id, { onChunk: (r) => results.push(r) }),
      other.backfill.runAll(status.id, { onChunk: (r) => results.push(r) }),
    ]).finally(() => (lanes(h.app).concurrency = before));
    expect(results.filter((r) => r.status === 'failed')).toEqual([]);
    expect(results.filter((r) => r.status === 'done').map((r) => r.chunk).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const final = (await get(status.id)).body;
    expect(final.status).toBe('done');
    expect(final.chunks.map((c) => [c.status, c.attempts, c.rows])).toEqual(Array.from({ length: 8 }, () => ['done', 1, 6]));
    expect([mine.status, theirs.status]).toContain('done');
    const files = (await h.bronzeFiles('plays')).filter((f) => f.path.includes(`__b${status.id}-c`));
    expect(files).toHaveLength(8);
    const rows = (await h.bronzeRows('plays')).filter((r) => r.payload === 'v3');
    expect(countById(rows).size).toBe(48);
    expect([...countById(rows).values()].every((n) => n === 1)).toBe(true);
  });

  it('runs in-process on the same core for the CLI', async () => {
    const plan = h.app.backfill.plan({ table: 'plays', from: '2026-03-09', to: '2026-03-10T06:00:00', chunk: 'PT10H' });
    const { status } = await h.app.backfill.start(plan, { queue: false });
    expect(await peekAll(queue)).toEqual([]);
    const seen: number[] = [];
    const done = await h.app.backfill.runAll(status.id, { onChunk: (r) => seen.push(r.chunk) });
    expect(seen.sort()).toEqual([0, 1, 2]);
    expect(done.status).toBe('done');
    expect(done.totals.rows).toBe(30);
  });

  it('lists the newest backfills from their day partitions, never by scanning the table', async () => {
    const a = (await h.app.backfill.start(h.app.backfill.plan({ table: 'plays', from: '2026-04-01', to: '2026-04-02', chunk: 'P1D' }), { queue: false })).status;
    const b = (await h.app.backfill.start(h.app.backfill.plan({ table: 'plays', from: '2026-04-02', to: '2026-04-03', chunk: 'P1D' }), { queue: false })).status;
    const since = new Date(Date.now() - 86_400_000);
    const newest = await h.app.backfill.recent(since, 2);
    // Newest first (two created in the same millisecond may come either way).
    expect(newest.map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
    expect(newest[0]!.createdAt >= newest[1]!.createdAt).toBe(true);
    expect(newest[0]).toMatchObject({ table: 'plays', chunks: [{ status: 'pending' }] });
    // Asking again for the same backfill lists it once.
    await h.app.backfill.start(h.app.backfill.plan({ table: 'plays', from: '2026-04-01', to: '2026-04-02', chunk: 'P1D' }), { queue: false });
    const ids = (await h.app.backfill.recent(since, 100)).map((s) => s.id);
    expect(ids.filter((id) => id === a.id)).toHaveLength(1);
    expect(ids.length).toBeGreaterThanOrEqual(3);
  });
});

describe('a chunk on the same slice runner as a scheduled run', () => {
  const depsOf = (overrides: Partial<ReturnType<typeof h.app.ingestDeps>> & { backfills?: BackfillStore } = {}) => ({ ...h.app.ingestDeps(), config: h.app.config, backfills: h.app.backfills, ...overrides });
  const startBackfill = async (requestId: string, from: string, to: string): Promise<BackfillStatus> => {
    const plan = h.app.backfill.plan({ table: 'plays', from, to, chunk: 'P1D', requestId });
    return (await h.app.backfill.start(plan, { queue: false })).status;
  };

  it('a ledger that cannot be written fails the chunk cleanly: lease given back, alerted, nothing rejects', async () => {
    const status = await startBackfill('ledger-down', '2026-03-01', '2026-03-02');
    const refusing = await refusingTableService();
    try {
      const result = await runBackfillChunk(depsOf({ ledger: new RunLedger(refusing.client('runs')) }), status.id, 0, { owner: 'no-ledger' });
      expect(result).toMatchObject({ status: 'failed', error: expect.stringMatching(/not authorized/) });
      expect(refusing.requests()).toBeGreaterThan(0);
    } finally {
      await refusing.close();
    }
    // The chunk is not left holding a lease until it expires: the next attempt may start at once.
    expect(await h.app.backfills.chunk(status.id, 0)).toMatchObject({ status: 'failed', lease: null, error: expect.stringMatching(/not authorized/) });
    expect(h.notifier.notices.at(-1)).toMatchObject({ kind: 'backfill-chunk-failed', runId: status.runId, subject: 'plays', title: `backfill ${status.id} of plays: chunk 0 failed` });
    expect(await runBackfillChunk(depsOf(), status.id, 0, { owner: 'with-ledger' })).toMatchObject({ status: 'done', rows: 24 });
  });

  it('a backfill store that fails, or a backfill that is gone, is a failed result, not a rejection', async () => {
    const refusing = await refusingTableService();
    try {
      const down = await runBackfillChunk(depsOf({ backfills: new BackfillStore(refusing.client('backfills')) }), '0123456789ab', 0, {});
      expect(down).toMatchObject({ backfillId: '0123456789ab', chunk: 0, status: 'failed', error: expect.stringMatching(/not authorized/) });
    } finally {
      await refusing.close();
    }
    expect(await runBackfillChunk(depsOf(), 'abababababab', 3, {})).toMatchObject({ status: 'failed', error: 'backfill abababababab not found' });
  });

  it('records the outcome even when the ledger fails at the end, and says so in the log', async () => {
    const status = await startBackfill('ledger-gone', '2026-03-02', '2026-03-03');
    const ledgerTable = tableClient(h.settings.storage, `runs${h.id}late`);
    const ledger = new RunLedger(ledgerTable);
    await ledger.ensure();
    const { logger, text } = captureLogger();
    // The ledger's table goes away while the chunk runs: its closing write fails.
    const result = await runBackfillChunk(depsOf({ ledger, logger }), status.id, 0, {
      hooks: {
        checkpoint: async (p) => {
          if (p === 'manifest-written') await ledgerTable.deleteTable();
        },
      },
    });
    expect(result).toMatchObject({ status: 'done', rows: 24 });
    expect(await h.app.backfills.chunk(status.id, 0)).toMatchObject({ status: 'done', rows: 24, lease: null });
    const line = text()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string; runId?: string; backfillId?: string })
      .find((l) => /could not record the outcome/.test(l.msg));
    expect(line).toMatchObject({ level: 50, msg: 'could not record the outcome (succeeded) in the run ledger', runId: status.runId, backfillId: status.id });
  });

  it('reports schema drift against the live table, and leaves the live watermark record alone', async () => {
    const before = (await h.app.watermarks.get('plays'))!;
    expect(before.columns?.map((c) => c.name)).toEqual(['id', 'payload', 'updated_at']);
    await h.db.query(`ALTER TABLE ${h.schema}.plays ADD COLUMN mood text`);
    try {
      const status = await startBackfill('drifted', '2026-03-03', '2026-03-04');
      const result = await runBackfillChunk(depsOf(), status.id, 0, {});
      expect(result).toMatchObject({ status: 'done', rows: 24, drift: { added: ['mood'], removed: [], changed: [] } });
      expect(h.notifier.notices.filter((n) => n.kind === 'schema-drift' && n.runId === status.runId)).toEqual([
        expect.objectContaining({ severity: 'warning', subject: 'plays', detail: 'added mood', key: 'drift:plays:added mood' }),
      ]);
      expect((await h.bronzeRows('plays')).some((r) => 'mood' in r)).toBe(true);
      const after = (await h.app.watermarks.get('plays'))!;
      expect(after).toMatchObject({ value: before.value, seq: before.seq, columns: before.columns, pending: null, lease: null });
    } finally {
      await h.db.query(`ALTER TABLE ${h.schema}.plays DROP COLUMN mood`);
    }
  });
});
