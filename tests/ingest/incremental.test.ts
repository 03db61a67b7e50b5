import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';
import { countById, ingest } from '../support/ingest.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

async function createEvents(name: string): Promise<void> {
  await h.db.query(`CREATE TABLE ${h.schema}.${name} (id integer PRIMARY KEY, payload text, updated_at timestamptz)`);
}

describe('initial, incremental and no-change passes', () => {
  it('loads everything first, then only what changed, and nothing when nothing did', async () => {
    await createEvents('events');
    const table = h.table('events');
    await h.db.query(`INSERT INTO ${h.schema}.events SELECT i, 'p' || i, TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 minute' FROM generate_series(1, 100) i`);

    const first = await ingest(h, table);
    expect(first).toMatchObject({ status: 'succeeded', rows: 100, files: 1, low: null, slice: 's0000000001' });
    expect(first.high).toBe('2026-01-01 01:40:00+00');
    const state1 = await h.app.watermarks.get('events');
    expect(state1).toMatchObject({ value: '2026-01-01 01:40:00+00', seq: 1, pending: null, lease: null });

    // Nothing new: no file, watermark untouched, the run says so.
    const filesBefore = await h.bronzeFiles('events');
    const idle = await ingest(h, table);
    expect(idle.status).toBe('nochange');
    expect(idle.message).toMatch(/no new rows/);
    expect(await h.bronzeFiles('events')).toEqual(filesBefore);
    expect((await h.app.watermarks.get('events'))!.value).toBe(state1!.value);
    expect((await h.manifests('events')).map((m) => m.slice)).toEqual(['s0000000001']);

    // 5 updates and 10 inserts: exactly those 15 rows land, in slice 2.
    await h.db.query(`UPDATE ${h.schema}.events SET payload = 'changed', updated_at = TIMESTAMPTZ '2026-02-01' + id * INTERVAL '1 second' WHERE id <= 5`);
    await h.db.query(`INSERT INTO ${h.schema}.events SELECT i, 'new', TIMESTAMPTZ '2026-02-02' FROM generate_series(101, 110) i`);
    const second = await ingest(h, table);
    expect(second).toMatchObject({ status: 'succeeded', rows: 15, slice: 's0000000002', low: '2026-01-01 01:40:00+00', high: '2026-02-02 00:00:00+00' });
    const manifests = await h.manifests('events');
    expect(manifests.map((m) => [m.slice, m.kind, m.rows])).toEqual([
      ['s0000000001', 'initial', 100],
      ['s0000000002', 'incremental', 15],
    ]);
    const rows = await h.bronzeRows('events');
    expect(rows).toHaveLength(115);
    expect(rows.filter((r) => r.payload === 'changed').map((r) => r.id).sort()).toEqual([1, 2, 3, 4, 5]);

    // The ledger has one row per pass, newest first, agreeing with bronze.
    const ledger = await h.app.ledger.recent('events');
    expect(ledger.map((e) => e.status)).toEqual(['succeeded', 'nochange', 'succeeded']);
    expect(ledger[0]).toMatchObject({ rows: 15, files: 1, slice: 's0000000002' });
  });

  it('keeps the source precision: rows a microsecond apart are neither lost nor repeated', async () => {
    await createEvents('micro');
    const table = h.table('micro');
    await h.db.query(`INSERT INTO ${h.schema}.micro VALUES (1, 'a', '2026-05-05 10:00:00.000001+00')`);
    const a = await ingest(h, table);
    expect(a.high).toBe('2026-05-05 10:00:00.000001+00');
    await h.db.query(`INSERT INTO ${h.schema}.micro VALUES (2, 'b', '2026-05-05 10:00:00.000002+00')`);
    const b = await ingest(h, table);
    expect(b).toMatchObject({ status: 'succeeded', rows: 1, high: '2026-05-05 10:00:00.000002+00' });
    expect([...countById(await h.bronzeRows('micro')).entries()].sort()).toEqual([
      [1, 1],
      [2, 1],
    ]);
  });

  it('does not lose a row that commits late with an older watermark', async () => {
    await createEvents('late');
    // A lag far longer than any stall of a loaded machine between the insert and the first run.
    const table = h.table('late', { lagSeconds: 60 });
    await h.db.query(`INSERT INTO ${h.schema}.late VALUES (1, 'old', now() - INTERVAL '1 hour'), (2, 'fresh', now() - INTERVAL '500 milliseconds')`);
    // Row 2 is younger than the lag: the upper bound stops short of it.
    const first = await ingest(h, table);
    expect(first).toMatchObject({ status: 'succeeded', rows: 1 });
    // A transaction that began before row 2 was written commits now, with an older timestamp.
    await h.db.query(`INSERT INTO ${h.schema}.late SELECT 3, 'late', updated_at - INTERVAL '200 milliseconds' FROM ${h.schema}.late WHERE id = 2`);
    // The next run, once rows 2 and 3 are older than the lag (here: the lag is shortened instead
    // of waiting it out), takes both: the late row sits above the first run's upper bound.
    const second = await ingest(h, { ...table, lagSeconds: 0 });
    expect(second).toMatchObject({ status: 'succeeded', rows: 2 });
    expect([...countById(await h.bronzeRows('late')).entries()].sort()).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
  });

  it('takes rows whose watermark is NULL in the initial load', async () => {
    await createEvents('nulls');
    await h.db.query(`INSERT INTO ${h.schema}.nulls VALUES (1, 'dated', '2026-01-01'), (2, 'undated', NULL)`);
    const r = await ingest(h, h.table('nulls'));
    expect(r).toMatchObject({ status: 'succeeded', rows: 2 });
  });

  it('says nochange for an empty table and leaves no state behind but the lease release', async () => {
    await createEvents('empty');
    const r = await ingest(h, h.table('empty'));
    expect(r.status).toBe('nochange');
    expect(await h.bronzeFiles('empty')).toEqual([]);
    expect((await h.app.watermarks.get('empty'))!.value).toBeNull();
  });

  it('splits a large slice into parts of at most maxRowsPerFile rows', async () => {
    await createEvents('big');
    await h.db.query(`INSERT INTO ${h.schema}.big SELECT i, repeat('x', 50), TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, 2500) i`);
    const r = await ingest(h, h.table('big', { maxRowsPerFile: 1000, rowGroupRows: 300 }));
    expect(r).toMatchObject({ status: 'succeeded', rows: 2500, files: 3 });
    const [manifest] = await h.manifests('big');
    expect(manifest!.files.map((f) => f.rows)).toEqual([1000, 1000, 500]);
    expect(manifest!.files.map((f) => f.path)).toEqual([0, 1, 2].map((p) => `big/load_date=${manifest!.loadDate}/big__s0000000001__p0000${p}.parquet`));
    expect(manifest!.bytes).toBe((await h.bronzeFiles('big')).reduce((n, f) => n + f.size, 0));
    expect(countById(await h.bronzeRows('big')).size).toBe(2500);
  });
});

describe('a configured table that does not match the source', () => {
  it('fails with every mismatch named, before reading a row, and leaves no state', async () => {
    await createEvents('mismatch');
    const r = await ingest(h, h.table('mismatch', { columns: ['id', 'payload', 'colour', 'updated_at'], primaryKey: ['id', 'region'], watermark: { column: 'payload', kind: 'timestamp' } }));
    expect(r.status).toBe('failed');
    expect(r.error).toContain('columns: column "colour" not found');
    expect(r.error).toContain('primaryKey: column "region" not found');
    expect(r.error).toContain('watermark: watermark kind "timestamp" needs a timestamp column, "payload" is text');
    expect(await h.bronzeFiles('mismatch')).toEqual([]);
    expect(await h.app.watermarks.get('mismatch')).toMatchObject({ value: null, pending: null, lease: null });
  });

  it('refuses rowversion watermarks on Postgres with the reason', async () => {
    const r = await ingest(h, h.table('events', { watermark: { column: 'updated_at', kind: 'rowversion' } }));
    expect(r.error).toMatch(/rowversion" exists only on SQL Server/);
  });
});
