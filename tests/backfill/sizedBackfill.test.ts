import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sizeChunks } from '../../shared/backfill/chunkSizing.js';
import type { BackfillStatus } from '../../shared/backfill/backfillService.js';
import { createHarness, testTable, type Harness } from '../support/harness.js';
import { countById } from '../support/ingest.js';

/**
 * Backfills whose chunks are sized by the source's row estimates (`"chunk": "auto"`), against
 * PostgreSQL's planner: more, shorter chunks where the rows are, every row once, the same chunks
 * however often (and with whatever estimates) the backfill is asked for again.
 */
let h: Harness;
const TARGET = 200;
const DAY = 86_400_000;

beforeAll(async () => {
  h = await createHarness((schema) => [testTable(schema, 'skewed', { maxRowsPerFile: 100, rowGroupRows: 50 }), testTable(schema, 'fresh')]);
  // 400 rows evenly over ten days of May, and 1,600 more on 4 May: most rows in one day.
  await h.db.query(`CREATE TABLE ${h.schema}.skewed (id integer PRIMARY KEY, payload text, updated_at timestamptz NOT NULL)`);
  await h.db.query(`INSERT INTO ${h.schema}.skewed SELECT i, 'v1', TIMESTAMPTZ '2026-05-01 00:00:00+00' + (i - 1) * INTERVAL '36 minutes' FROM generate_series(1, 400) i`);
  await h.db.query(`INSERT INTO ${h.schema}.skewed SELECT 400 + i, 'v1', TIMESTAMPTZ '2026-05-04 00:00:00+00' + (i - 1) * INTERVAL '54 seconds' FROM generate_series(1, 1600) i`);
  await h.db.query(`ANALYZE ${h.schema}.skewed`);
  // Never analyzed: the planner has no histogram of it.
  await h.db.query(`CREATE TABLE ${h.schema}.fresh (id integer PRIMARY KEY, payload text, updated_at timestamptz NOT NULL)`);
  await h.db.query(`INSERT INTO ${h.schema}.fresh SELECT i, 'v1', TIMESTAMPTZ '2026-05-01 00:00:00+00' + (i - 1) * INTERVAL '1 hour' FROM generate_series(1, 72) i`);
  (h.app.backfill as unknown as { settings: { rowsPerChunk: number } }).settings.rowsPerChunk = TARGET;
});
afterAll(async () => {
  await h?.close();
});

const span = (c: { low: string; high: string }): number => Date.parse(`${c.high.replace(' ', 'T')}Z`) - Date.parse(`${c.low.replace(' ', 'T')}Z`);
const within = (c: { low: string; high: string }, day: string): boolean => c.low >= `${day} 00:00:00.000000` && c.high <= `${day} 24:00:00.000000`;

describe('a backfill sized by row estimates', () => {
  let status: BackfillStatus;

  it('cuts a skewed window into more, shorter chunks where the rows are', async () => {
    const plan = h.app.backfill.plan({ table: 'skewed', from: '2026-05-01', to: '2026-05-11', chunk: 'auto', requestId: 'skewed-1' });
    status = (await h.app.backfill.start(plan, { queue: false })).status;
    console.log(`sized: ${status.sizing}; chunks ${status.chunks.map((c) => `${c.low.slice(5, 16)}..${c.high.slice(5, 16)}`).join(', ')}`);
    expect(status.sizing).toMatch(new RegExp(`^\\d+ chunks of about ${TARGET} rows \\(estimate: \\d+ rows in the window\\)$`));
    // Contiguous, from `from` to `to`.
    expect(status.chunks[0]!.low).toBe('2026-05-01 00:00:00.000000');
    expect(status.chunks.at(-1)!.high).toBe('2026-05-11 00:00:00.000000');
    for (let i = 1; i < status.chunks.length; i++) expect(status.chunks[i]!.low).toBe(status.chunks[i - 1]!.high);
    // 4 May holds 1,640 of the 2,000 rows: about eight chunks of a few hours there, a few long ones elsewhere.
    const busy = status.chunks.filter((c) => within(c, '2026-05-04'));
    const quiet = status.chunks.filter((c) => c.high <= '2026-05-04 00:00:00.000000' || c.low >= '2026-05-05 00:00:00.000000');
    expect(busy.length).toBeGreaterThanOrEqual(6);
    expect(busy.every((c) => span(c) < DAY / 2)).toBe(true);
    expect(quiet.length).toBeLessThanOrEqual(4);
    expect(quiet.some((c) => span(c) > 2 * DAY)).toBe(true);
    expect(status.chunks.length).toBeLessThanOrEqual(16);
  });

  it('loads every row of the window exactly once, no chunk far above its size', async () => {
    const done = await h.app.backfill.runAll(status.id);
    expect(done.status).toBe('done');
    expect(done.totals.rows).toBe(2000);
    console.log(`rows per chunk: ${done.chunks.map((c) => c.rows).join(', ')}`);
    expect(Math.max(...done.chunks.map((c) => c.rows))).toBeLessThanOrEqual(3 * TARGET);
    // Nothing else has loaded this table: bronze holds this backfill's rows only.
    expect((await h.bronzeFiles('skewed')).every((f) => f.path.includes(`__b${status.id}-c`))).toBe(true);
    const counts = countById(await h.bronzeRows('skewed'));
    expect(counts.size).toBe(2000);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('asked again after the estimates changed, it is the same backfill with the same chunks', async () => {
    await h.db.query(`INSERT INTO ${h.schema}.skewed SELECT 2000 + i, 'v2', TIMESTAMPTZ '2026-05-08 00:00:00+00' + (i - 1) * INTERVAL '30 seconds' FROM generate_series(1, 1000) i`);
    await h.db.query(`ANALYZE ${h.schema}.skewed`);
    const again = await h.app.backfill.start(h.app.backfill.plan({ table: 'skewed', from: '2026-05-01', to: '2026-05-11', chunk: 'auto', requestId: 'skewed-1' }), { queue: false });
    expect(again.created).toBe(false);
    expect(again.status.chunks.map((c) => [c.low, c.high])).toEqual(status.chunks.map((c) => [c.low, c.high]));
    // A new request sees the new rows: 8 May gets chunks of its own now.
    const fresh = (await h.app.backfill.start(h.app.backfill.plan({ table: 'skewed', from: '2026-05-01', to: '2026-05-11', chunk: 'auto', requestId: 'skewed-2' }), { queue: false })).status;
    expect(fresh.chunks.filter((c) => within(c, '2026-05-08')).length).toBeGreaterThanOrEqual(3);
  });

  it('without a chunk, the default (auto) sizes it too', async () => {
    const plan = h.app.backfill.plan({ table: 'skewed', from: '2026-05-03', to: '2026-05-05' });
    expect(plan.auto).toBe(true);
    const { status: s } = await h.app.backfill.start(plan, { queue: false });
    expect(s.sizing).toMatch(/chunks of about 200 rows/);
  });

  it('falls back to day chunks, and says why, where the planner has no statistics', async () => {
    const { status: s } = await h.app.backfill.start(h.app.backfill.plan({ table: 'fresh', from: '2026-05-01', to: '2026-05-04', chunk: 'auto' }), { queue: false });
    expect(s.sizing).toMatch(/^fixed chunks of 24 h: no row estimate: .*fresh\.updated_at has no planner statistics \(never analyzed; ANALYZE the table\)$/);
    expect(s.chunks.map((c) => c.low.slice(0, 10))).toEqual(['2026-05-01', '2026-05-02', '2026-05-03']);
    const done = await h.app.backfill.runAll(s.id);
    expect(done.totals.rows).toBe(72);
  });
});

describe('the sizing itself', () => {
  // Rows at one per minute, but 100 a minute between minutes 600 and 660 of the window.
  const rowsIn = (low: number, high: number): number => {
    const m = (t: number): number => t / 60_000;
    const base = m(high) - m(low);
    const burst = Math.max(0, Math.min(m(high), 660) - Math.max(m(low), 600));
    return base + 99 * burst;
  };
  const estimator = (calls: number[]) => async (w: [number, number][]) => (calls.push(w.length), { rows: w.map(([l, hi]) => rowsIn(l, hi)) });

  it('keeps every chunk near its size on the minute grid, within the estimate budget', async () => {
    const calls: number[] = [];
    const r = await sizeChunks(0, 1_440 * 60_000, estimator(calls), { targetRows: 500, minChunkMs: 60_000, maxChunks: 1000, maxEstimates: 400 });
    if ('reason' in r) throw new Error(r.reason);
    expect(r.estimatedRows).toBe(1_440 + 99 * 60);
    expect(r.cuts.every((c) => c % 60_000 === 0)).toBe(true);
    expect(r.chunkRows.reduce((a, b) => a + b, 0)).toBe(r.estimatedRows);
    expect(Math.max(...r.chunkRows)).toBeLessThanOrEqual(500);
    // The burst hour alone holds 6,000 rows: about 12 chunks of 5 minutes there.
    const inBurst = r.cuts.filter((c) => c > 600 * 60_000 && c < 660 * 60_000);
    expect(inBurst.length).toBeGreaterThanOrEqual(10);
    expect(calls.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(400);
  });

  it('grows the chunks rather than pass the chunk limit, and passes on why there is no estimate', async () => {
    const r = await sizeChunks(0, 1_440 * 60_000, estimator([]), { targetRows: 100, minChunkMs: 60_000, maxChunks: 10, maxEstimates: 400 });
    if ('reason' in r) throw new Error(r.reason);
    expect(r.cuts.length + 1).toBeLessThanOrEqual(10);
    expect(await sizeChunks(0, 60_000, async () => ({ rows: null, reason: 'no statistics' }), { targetRows: 1, minChunkMs: 60_000, maxChunks: 10, maxEstimates: 10 })).toEqual({ reason: 'no statistics' });
  });
});
