import mssql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutWindow, sourceInstant } from '../../shared/backfill/backfillRequest.js';
import { sizeChunks } from '../../shared/backfill/chunkSizing.js';
import type { TableConfig } from '../../shared/config/pipelineConfig.js';
import { ingestTable, type IngestDeps } from '../../shared/extract/ingestTable.js';
import { runRange } from '../../shared/extract/rangeLoad.js';
import { newRunId } from '../../shared/run/runId.js';
import { mssqlConfigFromUrl } from '../../shared/source/mssql/mssqlConnection.js';
import { MssqlSource } from '../../shared/source/mssql/mssqlSource.js';
import type { SliceBounds, TableRef } from '../../shared/source/source.js';
import { createHarness, type Harness, testId, testTable } from '../support/harness.js';
import { expectExactlyOnce } from '../support/ingest.js';

/**
 * Key ranges and backfill chunks sized by SQL Server's own statistics, against a real server
 * (MSSQL_TEST_URL, as in mssqlIntegration.test.ts; GitHub CI starts one): the row count from
 * sys.partitions, cuts from the statistics histogram resolved to whole keys, the TABLESAMPLE
 * fallback, and every row read once across the ranges and chunks they give.
 */
const url = process.env.MSSQL_TEST_URL;
if (!url) console.warn('mssql sizing tests skipped: MSSQL_TEST_URL is not set (no SQL Server can run on this machine)');

const WM = { column: 'updated_at', kind: 'timestamp' as const };
const ALL: SliceBounds = { low: null, high: '2100-01-01 00:00:00.0000000' };

describe.skipIf(!url)('SQL Server: sizing from statistics', () => {
  let admin: mssql.ConnectionPool;
  let source: MssqlSource;
  const schema = `z_${testId()}`;
  const ref = (table: string): TableRef => ({ schema, table });
  const exec = async (sql: string): Promise<void> => {
    await admin.request().batch(sql);
  };

  /** Every row's key, reading range after range with the cuts as `after`/`until`. */
  const readRanges = async (table: string, primaryKey: string[], cuts: string[][]): Promise<string[][]> => {
    const columns = await source.describe(ref(table));
    const keys: string[][] = [];
    const ends: (string[] | null)[] = [null, ...cuts, null];
    for (let r = 0; r + 1 < ends.length; r++) {
      for await (const b of source.read({ table: ref(table), columns, watermark: WM, primaryKey, bounds: ALL, after: ends[r]!, until: ends[r + 1]!, batchRows: 5000 })) {
        for (const row of b.rows) keys.push(b.key(row));
      }
    }
    return keys;
  };

  beforeAll(async () => {
    admin = await new mssql.ConnectionPool(mssqlConfigFromUrl(url!)).connect();
    await exec(`CREATE SCHEMA ${schema}`);
    source = new MssqlSource({ url: url! });
    // 20,000 rows keyed 1..23,333 (with gaps), 15,000 of them stamped on 4 May 2025 (past, so no lag cap hides them).
    await exec(`CREATE TABLE ${schema}.events (id int NOT NULL PRIMARY KEY, payload nvarchar(40) NOT NULL, updated_at datetime2(7) NOT NULL);
      WITH n AS (SELECT TOP (20000) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_objects a CROSS JOIN sys.all_objects b)
      INSERT INTO ${schema}.events SELECT i * 7 / 6, CONCAT(N'p', i),
        CASE WHEN i % 4 = 0 THEN DATEADD(minute, i % 14400, CAST('2025-05-01' AS datetime2(7))) ELSE DATEADD(second, i % 86400, CAST('2025-05-04' AS datetime2(7))) END FROM n;
      CREATE INDEX ix_events_updated ON ${schema}.events (updated_at);
      UPDATE STATISTICS ${schema}.events WITH FULLSCAN;`);
    // A composite key led by a string with five values: a histogram too coarse to cut, so a sample does.
    await exec(`CREATE TABLE ${schema}.pairs (grp varchar(10) COLLATE SQL_Latin1_General_CP1_CI_AS NOT NULL, n int NOT NULL, updated_at datetime2(7) NOT NULL, PRIMARY KEY (grp, n));
      WITH n AS (SELECT TOP (30000) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_objects a CROSS JOIN sys.all_objects b)
      INSERT INTO ${schema}.pairs SELECT CHAR(97 + i % 5) + N'-x', i, '2025-05-01' FROM n;
      UPDATE STATISTICS ${schema}.pairs WITH FULLSCAN;`);
    // A composite key led by an integer that repeats: cuts from the histogram, resolved to whole keys.
    await exec(`CREATE TABLE ${schema}.grouped (a int NOT NULL, b int NOT NULL, updated_at datetime2(7) NOT NULL, PRIMARY KEY (a, b));
      WITH n AS (SELECT TOP (24000) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_objects a CROSS JOIN sys.all_objects b)
      INSERT INTO ${schema}.grouped SELECT i / 3, i % 3, '2025-05-01' FROM n;
      UPDATE STATISTICS ${schema}.grouped WITH FULLSCAN;`);
    // No index and no statistics on its watermark column.
    await exec(`CREATE TABLE ${schema}.bare (id int NOT NULL PRIMARY KEY, updated_at datetime2(7) NOT NULL); INSERT INTO ${schema}.bare VALUES (1, '2025-05-01');`);
  });
  afterAll(async () => {
    await source?.close();
    await admin?.request().batch(`DROP TABLE ${schema}.events; DROP TABLE ${schema}.pairs; DROP TABLE ${schema}.grouped; DROP TABLE ${schema}.bare; DROP SCHEMA ${schema};`);
    await admin?.close();
  });

  it('cuts an integer key from its histogram into ranges of about equal rows that read every row once', async () => {
    const split = await source.splitKeys(ref('events'), ['id'], 8);
    expect(split).toMatchObject({ estimatedRows: 20000, estimate: 'statistics' });
    expect(split.note).toBeUndefined();
    expect(split.boundaries).toHaveLength(7);
    const ends = split.boundaries.map((b) => Number(b[0]));
    expect(ends).toEqual([...ends].sort((x, y) => x - y));
    const keys = await readRanges('events', ['id'], split.boundaries);
    const ids = keys.map((k) => Number(k[0]));
    expect(ids).toHaveLength(20000);
    expect(new Set(ids).size).toBe(20000);
    // About 2,500 rows a range.
    const bounds = [0, ...ends, Infinity];
    for (let r = 0; r + 1 < bounds.length; r++) {
      const n = ids.filter((id) => id > bounds[r]! && id <= bounds[r + 1]!).length;
      expect(Math.abs(n - 2500), `range ${r}: ${n} rows`).toBeLessThan(500);
    }
  });

  it('resolves histogram cuts of a repeating leading column to whole keys of a composite key', async () => {
    const split = await source.splitKeys(ref('grouped'), ['a', 'b'], 6);
    expect(split.note).toBeUndefined();
    expect(split.boundaries.length).toBeGreaterThanOrEqual(4);
    for (const b of split.boundaries) expect(b).toHaveLength(2);
    const keys = await readRanges('grouped', ['a', 'b'], split.boundaries);
    expect(keys).toHaveLength(24000);
    expect(new Set(keys.map((k) => k.join('|'))).size).toBe(24000);
  });

  it('falls back to a TABLESAMPLE where the histogram is too coarse, and says so', async () => {
    const split = await source.splitKeys(ref('pairs'), ['grp', 'n'], 4);
    expect(split.estimatedRows).toBe(30000);
    expect(split.note).toMatch(/histogram of grp has \d+ steps, too coarse for 4 ranges of a non-integer key: cut at a TABLESAMPLE of the keys/);
    expect(split.boundaries.length).toBeGreaterThanOrEqual(1);
    const keys = await readRanges('pairs', ['grp', 'n'], split.boundaries);
    expect(keys).toHaveLength(30000);
    expect(new Set(keys.map((k) => k.join('|'))).size).toBe(30000);
  });

  it('cuts a small table at its own keys exactly', async () => {
    expect(await source.splitKeys(ref('bare'), ['id'], 4)).toEqual({ estimatedRows: 1, estimate: 'statistics', boundaries: [] });
  });

  it('runs an initial load in the key ranges it sizes, every row exactly once', async () => {
    const h: Harness = await createHarness();
    try {
      const { sources: _slots, ...rest } = h.app.ingestDeps();
      const deps: IngestDeps = { ...rest, source, ranges: { rowsPerRange: 6000, maxRanges: 8 } };
      const table: TableConfig = testTable(schema, 'events', { maxRowsPerFile: 2000, rowGroupRows: 1000, lagSeconds: 0 });
      const runId = newRunId();
      const planned = await ingestTable(deps, table, { runId, trigger: 'test' });
      expect(planned).toMatchObject({ status: 'partial', ranges: [0, 1, 2, 3] });
      const results = await Promise.all([0, 1, 2, 3].map((i) => runRange(deps, table, i, { runId, trigger: 'test' })));
      expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
      await expectExactlyOnce(h, 'events', 20000);
    } finally {
      await h.close();
    }
  });

  it('estimates backfill windows from the watermark histogram: chunks crowd the busy day, every row once', async () => {
    const from = Date.UTC(2025, 4, 1);
    const to = Date.UTC(2025, 4, 11);
    const windows = (w: [number, number][]): SliceBounds[] => w.map(([low, high]) => ({ low: sourceInstant(new Date(low)), high: sourceInstant(new Date(high)), window: 'closed-open' }));
    const days = await source.estimateRows(ref('events'), WM, windows([...Array(10).keys()].map((d) => [from + d * 86_400_000, from + (d + 1) * 86_400_000])));
    if (days.rows === null) throw new Error(days.reason);
    expect(days.rows[3]! / days.rows.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.6);
    expect(Math.abs(days.rows.reduce((a, b) => a + b, 0) - 20000)).toBeLessThan(2000);

    const sized = await sizeChunks(from, to, (w) => source.estimateRows(ref('events'), WM, windows(w)), { targetRows: 2500, minChunkMs: 60_000, maxChunks: 1000, maxEstimates: 2000 });
    if ('reason' in sized) throw new Error(sized.reason);
    const chunks = cutWindow({ from: new Date(from), to: new Date(to), chunkMs: 86_400_000, cuts: sized.cuts });
    expect(chunks.filter((c) => c.low >= '2025-05-04 00:00:00.000000' && c.high <= '2025-05-05 00:00:00.000000').length).toBeGreaterThanOrEqual(4);
    const columns = await source.describe(ref('events'));
    const ids: number[] = [];
    for (const c of chunks) {
      for await (const b of source.read({ table: ref('events'), columns, watermark: WM, primaryKey: ['id'], bounds: { low: c.low, high: c.high, window: 'closed-open' }, after: null, batchRows: 5000 })) {
        for (const row of b.rows) ids.push(Number(b.key(row)[0]));
      }
    }
    expect(ids).toHaveLength(20000);
    expect(new Set(ids).size).toBe(20000);
  });

  it('gives no estimate, and says why, for a watermark column without statistics', async () => {
    const r = await source.estimateRows(ref('bare'), WM, [{ low: '2025-05-01 00:00:00.000000', high: '2025-05-02 00:00:00.000000', window: 'closed-open' }]);
    expect(r).toEqual({ rows: null, reason: `${schema}.bare.updated_at has no statistics (an index or CREATE STATISTICS on it gives backfills their sizes)` });
  });
});
