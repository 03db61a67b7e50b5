import mssql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutWindow } from '../../shared/backfill/backfillRequest.js';
import type { TableConfig } from '../../shared/config/pipelineConfig.js';
import { ingestTable, type IngestDeps, type TableRunResult } from '../../shared/extract/ingestTable.js';
import { newRunId } from '../../shared/run/runId.js';
import { mssqlConfigFromUrl } from '../../shared/source/mssql/mssqlConnection.js';
import { MssqlSource } from '../../shared/source/mssql/mssqlSource.js';
import type { SliceBounds, Source } from '../../shared/source/source.js';
import { createHarness, type Harness, testId, testTable } from '../support/harness.js';

/**
 * The SQL Server path against a real server: every defect of the production source that a
 * reading of the code against SQL Server's documentation found, each with the data that
 * triggers it. Runs only where a server is named (GitHub CI starts one, see ci.yml):
 *
 *   MSSQL_TEST_URL           a database with READ_COMMITTED_SNAPSHOT ON, collation
 *                            SQL_Latin1_General_CP1_CI_AS, on a server whose clock is UTC
 *   MSSQL_TEST_NORCSI_URL    a database with READ_COMMITTED_SNAPSHOT OFF (the login may ALTER it)
 *   MSSQL_TEST_LOCAL_TZ_URL  a database with RCSI on a server whose clock is not UTC
 */
const url = process.env.MSSQL_TEST_URL;
const noRcsiUrl = process.env.MSSQL_TEST_NORCSI_URL;
const localTzUrl = process.env.MSSQL_TEST_LOCAL_TZ_URL;
if (!url) console.warn('mssql integration tests skipped: MSSQL_TEST_URL is not set (no SQL Server can run on this machine)');

/** A setting added to either spelling of a connection string. */
function withSetting(base: string, urlKey: string, adoKey: string, value: string): string {
  if (/^(mssql|sqlserver):\/\//i.test(base)) {
    const u = new URL(base);
    u.searchParams.set(urlKey, value);
    return u.toString();
  }
  return `${base.replace(/;\s*$/, '')};${adoKey}=${value}`;
}

interface Slice {
  columns: string[];
  rows: unknown[][];
  keys: string[][];
  batches: number[];
}

/** Everything a read returns, with the keyset cursor of every row. */
async function readSlice(source: Source, t: TableConfig, bounds: SliceBounds, after: string[] | null = null, batchRows = 1000): Promise<Slice> {
  const described = await source.describe(t);
  const out: Slice = { columns: described.map((c) => c.name), rows: [], keys: [], batches: [] };
  for await (const b of source.read({ table: t, columns: described, watermark: t.watermark, primaryKey: t.primaryKey, bounds, after, batchRows })) {
    out.batches.push(b.rows.length);
    for (const r of b.rows) {
      out.keys.push(b.key(r));
      out.rows.push(r.slice(0, described.length));
    }
  }
  return out;
}

const column = (s: Slice, name: string): unknown[] => {
  const i = s.columns.indexOf(name);
  if (i < 0) throw new Error(`no column ${name}`);
  return s.rows.map((r) => r[i]);
};

const micros = (iso: string): bigint => BigInt(Date.parse(iso)) * 1000n;

/** Drops every table, then every alias type, then the schema. */
const dropSchema = (schema: string): string => `
  DECLARE @s nvarchar(max) = N'';
  SELECT @s += N'DROP TABLE ' + QUOTENAME(SCHEMA_NAME(schema_id)) + N'.' + QUOTENAME(name) + N';' FROM sys.tables WHERE schema_id = SCHEMA_ID('${schema}');
  SELECT @s += N'DROP TYPE ' + QUOTENAME(SCHEMA_NAME(schema_id)) + N'.' + QUOTENAME(name) + N';' FROM sys.types WHERE schema_id = SCHEMA_ID('${schema}') AND is_user_defined = 1;
  EXEC(@s);
  DROP SCHEMA ${schema};`;

describe.skipIf(!url)('SQL Server source, end to end', () => {
  let h: Harness;
  let admin: mssql.ConnectionPool;
  let source: MssqlSource;
  let deps: IngestDeps;
  const schema = `m_${testId()}`;
  const exec = async (sql: string): Promise<void> => {
    await admin.request().batch(sql);
  };
  const table = (name: string, overrides: Partial<TableConfig> = {}): TableConfig =>
    testTable(schema, name, { maxRowsPerFile: 1000, rowGroupRows: 500, lagSeconds: 0, ...overrides });
  const ingest = (t: TableConfig, depsOverride: Partial<IngestDeps> = {}, deadline?: number): Promise<TableRunResult> =>
    ingestTable({ ...deps, ...depsOverride }, t, { runId: newRunId(), trigger: 'test', ...(deadline === undefined ? {} : { deadline }) });
  const ordered = async (sql: string): Promise<unknown[]> => (await admin.request().query(sql)).recordset.map((r: Record<string, unknown>) => Object.values(r)[0]);

  beforeAll(async () => {
    h = await createHarness();
    admin = await new mssql.ConnectionPool(mssqlConfigFromUrl(url!)).connect();
    await exec(`CREATE SCHEMA ${schema}`);
    source = new MssqlSource({ url: url! });
    deps = { ...h.app.ingestDeps(), source };
  });
  afterAll(async () => {
    await source?.close();
    await admin?.request().batch(dropSchema(schema));
    await admin?.close();
    await h?.close();
  });

  it('maps every type faithfully: money keeps four decimals, time keeps 100 ns, alias types read as their base type', async () => {
    await exec(`CREATE TYPE ${schema}.Amount FROM decimal(19,4) NOT NULL`);
    await exec(`CREATE TYPE ${schema}.Stamp FROM datetime2(3)`);
    await exec(`
      CREATE TABLE ${schema}.types_all (
        id int PRIMARY KEY, c_tiny tinyint, c_small smallint, c_big bigint, c_dec decimal(12,3), c_wide decimal(38,10),
        c_money money, c_smallmoney smallmoney, c_real real, c_float float, c_bit bit, c_nvarchar nvarchar(50), c_guid uniqueidentifier,
        c_bin varbinary(10), c_date date, c_time time(7), c_dt datetime, c_sdt smalldatetime, c_dt2 datetime2(7), c_dto datetimeoffset(7),
        c_amount ${schema}.Amount, updated_at ${schema}.Stamp NOT NULL);
      INSERT INTO ${schema}.types_all VALUES
        (1, 255, -32768, -9223372036854775808, 123456789.123, 1234567890123456789012345678.0123456789, 922337203685477.5807, 12.3456, 1.5, 2.718281828459045, 1,
         N'Sigur Rós – 🎵 日本語', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 0x00FF10, '0001-01-01', '13:14:15.1234567', '2026-01-13T10:00:00.003', '2026-01-13T10:00:00',
         '2026-03-29T01:59:59.9999999', '2026-03-29T01:00:00.1234567+05:30', 123456789012345.6789, '2026-11-01T00:00:00.001'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, '2026-11-01T00:00:00.002');`);
    const t = table('types_all');
    const described = await source.describe(t);
    const typeOf = (n: string) => described.find((c) => c.name === n);
    expect(typeOf('c_amount')).toMatchObject({ sourceType: 'decimal(19,4)', parquet: { kind: 'decimal', precision: 19, scale: 4 } });
    expect(typeOf('updated_at')).toMatchObject({ sourceType: 'datetime2(3)', parquet: { kind: 'timestamp' } });
    const result = await ingest(t);
    expect(result, result.message).toMatchObject({ status: 'succeeded', rows: 2, high: '2026-11-01 00:00:00.0020000' });
    const rows = (await h.bronzeRows('types_all')).sort((a, b) => Number(a.id) - Number(b.id));
    expect(rows[0]).toMatchObject({
      c_tiny: 255,
      c_small: -32768,
      c_big: -9223372036854775808n,
      c_dec: 123456789123n,
      c_wide: 12345678901234567890123456780123456789n,
      c_money: 9223372036854775807n,
      c_smallmoney: 123456n,
      c_real: 1.5,
      c_float: 2.718281828459045,
      c_bit: true,
      c_nvarchar: 'Sigur Rós – 🎵 日本語',
      c_guid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      c_date: -719162,
      c_time: '13:14:15.1234567',
      c_sdt: micros('2026-01-13T10:00:00Z'),
      c_dt2: micros('2026-03-29T01:59:59Z') + 999999n,
      c_dto: micros('2026-03-28T19:30:00Z') + 123456n,
      c_amount: 1234567890123456789n,
    });
    // datetime holds 1/300 s: .003 is 3.333 ms (3 ms under compatibility levels below 130).
    const dt = rows[0]!.c_dt as bigint;
    expect(dt - micros('2026-01-13T10:00:00Z')).toBeGreaterThanOrEqual(3000n);
    expect(dt - micros('2026-01-13T10:00:00Z')).toBeLessThanOrEqual(3334n);
    expect((rows[0]!.c_bin as Buffer).toString('hex')).toBe('00ff10');
    expect(Object.entries(rows[1]!).filter(([k, v]) => !['id', 'updated_at', 'c_amount'].includes(k) && v !== null)).toEqual([]);
  });

  describe('timestamp watermarks of every kind, incremental and backfill', () => {
    const kinds: { type: string; first: string[]; later: string[] }[] = [
      {
        type: 'datetime',
        first: ['2026-01-13T10:00:00.000', '2026-01-13T10:00:00.003', '2026-01-13T10:00:00.007', '2026-01-14T23:59:59.997'],
        later: ['2026-01-15T00:00:00.000', '2026-01-15T12:30:00.123'],
      },
      {
        type: 'smalldatetime',
        first: ['2026-01-13T10:00:00', '2026-01-13T10:01:00', '2026-01-14T23:59:00'],
        later: ['2026-01-15T00:00:00', '2026-01-15T12:30:00'],
      },
      {
        type: 'datetime2(3)',
        first: ['2026-01-13T10:00:00.001', '2026-01-13T10:00:00.002', '2026-01-14T23:59:59.999'],
        later: ['2026-01-15T00:00:00.000', '2026-01-15T12:30:00.123'],
      },
      {
        type: 'datetimeoffset(7)',
        first: ['2026-01-13T10:00:00.0000001+05:30', '2026-01-13T10:00:00.0000002-08:00', '2026-01-14T23:59:59.9999999+00:00'],
        // Later in UTC than everything before (2026-01-15 01:00 and 15:30 UTC).
        later: ['2026-01-15T02:00:00+01:00', '2026-01-16T05:30:00.123+14:00'],
      },
    ];
    for (const [n, k] of kinds.entries()) {
      it(`${k.type}: ingests, moves on, stays put, and backfill windows partition the rows exactly`, async () => {
        const name = `wm_${n}`;
        const values = (vs: string[], from: number) => vs.map((v, i) => `(${from + i}, '${v}')`).join(', ');
        await exec(`CREATE TABLE ${schema}.${name} (id int PRIMARY KEY, updated_at ${k.type} NOT NULL);
                    INSERT INTO ${schema}.${name} VALUES ${values(k.first, 1)};`);
        const t = table(name);
        const first = await ingest(t);
        expect(first, first.message).toMatchObject({ status: 'succeeded', rows: k.first.length });
        expect(first.high).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{7}$/);
        await exec(`INSERT INTO ${schema}.${name} VALUES ${values(k.later, 100)}`);
        const second = await ingest(t);
        expect(second, second.message).toMatchObject({ status: 'succeeded', rows: k.later.length, low: first.high });
        expect(await ingest(t)).toMatchObject({ status: 'nochange' });
        const ids = (await h.bronzeRows(name)).map((r) => r.id).sort((a, b) => Number(a) - Number(b));
        expect(ids).toEqual([...k.first.map((_, i) => 1 + i), ...k.later.map((_, i) => 100 + i)]);

        // Backfill chunks are [low, high) instants with microseconds (6 digits): together they hold
        // every row of the window once, whatever the column's precision.
        const chunks = cutWindow({ from: new Date('2026-01-13T00:00:00Z'), to: new Date('2026-01-16T00:00:00Z'), chunkMs: 5 * 3_600_000 });
        const seen: unknown[] = [];
        for (const c of chunks) {
          const bounds: SliceBounds = { low: c.low, high: c.high, window: 'closed-open' };
          const s = await readSlice(source, t, bounds);
          expect(await source.hasRows(t, t.watermark, bounds)).toBe(s.rows.length > 0);
          seen.push(...column(s, 'id'));
        }
        const utc = k.type.startsWith('datetimeoffset') ? '+00:00' : '';
        const expected = await ordered(
          `SELECT id FROM ${schema}.${name} WHERE updated_at >= '2026-01-13T00:00:00${utc}' AND updated_at < '2026-01-16T00:00:00${utc}' ORDER BY id`,
        );
        expect(seen.sort((a, b) => Number(a) - Number(b))).toEqual(expected);
        expect(expected.length).toBe(k.first.length + k.later.length);
      });
    }
  });

  it('reads datetime bounds and keys the same under SET LANGUAGE british (DATEFORMAT dmy)', async () => {
    const britishUrl = withSetting(url!, 'language', 'Current Language', 'british');
    const british = new MssqlSource({ url: britishUrl });
    const probe = await new mssql.ConnectionPool(mssqlConfigFromUrl(britishUrl)).connect();
    try {
      const session = (await probe.request().query(`SELECT @@LANGUAGE AS language, date_format AS dateFormat FROM sys.dm_exec_sessions WHERE session_id = @@SPID`)).recordset[0];
      expect(session).toEqual({ language: 'British', dateFormat: 'dmy' });
      await exec(`CREATE TABLE ${schema}.british (at datetime NOT NULL PRIMARY KEY, updated_at datetime NOT NULL);
        INSERT INTO ${schema}.british VALUES ('2026-01-13T10:00:00.003', '2026-01-13T10:00:00.003'), ('2026-01-14T10:00:00', '2026-01-14T10:00:00'),
                                             ('2026-02-25T10:00:00', '2026-02-25T10:00:00');`);
      const t = table('british', { primaryKey: ['at'] });
      const britishDeps = { source: british as Source };
      const first = await ingest(t, britishDeps);
      expect(first, first.message).toMatchObject({ status: 'succeeded', rows: 3 });
      await exec(`INSERT INTO ${schema}.british VALUES ('2026-03-13T10:00:00', '2026-03-13T10:00:00')`);
      expect(await ingest(t, britishDeps)).toMatchObject({ status: 'succeeded', rows: 1 });
      const all = await readSlice(british, t, { low: null, high: '2026-12-31 00:00:00' });
      const tail = await readSlice(british, t, { low: null, high: '2026-12-31 00:00:00' }, all.keys[0]!);
      expect(tail.keys).toEqual(all.keys.slice(1));
      const window = await readSlice(british, t, { low: '2026-01-13 00:00:00.000000', high: '2026-01-14 00:00:00.000000', window: 'closed-open' });
      expect(window.rows).toHaveLength(1);
    } finally {
      await probe.close();
      await british.close();
    }
  });

  it('resumes varchar keys with hyphens and apostrophes exactly, in the order SQL_Latin1_General_CP1_CI_AS sorts them, with an index seek', async () => {
    const keys = ['a', 'a-b', 'ab', "a'b", 'a-c', 'ac', 'co-op', 'coop', 'co op', "o'neil", 'oneil', 'o-neil', 'b', '-', "'", 'a--', 'ab-', "ab'", 'zz', '-z', 'z-'];
    await exec(`CREATE TABLE ${schema}.names (k varchar(40) COLLATE SQL_Latin1_General_CP1_CI_AS NOT NULL PRIMARY KEY, updated_at datetime2(7) NOT NULL);
      INSERT INTO ${schema}.names VALUES ${keys.map((k) => `('${k.replaceAll("'", "''")}', '2026-01-01')`).join(', ')};`);
    const t = table('names', { primaryKey: ['k'], maxRowsPerFile: 2 });
    const order = (await ordered(`SELECT k FROM ${schema}.names ORDER BY k`)) as string[];
    const bounds = { low: null, high: '2026-01-02 00:00:00' };
    for (let i = 0; i < order.length; i++) {
      const tail = await readSlice(source, t, bounds, [order[i]!]);
      expect(tail.keys.map((k) => k[0]), `after ${JSON.stringify(order[i])}`).toEqual(order.slice(i + 1));
    }
    // The resume predicate compares in the column's own type: no conversion of the column, a seek.
    const plans = await ordered(`SELECT CONVERT(nvarchar(max), qp.query_plan) FROM sys.dm_exec_query_stats qs
        CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) st CROSS APPLY sys.dm_exec_query_plan(qs.plan_handle) qp
       WHERE st.text LIKE N'%FROM \\[${schema}\\].\\[names\\]%@k0%' ESCAPE N'\\'`);
    expect(plans.length).toBeGreaterThan(0);
    for (const plan of plans as string[]) {
      expect(plan).toContain('<SeekPredicates>');
      expect(plan).not.toMatch(/CONVERT_IMPLICIT\(nvarchar\(\d+\),[^)]*\[k\]/);
    }
    // And a whole ingest in parts of two rows: every row once.
    const result = await ingest(t);
    expect(result, result.message).toMatchObject({ status: 'succeeded', rows: keys.length, files: Math.ceil(keys.length / 2) });
    expect((await h.bronzeRows('names')).map((r) => r.k).sort()).toEqual([...keys].sort());
  });

  it('resumes binary, time, money, float, datetime, datetimeoffset and uniqueidentifier keys after every row', async () => {
    const cases: { type: string; values: string[] }[] = [
      { type: 'binary(4)', values: ['0x00000001', '0x000000FF', '0x0000FF00', '0x7F000000', '0x80000000', '0xFFFFFFFF', '0x00000000'] },
      { type: 'varbinary(8)', values: ['0x01', '0x0101', '0x02', '0xFF', '0x00FF', '0x0001FF'] },
      { type: 'time(7)', values: ["'00:00:00.0000001'", "'00:00:00.0000002'", "'12:00:00.1234567'", "'12:00:00.1234568'", "'23:59:59.9999999'"] },
      { type: 'money', values: ['0.0001', '1.2345', '1.2349', '1.2350', '-5.5555', '922337203685477.5807'] },
      { type: 'float', values: ['0.1', '0.30000000000000004', '0.3', '1e300', '-2.2250738585072014e-308', 'CONVERT(float, 1) / 3', 'CONVERT(float, 1) / 3 + 1e-16'] },
      { type: 'real', values: ['CONVERT(real, 0.1)', 'CONVERT(real, 1) / 3', 'CONVERT(real, 2) / 3', 'CONVERT(real, 3.4e38)'] },
      { type: 'datetime', values: ["'2026-01-13T10:00:00.000'", "'2026-01-13T10:00:00.003'", "'2026-01-13T10:00:00.007'", "'2026-01-13T10:00:00.010'"] },
      { type: 'datetimeoffset(7)', values: ["'2026-01-13T10:00:00+05:30'", "'2026-01-13T04:30:00.0000001+00:00'", "'2026-01-13T04:29:59.9999999+00:00'"] },
      { type: 'uniqueidentifier', values: ["'00000000-0000-0000-0000-000000000001'", "'00000000-0000-0000-0000-010000000000'", "'01000000-0000-0000-0000-000000000000'", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'"] },
    ];
    for (const [n, c] of cases.entries()) {
      const name = `key_${n}`;
      await exec(`CREATE TABLE ${schema}.${name} (k ${c.type} NOT NULL PRIMARY KEY, ord int NOT NULL, updated_at datetime2(7) NOT NULL);
        INSERT INTO ${schema}.${name} VALUES ${c.values.map((v, i) => `(${v}, ${i}, '2026-01-01')`).join(', ')};`);
      const t = table(name, { primaryKey: ['k'] });
      const order = await ordered(`SELECT ord FROM ${schema}.${name} ORDER BY k`);
      const bounds = { low: null, high: '2026-01-02 00:00:00' };
      const all = await readSlice(source, t, bounds);
      expect(column(all, 'ord'), c.type).toEqual(order);
      for (let i = 0; i < all.keys.length; i++) {
        const tail = await readSlice(source, t, bounds, all.keys[i]!);
        expect(column(tail, 'ord'), `${c.type} after ${all.keys[i]}`).toEqual(order.slice(i + 1));
      }
    }
  });

  it('resumes a slice across many parts and many invocations, composite key, every row once', async () => {
    await exec(`CREATE TABLE ${schema}.many (region varchar(20) COLLATE SQL_Latin1_General_CP1_CI_AS NOT NULL, at datetime2(3) NOT NULL, seq int NOT NULL,
        updated_at datetime NOT NULL, PRIMARY KEY (region, at));
      WITH n AS (SELECT TOP (300) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_objects)
      INSERT INTO ${schema}.many SELECT CHOOSE(i % 5 + 1, 'eu-west', 'eu''s', 'euwest', 'us-east', 'us east'),
                                        DATEADD(millisecond, i, CONVERT(datetime2(3), '2026-01-13T00:00:00')), i,
                                        DATEADD(millisecond, 10 * i, CONVERT(datetime, '2026-01-13T00:00:00')) FROM n;`);
    const t = table('many', { primaryKey: ['region', 'at'], maxRowsPerFile: 7 });
    let result = await ingest(t, {}, Date.now());
    let invocations = 1;
    while (result.status === 'partial') {
      result = await ingest(t, {}, Date.now());
      invocations++;
    }
    expect(result, result.message).toMatchObject({ status: 'succeeded', rows: 300, files: Math.ceil(300 / 7) });
    expect(invocations).toBeGreaterThan(10);
    const seqs = (await h.bronzeRows('many')).map((r) => r.seq as number).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it("measures lag on the table's own clock and writes UTC for a column kept in local time", async () => {
    // The application writes Tokyo wall-clock time (a server in Japan, GETDATE()).
    await exec(`CREATE TABLE ${schema}.tokyo (id int PRIMARY KEY, updated_at datetime2(7) NOT NULL);
      INSERT INTO ${schema}.tokyo VALUES (1, DATEADD(minute, -2, CONVERT(datetime2(7), SYSDATETIMEOFFSET() AT TIME ZONE 'Tokyo Standard Time')));`);
    const [local] = (await ordered(`SELECT CONVERT(varchar(27), updated_at, 121) FROM ${schema}.tokyo`)) as string[];
    const utcMicros = micros(`${local!.slice(0, 19).replace(' ', 'T')}+09:00`) + BigInt(Number(local!.slice(20, 26)));
    // Read as UTC, the row is nine hours in the future: lag 60 s leaves it out.
    expect(await ingest(table('tokyo', { lagSeconds: 60 }))).toMatchObject({ status: 'nochange' });
    const zoned = table('tokyo', { name: 'tokyo_zoned', lagSeconds: 60, timeZone: 'Tokyo Standard Time' });
    const result = await ingest(zoned);
    expect(result, result.message).toMatchObject({ status: 'succeeded', rows: 1, high: local });
    expect((await h.bronzeRows('tokyo_zoned'))[0]?.updated_at).toBe(utcMicros);
    // A backfill window is UTC instants: it finds the row around its UTC time, not its local time.
    const iso = (m: bigint, deltaMin: number) => new Date(Number(m / 1000n) + deltaMin * 60_000).toISOString().replace('T', ' ').replace('Z', '000');
    expect(await source.hasRows(zoned, zoned.watermark, { low: iso(utcMicros, -10), high: iso(utcMicros, 10), window: 'closed-open' })).toBe(true);
    expect(await source.hasRows(zoned, zoned.watermark, { low: iso(utcMicros, 9 * 60 - 10), high: iso(utcMicros, 9 * 60 + 10), window: 'closed-open' })).toBe(false);
    const unknown = await ingest(table('tokyo', { name: 'tokyo_mars', timeZone: 'Mars Standard Time' }));
    expect(unknown.status).toBe('failed');
    expect(unknown.message).toMatch(/timeZone of m_\w+\.tokyo: "Mars Standard Time" is not in sys\.time_zone_info/);
  });

  it('bounds batches by bytes for (max) columns', async () => {
    await exec(`CREATE TABLE ${schema}.wide (id int PRIMARY KEY, doc nvarchar(max) NOT NULL, updated_at datetime2(7) NOT NULL);
      WITH n AS (SELECT TOP (40) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_objects)
      INSERT INTO ${schema}.wide SELECT i, REPLICATE(CONVERT(nvarchar(max), N'x'), 300000), '2026-01-01' FROM n;`);
    const narrow = new MssqlSource({ url: url!, batchBytes: 2 * 1024 * 1024 });
    try {
      const s = await readSlice(narrow, table('wide'), { low: null, high: '2026-01-02 00:00:00' }, null, 10_000);
      expect(s.rows).toHaveLength(40);
      // 600 KB a row: a batch closes at the fourth row (2.4 MB >= 2 MiB), never at 10 000.
      expect(Math.max(...s.batches)).toBeLessThanOrEqual(4);
      expect((s.rows[0]![1] as string).length).toBe(300_000);
    } finally {
      await narrow.close();
    }
  });

  it('refuses a primary key that is not unique or is nullable, before reading', async () => {
    await exec(`CREATE TABLE ${schema}.heap (id int NOT NULL, updated_at datetime2(7) NOT NULL);
      INSERT INTO ${schema}.heap VALUES (1, '2026-01-01'), (1, '2026-01-01');
      CREATE TABLE ${schema}.nullable_key (id int NULL UNIQUE, updated_at datetime2(7) NOT NULL);
      INSERT INTO ${schema}.nullable_key VALUES (NULL, '2026-01-01'), (1, '2026-01-01');`);
    const heap = await ingest(table('heap'));
    expect(heap.status).toBe('failed');
    expect(heap.message).toMatch(/primaryKey: no unique index or constraint of m_\w+\.heap has only columns of \[id\]/);
    const nullable = await ingest(table('nullable_key'));
    expect(nullable.status).toBe('failed');
    expect(nullable.message).toMatch(/primaryKey: column id of m_\w+\.nullable_key is nullable/);
  });

  it('gives connections back when readers break off early, again and again', async () => {
    await exec(`CREATE TABLE ${schema}.early (id int PRIMARY KEY, updated_at datetime2(7) NOT NULL);
      WITH n AS (SELECT TOP (500) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_objects)
      INSERT INTO ${schema}.early SELECT i, '2026-01-01' FROM n;`);
    const appName = `soundlake-early-${testId()}`;
    const small = new MssqlSource({ url: withSetting(url!, 'appName', 'Application Name', appName), maxConnections: 2 });
    const t = table('early');
    try {
      const columns = await small.describe(t);
      for (let round = 0; round < 12; round++) {
        let seen = 0;
        for await (const b of small.read({ table: t, columns, watermark: t.watermark, primaryKey: ['id'], bounds: { low: null, high: '2026-01-02 00:00:00' }, after: null, batchRows: 10 })) {
          seen += b.rows.length;
          if (seen >= 20) break;
        }
        expect(seen).toBe(20);
      }
      expect(await small.hasRows(t, t.watermark, { low: null, high: '2026-01-02 00:00:00' })).toBe(true);
      const sessions = await ordered(`SELECT COUNT(*) FROM sys.dm_exec_sessions WHERE program_name = '${appName}'`);
      expect(sessions[0]).toBeLessThanOrEqual(2);
    } finally {
      await small.close();
    }
  });

  it('times out a request blocked behind a schema lock instead of waiting for the function timeout', async () => {
    await exec(`CREATE TABLE ${schema}.locked (id int PRIMARY KEY, updated_at datetime2(7) NOT NULL); INSERT INTO ${schema}.locked VALUES (1, '2026-01-01');`);
    const t = table('locked');
    const quick = new MssqlSource({ url: withSetting(url!, 'requestTimeout', 'Command Timeout', '3') });
    await quick.describe(t); // catalogue read before the lock
    const ddl = new mssql.Transaction(admin);
    await ddl.begin();
    try {
      // A schema-modification lock blocks even row-versioned readers.
      await new mssql.Request(ddl).batch(`ALTER TABLE ${schema}.locked ADD extra int NULL`);
      await expect(quick.hasRows(t, t.watermark, { low: null, high: '2026-01-02 00:00:00' })).rejects.toThrow(/failed to complete in 3000ms|no rows from SQL Server/);
      await expect(readSlice(quick, t, { low: null, high: '2026-01-02 00:00:00' })).rejects.toThrow(/Timeout|failed to complete|no rows from SQL Server/);
    } finally {
      await ddl.rollback();
      await quick.close();
    }
  });

  it('does not skip a row whose transaction commits late (rowversion below MIN_ACTIVE_ROWVERSION)', async () => {
    await exec(`CREATE TABLE ${schema}.rv (id int PRIMARY KEY, payload nvarchar(20), rv rowversion); INSERT INTO ${schema}.rv (id, payload) VALUES (1, 'a');
                CREATE TABLE ${schema}.rv_empty (id int PRIMARY KEY, rv rowversion);`);
    const t = table('rv', { watermark: { column: 'rv', kind: 'rowversion' } });
    expect(await source.safeUpperBound(table('rv_empty'), { column: 'rv', kind: 'rowversion' }, 0)).toBeNull();
    const late = new mssql.Transaction(admin);
    await late.begin();
    let committed = false;
    try {
      await new mssql.Request(late).batch(`INSERT INTO ${schema}.rv (id, payload) VALUES (2, 'late')`);
      // Committed after the open transaction took its rowversion: a MAX-based bound would skip row 2.
      await exec(`INSERT INTO ${schema}.rv (id, payload) VALUES (3, 'early')`);
      const first = await ingest(t);
      expect(first).toMatchObject({ status: 'succeeded', rows: 1 });
      await late.commit();
      committed = true;
    } finally {
      // A failed assertion must not leave the transaction holding locks the clean-up waits on.
      if (!committed) await late.rollback().catch(() => undefined);
    }
    const second = await ingest(t);
    expect(second).toMatchObject({ status: 'succeeded', rows: 2 });
    expect(await ingest(t)).toMatchObject({ status: 'nochange' });
    expect((await h.bronzeRows('rv')).map((r) => r.id).sort()).toEqual([1, 2, 3]);
  });
});

describe.skipIf(!noRcsiUrl)('SQL Server source on a database without READ_COMMITTED_SNAPSHOT', () => {
  let admin: mssql.ConnectionPool;
  const schema = `n_${testId()}`;
  const t = testTable(schema, 'orders', { lagSeconds: 0 });
  const bounds = { low: null, high: '2026-01-02 00:00:00' };

  beforeAll(async () => {
    admin = await new mssql.ConnectionPool(mssqlConfigFromUrl(noRcsiUrl!)).connect();
    const state = (await admin.request().query(`SELECT is_read_committed_snapshot_on AS rcsi, snapshot_isolation_state AS snapshot FROM sys.databases WHERE database_id = DB_ID()`)).recordset[0];
    expect(state, 'MSSQL_TEST_NORCSI_URL must name a database with READ_COMMITTED_SNAPSHOT and ALLOW_SNAPSHOT_ISOLATION off').toEqual({ rcsi: false, snapshot: 0 });
    await admin.request().batch(`CREATE SCHEMA ${schema}`);
    await admin.request().batch(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY, status varchar(10) NOT NULL, updated_at datetime2(7) NOT NULL);
      INSERT INTO ${schema}.orders VALUES (1, 'new', '2026-01-01'), (2, 'new', '2026-01-01');`);
  });
  afterAll(async () => {
    await admin?.request().batch(`ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION OFF`).catch(() => undefined);
    await admin?.request().batch(dropSchema(schema));
    await admin?.close();
  });

  /** A writer holding an exclusive row lock, as a busy OLTP database always has. */
  async function withWriter<T>(work: () => Promise<T>): Promise<T> {
    const writer = new mssql.Transaction(admin);
    await writer.begin();
    try {
      await new mssql.Request(writer).batch(`UPDATE ${schema}.orders SET status = 'paid' WHERE id = 1`);
      return await work();
    } finally {
      await writer.rollback();
    }
  }

  it('fails fast, naming the setting, instead of waiting behind the writer', { timeout: 60_000 }, async () => {
    const source = new MssqlSource({ url: noRcsiUrl! });
    try {
      await withWriter(async () => {
        await expect(source.hasRows(t, t.watermark, bounds)).rejects.toThrow(/READ_COMMITTED_SNAPSHOT OFF and ALLOW_SNAPSHOT_ISOLATION OFF/);
        await expect(source.describe(t)).rejects.toThrow(/READ_COMMITTED_SNAPSHOT OFF/);
      });
    } finally {
      await source.close();
    }
  });

  it('reads under SNAPSHOT where the database allows it, past an open writer', { timeout: 60_000 }, async () => {
    await admin.request().batch(`ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON`);
    const source = new MssqlSource({ url: noRcsiUrl! });
    try {
      await withWriter(async () => {
        const s = await readSlice(source, t, bounds);
        // The committed values, not the writer's uncommitted 'paid'.
        expect(column(s, 'status')).toEqual(['new', 'new']);
        expect(await source.safeUpperBound(t, t.watermark, 0)).toBe('2026-01-01 00:00:00.0000000');
      });
    } finally {
      await source.close();
      await admin.request().batch(`ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION OFF`);
    }
  });
});

describe.skipIf(!localTzUrl)('SQL Server source on a server whose clock is not UTC', () => {
  let h: Harness;
  let admin: mssql.ConnectionPool;
  let source: MssqlSource;
  const schema = `z_${testId()}`;
  const table = (name: string, overrides: Partial<TableConfig> = {}): TableConfig => testTable(schema, 'local_clock', { name, lagSeconds: 60, ...overrides });
  const ingest = (t: TableConfig): Promise<TableRunResult> => ingestTable({ ...h.app.ingestDeps(), source }, t, { runId: newRunId(), trigger: 'test' });

  beforeAll(async () => {
    h = await createHarness();
    admin = await new mssql.ConnectionPool(mssqlConfigFromUrl(localTzUrl!)).connect();
    const offset = (await admin.request().query('SELECT DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) AS m')).recordset[0]?.m as number;
    expect(offset, 'MSSQL_TEST_LOCAL_TZ_URL must name a server whose clock is not UTC (the CI container sets TZ=Asia/Tokyo)').not.toBe(0);
    await admin.request().batch(`CREATE SCHEMA ${schema}`);
    // GETDATE(): the server's local wall clock, as applications on such servers write it.
    await admin.request().batch(`CREATE TABLE ${schema}.local_clock (id int PRIMARY KEY, updated_at datetime NOT NULL, at datetimeoffset(7) NOT NULL);
      INSERT INTO ${schema}.local_clock VALUES (1, DATEADD(minute, -5, GETDATE()), DATEADD(minute, -5, SYSDATETIMEOFFSET()));`);
    source = new MssqlSource({ url: localTzUrl! });
  });
  afterAll(async () => {
    await source?.close();
    await admin?.request().batch(dropSchema(schema));
    await admin?.close();
    await h?.close();
  });

  it('refuses a zone-less watermark without timeZone, naming the fix', async () => {
    const result = await ingest(table('plain'));
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/watermark column updated_at is datetime, which has no offset, and the server's clock is in .*; set timeZone on the table/);
  });

  it("extracts with the server's zone configured, and writes the instant as UTC", async () => {
    const result = await ingest(table('zoned', { timeZone: 'Tokyo Standard Time' }));
    expect(result, result.message).toMatchObject({ status: 'succeeded', rows: 1 });
    const [row] = await h.bronzeRows('zoned');
    const at = (await admin.request().query(`SELECT DATEDIFF_BIG(microsecond, '1970-01-01', SWITCHOFFSET(at, '+00:00')) AS m FROM ${schema}.local_clock`)).recordset[0]?.m as string;
    // updated_at (local, 1/300 s) and at (an instant) were written by one statement: milliseconds
    // apart at most, where reading local time as UTC would put them nine hours apart.
    const diff = (row!.updated_at as bigint) - BigInt(at);
    expect(diff < 0n ? -diff : diff).toBeLessThan(20_000n);
  });

  it('needs no timeZone for a datetimeoffset watermark', async () => {
    const result = await ingest(table('offset', { watermark: { column: 'at', kind: 'timestamp' } }));
    expect(result, result.message).toMatchObject({ status: 'succeeded', rows: 1 });
  });
});
