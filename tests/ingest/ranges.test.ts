import { InvocationContext } from '@azure/functions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ingestQueue } from '../../functions/ingest-queue.js';
import { setApp } from '../../shared/app/appSingleton.js';
import type { Checkpoint } from '../../shared/extract/faultHooks.js';
import type { IngestDeps } from '../../shared/extract/ingestTable.js';
import { ingestTable } from '../../shared/extract/ingestTable.js';
import { rangeRecordKey, runRange } from '../../shared/extract/rangeLoad.js';
import type { SliceManifest } from '../../shared/bronze/manifest.js';
import { newRunId } from '../../shared/run/runId.js';
import { handleIngestMessage } from '../../shared/ingest/handleIngestMessage.js';
import type { IngestMessage } from '../../shared/ingest/ingestMessage.js';
import { reportPoisonMessage } from '../../shared/ingest/reportPoisonMessage.js';
import { runDetail } from '../../shared/console/runDetail.js';
import { createHarness, testId, testTable, type Harness } from '../support/harness.js';
import { expectExactlyOnce, InjectedCrash } from '../support/ingest.js';
import { drainQueue, peekAll, queueOf } from '../support/queueDrain.js';
import { serialSource } from '../support/serialSource.js';
import { tableClient } from '../../shared/azure/storageClients.js';
import type { Source } from '../../shared/source/source.js';
import { SourceRegistry } from '../../shared/source/sourceRegistry.js';
import { SourceSlots } from '../../shared/source/sourceSlots.js';

/**
 * Initial loads in key ranges: each range exactly once with its own record, and the watermark
 * moved once, by the last range to commit, however ranges crash or race.
 */
let h: Harness;
let deps: IngestDeps;
const ROWS = 1000;

beforeAll(async () => {
  const queued = ['ranged_queue', 'ranged_tally', 'ranged_poisoned', 'ranged_overlap'];
  h = await createHarness((schema) => queued.map((name) => testTable(schema, name, { maxRowsPerFile: 100, rowGroupRows: 50 })));
  // About 300 rows a range: 1,000 rows make 4 ranges.
  h.app.settings.ranges = { rowsPerRange: 300, maxRanges: 8 };
  // PGlite's one session: the ranges' reads take turns, everything else runs at once. The ranges
  // read this source, not sessions of the app's slots (the capped test below has slots of its own).
  deps = { ...h.app.ingestDeps(), sources: undefined, source: serialSource(h.app.source) };
  setApp(h.app);
});
afterAll(async () => {
  setApp(undefined);
  await h?.close();
});

async function seed(name: string): Promise<void> {
  await h.db.query(`CREATE TABLE ${h.schema}.${name} (id integer PRIMARY KEY, payload text, updated_at timestamptz NOT NULL)`);
  await h.db.query(`INSERT INTO ${h.schema}.${name} SELECT i, md5(i::text), TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, ${ROWS}) i`);
}

const crashAt = (point: Checkpoint, part?: number) => ({
  checkpoint: (p: Checkpoint, d: { part?: number }) => {
    if (p === point && (part === undefined || d.part === part)) throw new InjectedCrash(p);
  },
});

/**
 * The slice's one manifest, `s0000000001`: every row, every range's files (range order), nothing
 * named per range, and no part records of the ranges left behind.
 */
async function expectOneManifest(name: string, { files, finished = true }: { files?: number; finished?: boolean } = {}): Promise<SliceManifest> {
  const manifests = await h.manifests(name);
  expect(manifests.map((m) => m.slice)).toEqual(['s0000000001']);
  const [m] = manifests as [SliceManifest];
  expect(m).toMatchObject({ kind: 'initial', rows: ROWS, watermark: { low: null, high: '2026-01-01 00:16:40+00' } });
  expect(m.files.map((f) => f.path)).toEqual([...m.files.map((f) => f.path)].sort());
  expect(m.files.reduce((n, f) => n + f.rows, 0)).toBe(ROWS);
  expect(m.bytes).toBe(m.files.reduce((n, f) => n + f.bytes, 0));
  if (files !== undefined) expect(m.files).toHaveLength(files);
  if (finished) for (const i of [0, 1, 2, 3]) expect(await h.app.watermarks.parts(rangeRecordKey(name, i), `s0000000001-r000${i}`)).toEqual([]);
  return m;
}

/** Plan the ranged initial load: the run splits it and hands back the ranges to run. */
async function split(name: string) {
  const table = h.table(name, { maxRowsPerFile: 100, rowGroupRows: 50 });
  const runId = newRunId();
  const planned = await ingestTable(deps, table, { runId, trigger: 'test' });
  expect(planned).toMatchObject({ status: 'partial', slice: 's0000000001', ranges: [0, 1, 2, 3] });
  expect(planned.message).toMatch(/initial load s0000000001 of about 1000 rows runs in 4 key ranges/);
  return { table, runId };
}

describe('an initial load in key ranges', () => {
  it('runs its ranges at once, each row exactly once, and moves the watermark once', async () => {
    const name = 'ranged';
    await seed(name);
    const { table, runId } = await split(name);
    const results = await Promise.all([0, 1, 2, 3].map((i) => runRange(deps, table, i, { runId, trigger: 'test' })));
    expect(results.map((r) => r.status), JSON.stringify(results.map((r) => r.error))).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(results.reduce((n, r) => n + r.rows, 0)).toBe(ROWS);
    // Ranges of about equal rows, each its own part names; one manifest for the slice, listing every range's files.
    for (const r of results) expect(r.rows).toBeGreaterThan(200);
    await expectOneManifest(name, { files: results.reduce((n, r) => n + r.files, 0) });
    await expectExactlyOnce(h, name, ROWS);
    expect(await h.app.watermarks.get(name)).toMatchObject({ seq: 1, value: '2026-01-01 00:16:40+00' });
    // A range run again (a redelivered message), or the table's next run: nothing more.
    expect(await runRange(deps, table, 2, { runId, trigger: 'test' })).toMatchObject({ status: 'nochange', message: expect.stringMatching(/no range 2 to extract/) });
    expect(await ingestTable(deps, table, { runId: newRunId(), trigger: 'test' })).toMatchObject({ status: 'nochange' });
    await expectExactlyOnce(h, name, ROWS);
    await expectOneManifest(name);
  });

  for (const [i, { point, part }] of ([{ point: 'pending-recorded' }, { point: 'part-committed', part: 1 }, { point: 'parts-complete' }] as { point: Checkpoint; part?: number }[]).entries()) {
    it(`is exactly-once when one range crashes at ${point} while the others finish`, async () => {
      const name = `ranged_crash_${i}`;
      await seed(name);
      const { table, runId } = await split(name);
      const results = await Promise.all([0, 1, 2, 3].map((r) => runRange(deps, table, r, { runId, trigger: 'test', ...(r === 1 ? { hooks: crashAt(point, part) } : {}) })));
      expect(results.map((r) => r.status), JSON.stringify(results.map((r) => r.error))).toEqual(['succeeded', 'failed', 'succeeded', 'succeeded']);
      const mid = await h.app.watermarks.get(name);
      expect(mid).toMatchObject({ value: null, seq: 0, lease: null });
      expect(mid!.pending!.ranges).toMatchObject({ count: 4, done: 3 });
      // The table's next run finds the unfinished range and hands it back; running it finishes the load.
      const again = await ingestTable(deps, table, { runId: newRunId(), trigger: 'test' });
      expect(again).toMatchObject({ status: 'partial', ranges: [1] });
      expect(await runRange(deps, table, 1, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded', resumed: true });
      await expectExactlyOnce(h, name, ROWS);
      await expectOneManifest(name);
      expect(await h.app.watermarks.get(name)).toMatchObject({ seq: 1, pending: null });
    });
  }

  it('lets exactly one of two ranges that commit at the same moment move the watermark', async () => {
    const name = 'ranged_race';
    await seed(name);
    const { table, runId } = await split(name);
    for (const r of [0, 1]) expect(await runRange(deps, table, r, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded' });
    // The last two ranges wait for each other with their parts complete, then commit together.
    let arrived = 0;
    let go!: () => void;
    const both = new Promise<void>((resolve) => (go = resolve));
    const barrier = {
      checkpoint: async (p: Checkpoint) => {
        if (p !== 'parts-complete') return;
        if (++arrived === 2) go();
        await both;
      },
    };
    const racing = await Promise.all([2, 3].map((r) => runRange(deps, table, r, { runId, trigger: 'test', hooks: barrier })));
    expect(racing.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    const state = await h.app.watermarks.get(name);
    expect(state).toMatchObject({ seq: 1, pending: null, lease: null, value: '2026-01-01 00:16:40+00' });
    await expectExactlyOnce(h, name, ROWS);
    await expectOneManifest(name);
  });

  it('runs the last range first and still moves the watermark only when all are in', async () => {
    const name = 'ranged_order';
    await seed(name);
    const { table, runId } = await split(name);
    for (const r of [3, 0, 2]) {
      expect(await runRange(deps, table, r, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded' });
      expect(await h.app.watermarks.get(name)).toMatchObject({ value: null, seq: 0 });
    }
    // A redelivered message of a committed range: counted once, whatever happens again.
    expect(await runRange(deps, table, 3, { runId, trigger: 'test' })).toMatchObject({ status: 'nochange', message: expect.stringMatching(/range 3 of slice s0000000001 is already committed/) });
    expect((await h.app.watermarks.get(name))!.pending!.ranges).toMatchObject({ done: 3 });
    expect(await runRange(deps, table, 1, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded' });
    await expectExactlyOnce(h, name, ROWS);
  });

  it('runs its ranges as queue messages of their own, as the host would', async () => {
    const name = 'ranged_queue';
    await seed(name);
    await h.app.ingestQueue.ensure();
    const queue = queueOf(h.settings, h.settings.ingestQueue);
    const context = (): InvocationContext => new InvocationContext({ functionName: 'ingest-queue', invocationId: `inv-${Math.random().toString(16).slice(2)}`, logHandler: () => undefined });
    await h.app.ingestQueue.send({ runId: newRunId(), table: name, trigger: 'test', continuation: 0 });
    // The table's message plans the ranges and queues one message for each.
    const first = await drainQueue(queue, (payload) => ingestQueue(payload, context()), 1);
    expect(first).toMatchObject({ handled: 1, failures: [] });
    expect(((await peekAll(queue)) as { range?: number }[]).map((m) => m.range).sort()).toEqual([0, 1, 2, 3]);
    const rest = await drainQueue(queue, (payload) => ingestQueue(payload, context()));
    expect(rest).toMatchObject({ handled: 4, failures: [] });
    await expectExactlyOnce(h, name, ROWS);
    expect(await h.app.watermarks.get(name)).toMatchObject({ seq: 1, pending: null });
  });

  it('takes a connection slot per range: a range over the cap waits and runs later', async () => {
    const name = 'ranged_capped';
    await seed(name);
    const { table, runId } = await split(name);
    // The table's source with a cap of one session, its slots in Table Storage like the app's;
    // every session reads the serial source (and leaves it open).
    const slots = new SourceSlots(tableClient(h.app.settings.storage, `slots${testId()}`), 60_000);
    await slots.ensure();
    const opened: Source[] = [];
    const registry = new SourceRegistry([{ name: table.source, kind: 'postgres', setting: 'SOURCE_URL', url: 'postgres://unused', maxConnections: 1 }], slots, {
      logger: h.app.logger,
      connect: () => {
        const session = { ...deps.source, close: async () => undefined };
        opened.push(session);
        return session;
      },
    });
    const capped = { ...deps, sources: registry };
    // The range that gets the slot keeps it until every range has asked for one: the others find none.
    let asked = 0;
    let allAsked!: () => void;
    const everyoneAsked = new Promise<void>((resolve) => (allAsked = resolve));
    const askingAtOnce: SourceRegistry = Object.assign(Object.create(registry) as SourceRegistry, {
      open: async (...args: Parameters<SourceRegistry['open']>) => {
        const held = await registry.open(...args);
        if (++asked === 4) allAsked();
        else if (held) await everyoneAsked;
        return held;
      },
    });
    const first = await Promise.all([0, 1, 2, 3].map((r) => runRange({ ...capped, sources: askingAtOnce }, table, r, { runId, trigger: 'test' })));
    expect(first.map((r) => r.status).filter((s) => s === 'succeeded')).toHaveLength(1);
    expect(first.filter((r) => r.status === 'skipped').map((r) => r.message)).toEqual(Array(3).fill(expect.stringMatching(/waits: every connection slot of source default is held/)));
    expect(opened).toHaveLength(1);
    // Given back: nobody holds the source's slot now.
    expect(await registry.slotHolders(table.source)).toEqual([]);
    const waiting = (await ingestTable(deps, table, { runId: newRunId(), trigger: 'test' })).ranges!;
    expect(waiting).toHaveLength(3);
    for (const r of waiting) expect(await runRange(capped, table, r, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded' });
    expect(opened).toHaveLength(4);
    await expectExactlyOnce(h, name, ROWS);
  });
});


describe('the slice of a ranged load ends once', () => {
  it('is finished by the next run when its finisher stops between the manifest and the watermark', async () => {
    const name = 'ranged_finish_b';
    await seed(name);
    const { table, runId } = await split(name);
    for (const r of [0, 1, 2]) expect(await runRange(deps, table, r, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded' });
    const stopped = await runRange(deps, table, 3, { runId, trigger: 'test', hooks: crashAt('manifest-written') });
    expect(stopped).toMatchObject({ status: 'failed', error: 'injected crash at manifest-written' });
    // Every range counted, the slice's manifest written, the watermark not moved.
    const mid = await h.app.watermarks.get(name);
    expect(mid).toMatchObject({ value: null, seq: 0, lease: null, pending: { slice: 's0000000001', ranges: { count: 4, done: 4, rows: ROWS } } });
    const written = await expectOneManifest(name, { finished: false });
    // The table's next run finishes it: the same manifest, the watermark moved once.
    const next = await ingestTable(deps, table, { runId: newRunId(), trigger: 'test' });
    expect(next).toMatchObject({ status: 'succeeded', rows: ROWS, files: written.files.length, message: expect.stringMatching(/all 4 ranges of slice s0000000001 committed/) });
    expect(await expectOneManifest(name)).toEqual(written);
    await expectExactlyOnce(h, name, ROWS);
    expect(await h.app.watermarks.get(name)).toMatchObject({ seq: 1, value: '2026-01-01 00:16:40+00' });
    expect(await ingestTable(deps, table, { runId: newRunId(), trigger: 'test' })).toMatchObject({ status: 'nochange' });
  });

  it('is finished by the last range\'s message delivered again when its finisher stopped, and never after', async () => {
    const name = 'ranged_finish_c';
    await seed(name);
    const { table, runId } = await split(name);
    for (const r of [2, 0, 3]) expect(await runRange(deps, table, r, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded' });
    expect(await runRange(deps, table, 1, { runId, trigger: 'test', hooks: crashAt('manifest-written') })).toMatchObject({ status: 'failed' });
    const written = await expectOneManifest(name, { finished: false });
    // The host delivers the message again: the range is committed, every range is: it finishes the slice.
    expect(await runRange(deps, table, 1, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded', rows: ROWS, message: expect.stringMatching(/range 1 of slice s0000000001 is already committed, as is every range/) });
    expect(await expectOneManifest(name)).toEqual(written);
    await expectExactlyOnce(h, name, ROWS);
    expect(await h.app.watermarks.get(name)).toMatchObject({ seq: 1, value: '2026-01-01 00:16:40+00' });
    // And again, after the slice ended: nothing more.
    for (const r of [1, 3]) expect(await runRange(deps, table, r, { runId, trigger: 'test' })).toMatchObject({ status: 'nochange', message: expect.stringMatching(/no range \d to extract/) });
    await expectOneManifest(name);
    await expectExactlyOnce(h, name, ROWS);
  });

  it('counts a range that stops right after its commit once', async () => {
    const name = 'ranged_after_commit';
    await seed(name);
    const { table, runId } = await split(name);
    expect(await runRange(deps, table, 0, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded' });
    expect(await runRange(deps, table, 1, { runId, trigger: 'test', hooks: crashAt('committed') })).toMatchObject({ status: 'failed' });
    expect((await h.app.watermarks.get(name))!.pending!.ranges).toMatchObject({ done: 2 });
    // Delivered again: committed, so nothing is extracted or counted a second time.
    expect(await runRange(deps, table, 1, { runId, trigger: 'test' })).toMatchObject({ status: 'nochange', message: expect.stringMatching(/range 1 of slice s0000000001 is already committed/) });
    expect((await h.app.watermarks.get(name))!.pending!.ranges).toMatchObject({ done: 2 });
    for (const r of [2, 3]) expect(await runRange(deps, table, r, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded' });
    await expectOneManifest(name);
    await expectExactlyOnce(h, name, ROWS);
  });

  for (const last of [false, true]) {
    it(`lets a scheduled run overlap a range's commit${last ? ' that completes the slice' : ''} without a failure or an alert`, async () => {
      const name = `ranged_overlap_${last ? 'last' : 'mid'}`;
      await seed(name);
      const { table, runId } = await split(name);
      for (const r of last ? [0, 1, 2] : [0, 1]) expect(await runRange(deps, table, r, { runId, trigger: 'test' })).toMatchObject({ status: 'succeeded' });
      // The scheduled run holds the table's lease and has read its record when the range commits
      // (inside its describe, between taking the lease and planning): its save finds the ETag changed.
      const committing = last ? 3 : 2;
      let interleaved: Promise<unknown> | undefined;
      const overlapping: Source = {
        ...deps.source,
        describe: async (...args: Parameters<Source['describe']>) => {
          interleaved ??= runRange(deps, table, committing, { runId, trigger: 'test' });
          expect(await interleaved).toMatchObject({ status: 'succeeded' });
          return deps.source.describe(...args);
        },
      };
      const scheduled = newRunId();
      const result = await ingestTable({ ...deps, source: overlapping }, table, { runId: scheduled, trigger: 'schedule' });
      expect(interleaved).toBeDefined();
      expect(h.notifier.notices.filter((n) => n.runId === scheduled || n.subject === name)).toEqual([]);
      if (last) {
        // The range finished the slice; the scheduled run, planning again, finds nothing new.
        expect(result).toMatchObject({ status: 'nochange' });
      } else {
        expect(result).toMatchObject({ status: 'partial', ranges: [3] });
        expect(await h.app.watermarks.get(name)).toMatchObject({ value: null, lease: null, pending: { ranges: { done: 3, runId: scheduled } } });
        expect(await runRange(deps, table, 3, { runId: scheduled, trigger: 'test' })).toMatchObject({ status: 'succeeded' });
      }
      await expectOneManifest(name);
      await expectExactlyOnce(h, name, ROWS);
      expect(await h.app.watermarks.get(name)).toMatchObject({ seq: 1, value: '2026-01-01 00:16:40+00' });
    });
  }
});

describe('a ranged load in its run\'s tally', () => {
  const budget = { budgetMs: 600_000 };
  const message = (runId: string, table: string, range?: number): IngestMessage => ({ runId, table, trigger: 'test', continuation: 0, ...(range === undefined ? {} : { range }) });
  const planned = async (): Promise<string> => {
    const runId = newRunId();
    await h.app.ledger.completion.plan(runId, 'test', 1);
    return runId;
  };
  const outcome = async (runId: string) => ({ tally: await h.app.ledger.completion.tally(runId), outcomes: await h.app.ledger.completion.outcomes(runId) });
  const summaries = (runId: string) => h.notifier.notices.filter((n) => n.kind === 'run-summary' && n.runId === runId);
  afterEach(async () => {
    // Range messages the handlers queued: the tests here hand messages over themselves.
    await queueOf(h.settings, h.settings.ingestQueue).clearMessages();
  });

  it('counts the table when its last range moves the watermark, with the slice\'s rows', async () => {
    const name = 'ranged_tally';
    await seed(name);
    await h.app.ingestQueue.ensure();
    const msgDeps = h.app.ingestMessageDeps();
    const runId = await planned();
    expect(await handleIngestMessage(msgDeps, message(runId, name), budget)).toMatchObject({ status: 'partial', ranges: [0, 1, 2, 3] });
    // Handed out, not ended: the run is not complete, no summary.
    expect(await outcome(runId)).toMatchObject({ tally: { planned: 1, done: 0 }, outcomes: [] });
    for (const r of [0, 1, 2]) {
      expect(await handleIngestMessage(msgDeps, message(runId, name, r), budget)).toMatchObject({ status: 'succeeded' });
      expect(await outcome(runId)).toMatchObject({ tally: { done: 0 }, outcomes: [] });
    }
    expect(summaries(runId)).toEqual([]);
    expect(await handleIngestMessage(msgDeps, message(runId, name, 3), budget)).toMatchObject({ status: 'succeeded' });
    const files = (await h.manifests(name))[0]!.files.length;
    expect(await outcome(runId)).toMatchObject({ tally: { done: 1 }, outcomes: [{ table: name, status: 'succeeded', rows: ROWS, files }] });
    expect(summaries(runId)).toHaveLength(1);
    expect(summaries(runId)[0]!.title).toMatch(new RegExp(`1 tables, ${ROWS} rows`));
    // A range message delivered again after the slice ended counts nothing more.
    expect(await handleIngestMessage(msgDeps, message(runId, name, 3), budget)).toMatchObject({ status: 'nochange' });
    expect(await outcome(runId)).toMatchObject({ tally: { done: 1 } });
    expect(summaries(runId)).toHaveLength(1);
    // The run's page: the four ranges' activities, the slice's one manifest, none missing.
    const detail = (await runDetail({ ledger: h.app.ledger, lake: h.app.lake, alertLog: h.app.alertLog }, runId))!;
    expect(detail.activities.filter((a) => /^ingest-r000\d$/.test(a.activity) && a.status === 'succeeded')).toHaveLength(4);
    expect(detail.manifests.map((m) => [m.slice, m.rows])).toEqual([['s0000000001', ROWS]]);
    expect(detail.missingManifests).toEqual([]);
  });

  it('counts a given-up range failed in its run, and the run that hands it out again succeeded', async () => {
    const name = 'ranged_poisoned';
    await seed(name);
    await h.app.ingestQueue.ensure();
    const msgDeps = h.app.ingestMessageDeps();
    const first = await planned();
    await handleIngestMessage(msgDeps, message(first, name), budget);
    for (const r of [0, 2, 3]) await handleIngestMessage(msgDeps, message(first, name, r), budget);
    // Range 1's message fails until the host gives it up.
    await reportPoisonMessage(msgDeps, message(first, name, 1), { attempts: 5 });
    expect(await outcome(first)).toMatchObject({ tally: { done: 1 }, outcomes: [{ table: name, status: 'failed', error: 'key range 1 given up after 5 attempts' }] });
    // The next scheduled run hands range 1 out under its own id, and is counted when the slice ends.
    const second = await planned();
    expect(await handleIngestMessage(msgDeps, message(second, name), budget)).toMatchObject({ status: 'partial', ranges: [1] });
    expect(await outcome(second)).toMatchObject({ tally: { done: 0 } });
    expect(await handleIngestMessage(msgDeps, message(second, name, 1), budget)).toMatchObject({ status: 'succeeded' });
    expect(await outcome(second)).toMatchObject({ tally: { done: 1 }, outcomes: [{ table: name, status: 'succeeded', rows: ROWS }] });
    // The first run's count stays what it was.
    expect(await outcome(first)).toMatchObject({ tally: { done: 1 }, outcomes: [{ table: name, status: 'failed' }] });
    await expectExactlyOnce(h, name, ROWS);
    await expectOneManifest(name);
  });

  it('counts the earlier run partial when a later run hands out ranges still running, and the later one when they end', async () => {
    const name = 'ranged_overlap';
    await seed(name);
    await h.app.ingestQueue.ensure();
    const msgDeps = h.app.ingestMessageDeps();
    const first = await planned();
    await handleIngestMessage(msgDeps, message(first, name), budget);
    for (const r of [0, 1, 2]) await handleIngestMessage(msgDeps, message(first, name, r), budget);
    // Range 3's message of the first run has not run yet when the next scheduled run comes.
    const second = await planned();
    expect(await handleIngestMessage(msgDeps, message(second, name), budget)).toMatchObject({ status: 'partial', ranges: [3] });
    expect(await outcome(first)).toMatchObject({ tally: { done: 1 }, outcomes: [{ table: name, status: 'partial', rows: expect.any(Number) }] });
    expect(await outcome(second)).toMatchObject({ tally: { done: 0 } });
    // The first run's message finishes the slice: the run waiting on it now is the second.
    expect(await handleIngestMessage(msgDeps, message(first, name, 3), budget)).toMatchObject({ status: 'succeeded' });
    expect(await outcome(second)).toMatchObject({ tally: { done: 1 }, outcomes: [{ table: name, status: 'succeeded', rows: ROWS }] });
    expect(await outcome(first)).toMatchObject({ outcomes: [{ table: name, status: 'partial' }] });
    // The second run's own message for the range finds the slice ended.
    expect(await handleIngestMessage(msgDeps, message(second, name, 3), budget)).toMatchObject({ status: 'nochange' });
    expect(await outcome(second)).toMatchObject({ tally: { done: 1 } });
    expect(summaries(first)).toHaveLength(1);
    expect(summaries(second)).toHaveLength(1);
    await expectExactlyOnce(h, name, ROWS);
  });
});
