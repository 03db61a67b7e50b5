import mssql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type SoundlakeApp } from '../../shared/app/soundlakeApp.js';
import type { TableConfig } from '../../shared/config/pipelineConfig.js';
import { ingestTable } from '../../shared/extract/ingestTable.js';
import { createLogger } from '../../shared/logging/logger.js';
import { newRunId } from '../../shared/run/runId.js';
import { MssqlSource, mssqlConfigFromUrl } from '../../shared/source/mssql/mssqlSource.js';
import { createHarness, type Harness } from '../support/harness.js';

/**
 * The SQL Server path end to end: types through to Parquet, and rowversion watermarks that do not
 * skip a row whose transaction commits after a later one. Runs only with MSSQL_TEST_URL set.
 */
const url = process.env.MSSQL_TEST_URL;
if (!url) console.warn('mssql integration tests skipped: MSSQL_TEST_URL is not set (no SQL Server can run on this machine)');

describe.skipIf(!url)('SQL Server source, end to end', () => {
  let h: Harness;
  let pool: mssql.ConnectionPool;
  let app: SoundlakeApp;
  const schema = `m_${Math.random().toString(16).slice(2, 10)}`;
  const table = (name: string, kind: 'timestamp' | 'rowversion', column: string): TableConfig => ({
    name,
    schema,
    table: name,
    watermark: { column, kind },
    primaryKey: ['id'],
    enabled: true,
    maxRowsPerFile: 1000,
    rowGroupRows: 500,
    lagSeconds: 0,
  });

  beforeAll(async () => {
    h = await createHarness();
    pool = await new mssql.ConnectionPool(mssqlConfigFromUrl(url!) as mssql.config).connect();
    await pool.request().batch(`CREATE SCHEMA ${schema}`);
    app = await createApp(h.settings, { source: new MssqlSource({ url: url! }), logger: createLogger({ level: 'silent' }), notifier: h.notifier, config: { tables: [] } });
  });
  afterAll(async () => {
    await app?.close();
    await pool?.request().batch(`DECLARE @s nvarchar(max) = N''; SELECT @s += N'DROP TABLE ${schema}.' + QUOTENAME(name) + N';' FROM sys.tables WHERE schema_id = SCHEMA_ID('${schema}'); EXEC(@s); DROP SCHEMA ${schema};`);
    await pool?.close();
    await h?.close();
  });

  it('maps every type faithfully', async () => {
    await pool.request().batch(`
      CREATE TABLE ${schema}.types_all (
        id int PRIMARY KEY, c_tiny tinyint, c_small smallint, c_big bigint, c_dec decimal(12,3), c_wide decimal(38,10),
        c_money money, c_real real, c_float float, c_bit bit, c_nvarchar nvarchar(50), c_guid uniqueidentifier,
        c_bin varbinary(10), c_date date, c_dt2 datetime2(7), c_dto datetimeoffset(7), updated_at datetime2(7) NOT NULL);
      INSERT INTO ${schema}.types_all VALUES
        (1, 255, -32768, -9223372036854775808, 123456789.123, 1234567890123456789012345678.0123456789, 922337203685477.5807, 1.5, 2.718281828459045, 1,
         N'Sigur Rós – 🎵 日本語', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 0x00FF10, '0001-01-01', '2026-03-29 01:59:59.9999999', '2026-03-29 01:00:00.1234567 +05:30', '2026-11-01 00:00:00.0000001'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2026-11-01 00:00:00.0000002');`);
    const result = await ingestTable(app.ingestDeps(), table('types_all', 'timestamp', 'updated_at'), { runId: newRunId(), trigger: 'test' });
    expect(result, result.message).toMatchObject({ status: 'succeeded', rows: 2, high: '2026-11-01 00:00:00.0000002' });
    const rows = (await h.bronzeRows('types_all')).sort((a, b) => Number(a.id) - Number(b.id));
    expect(rows[0]).toMatchObject({
      c_tiny: 255,
      c_small: -32768,
      c_big: -9223372036854775808n,
      c_dec: 123456789123n,
      c_wide: 12345678901234567890123456780123456789n,
      c_money: 9223372036854775807n,
      c_bit: true,
      c_nvarchar: 'Sigur Rós – 🎵 日本語',
      c_guid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      c_date: -719162,
      c_dt2: BigInt(Date.UTC(2026, 2, 29, 1, 59, 59)) * 1000n + 999999n,
      c_dto: BigInt(Date.UTC(2026, 2, 28, 19, 30, 0)) * 1000n + 123456n,
    });
    expect((rows[0]!.c_bin as Buffer).toString('hex')).toBe('00ff10');
    expect(Object.entries(rows[1]!).filter(([k, v]) => k !== 'id' && k !== 'updated_at' && v !== null)).toEqual([]);
  });

  it('does not skip a row whose transaction commits late (rowversion below MIN_ACTIVE_ROWVERSION)', async () => {
    await pool.request().batch(`CREATE TABLE ${schema}.rv (id int PRIMARY KEY, payload nvarchar(20), rv rowversion); INSERT INTO ${schema}.rv (id, payload) VALUES (1, 'a');`);
    const t = table('rv', 'rowversion', 'rv');
    const late = new mssql.Transaction(pool);
    await late.begin();
    await new mssql.Request(late).batch(`INSERT INTO ${schema}.rv (id, payload) VALUES (2, 'late')`);
    // Committed after the open transaction took its rowversion: a MAX-based bound would skip row 2.
    await pool.request().batch(`INSERT INTO ${schema}.rv (id, payload) VALUES (3, 'early')`);
    const first = await ingestTable(app.ingestDeps(), t, { runId: newRunId(), trigger: 'test' });
    expect(first).toMatchObject({ status: 'succeeded', rows: 1 });
    await late.commit();
    const second = await ingestTable(app.ingestDeps(), t, { runId: newRunId(), trigger: 'test' });
    expect(second).toMatchObject({ status: 'succeeded', rows: 2 });
    expect((await h.bronzeRows('rv')).map((r) => r.id).sort()).toEqual([1, 2, 3]);
  });
});
