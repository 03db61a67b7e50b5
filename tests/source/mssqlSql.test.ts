import { init as initSqlParser, parse as parseSql } from '@guanmingchiu/sqlparser-ts';
import { describe, expect, it } from 'vitest';
import type { WatermarkKind } from '../../shared/config/pipelineConfig.js';
import {
  boundText,
  catalogStatement,
  databaseProbeStatement,
  hasRowsStatement,
  histogramStatement,
  keyCutsStatement,
  keySampleStatement,
  lastKeyStatement,
  readStatement,
  slicePredicate,
  type SqlStatement,
  tableRowsStatement,
  timeZoneKnownStatement,
  uniqueKeysStatement,
  upperBoundStatement,
  zoneIdStatement,
} from '../../shared/source/mssql/mssqlQueries.js';
import {
  type MssqlCatalogColumn,
  mssqlConverter,
  mssqlFromText,
  mssqlKeyTextExpression,
  mssqlParquetType,
  mssqlRowSizer,
  mssqlSelectExpression,
  mssqlTypeName,
} from '../../shared/source/mssql/mssqlTypes.js';
import { planKeys } from '../../shared/source/source.js';

/**
 * The T-SQL the SQL Server source generates for each type, and the parameter types it binds:
 * pure functions, checked here without a server. The gated tests in mssqlIntegration.test.ts run
 * the same statements against SQL Server.
 */

const SQL_CI = 'SQL_Latin1_General_CP1_CI_AS';

function col(name: string, type: string, over: Partial<MssqlCatalogColumn> = {}): MssqlCatalogColumn {
  const defaults: Record<string, Partial<MssqlCatalogColumn>> = {
    datetime2: { scale: 7, maxLength: 8 },
    datetimeoffset: { scale: 7, maxLength: 10 },
    time: { scale: 7, maxLength: 5 },
    datetime: { scale: 3, maxLength: 8 },
    smalldatetime: { maxLength: 4 },
    varchar: { maxLength: 40, collation: SQL_CI },
    char: { maxLength: 10, collation: SQL_CI },
    nvarchar: { maxLength: 100, collation: SQL_CI },
    binary: { maxLength: 16 },
    varbinary: { maxLength: 50 },
    decimal: { precision: 12, scale: 3, maxLength: 9 },
  };
  return { name, type, precision: 0, scale: 0, maxLength: 8, nullable: false, alias: null, collation: null, clr: false, ...defaults[type], ...over };
}

const table = { schema: 'dbo', table: 'events' };
const wmOf = (c: MssqlCatalogColumn, kind: WatermarkKind = 'timestamp') => ({ column: c, kind });

describe('values over the wire, per type', () => {
  it('keeps all four decimals of money and smallmoney (style 2, not the default style 0)', () => {
    expect(mssqlSelectExpression(col('m', 'money'))).toBe('CONVERT(varchar(32), [m], 2)');
    expect(mssqlSelectExpression(col('m', 'smallmoney'))).toBe('CONVERT(varchar(32), [m], 2)');
    const money = col('m', 'money');
    expect(mssqlConverter(money, mssqlParquetType(money))('922337203685477.5807')).toBe(9223372036854775807n);
  });

  it('reads time(n) with style 121 (hh:mi:ss.nnnnnnn), not 114 (milliseconds after a colon)', () => {
    expect(mssqlSelectExpression(col('t', 'time'))).toBe('CONVERT(varchar(16), [t], 121)');
  });

  it('reads every zone-less timestamp at 100 ns, and converts it from the table zone to UTC when one is set', () => {
    for (const type of ['datetime', 'smalldatetime', 'datetime2']) {
      expect(mssqlSelectExpression(col('ts', type))).toBe('CONVERT(varchar(27), CONVERT(datetime2(7), [ts]), 121)');
      expect(mssqlSelectExpression(col('ts', type), true)).toBe(
        "CONVERT(varchar(27), CONVERT(datetime2(7), SWITCHOFFSET(CONVERT(datetime2(7), [ts]) AT TIME ZONE @tz, '+00:00')), 121)",
      );
    }
    // datetimeoffset carries its own offset: never converted through the table zone.
    expect(mssqlSelectExpression(col('ts', 'datetimeoffset'), true)).toBe("CONVERT(varchar(27), CONVERT(datetime2(7), SWITCHOFFSET([ts], '+00:00')), 121)");
  });

  it('maps an alias type by its base type: dbo.Amount FROM decimal(19,4) is decimal(19,4), not a string', () => {
    const amount = col('amount', 'decimal', { precision: 19, scale: 4, alias: 'dbo.Amount' });
    expect(mssqlTypeName(amount)).toBe('decimal(19,4)');
    expect(mssqlParquetType(amount)).toEqual({ kind: 'decimal', precision: 19, scale: 4 });
    expect(mssqlSelectExpression(amount)).toBe('CONVERT(varchar(64), [amount])');
    expect(mssqlConverter(amount, mssqlParquetType(amount))('123456789012345.6789')).toBe(1234567890123456789n);
    // The catalogue query resolves the base type from the alias' system_type_id.
    const sql = catalogStatement(table).sql;
    expect(sql).toContain('LEFT JOIN sys.types bt ON bt.user_type_id = t.system_type_id');
    expect(sql).toContain('CASE WHEN t.is_assembly_type = 1 THEN t.name ELSE bt.name END AS type');
  });

  it('reads CLR types (hierarchyid, geography, user CLR types) through their text form', () => {
    expect(mssqlSelectExpression(col('h', 'hierarchyid', { clr: true }))).toBe('CONVERT(nvarchar(max), [h])');
    expect(mssqlSelectExpression(col('u', 'MyPoint', { clr: true }))).toBe('CONVERT(nvarchar(max), [u])');
  });
});

describe('key values as text and back, per type', () => {
  it('writes key text that reads back exactly: float style 3, money style 2, binary style 1, timestamps at 100 ns', () => {
    expect(mssqlKeyTextExpression(col('f', 'float'))).toBe('CONVERT(varchar(32), [f], 3)');
    expect(mssqlKeyTextExpression(col('f', 'real'))).toBe('CONVERT(varchar(32), [f], 3)');
    expect(mssqlKeyTextExpression(col('m', 'money'))).toBe('CONVERT(varchar(32), [m], 2)');
    expect(mssqlKeyTextExpression(col('b', 'varbinary'))).toBe('CONVERT(varchar(max), [b], 1)');
    expect(mssqlKeyTextExpression(col('t', 'time'))).toBe('CONVERT(varchar(16), [t], 121)');
    expect(mssqlKeyTextExpression(col('d', 'datetime'))).toBe('CONVERT(varchar(27), CONVERT(datetime2(7), [d]), 121)');
    expect(mssqlKeyTextExpression(col('d', 'datetimeoffset'))).toBe("CONVERT(varchar(27), CONVERT(datetime2(7), SWITCHOFFSET([d], '+00:00')), 121)");
  });

  it("converts a text parameter to the column's exact type, length and collation, on the parameter's side", () => {
    const cases: [MssqlCatalogColumn, string][] = [
      [col('c', 'varchar'), `CONVERT(varchar(40), @p COLLATE ${SQL_CI})`],
      [col('c', 'char'), `CONVERT(char(10), @p COLLATE ${SQL_CI})`],
      [col('c', 'varchar', { collation: 'Japanese_CI_AS', maxLength: 8000 }), 'CONVERT(varchar(8000), @p COLLATE Japanese_CI_AS)'],
      [col('c', 'nvarchar'), 'CONVERT(nvarchar(50), @p)'],
      [col('c', 'binary'), 'CONVERT(binary(16), @p, 1)'],
      [col('c', 'varbinary', { maxLength: -1 }), 'CONVERT(varbinary(max), @p, 1)'],
      [col('c', 'timestamp'), 'CONVERT(binary(8), @p, 1)'],
      [col('c', 'float'), 'CONVERT(float, @p)'],
      [col('c', 'real'), 'CONVERT(real, @p)'],
      [col('c', 'money'), 'CONVERT(money, @p)'],
      [col('c', 'decimal'), 'CONVERT(decimal(12,3), @p)'],
      [col('c', 'numeric', { precision: 38, scale: 0 }), 'CONVERT(numeric(38,0), @p)'],
      [col('c', 'int'), 'CONVERT(int, @p)'],
      [col('c', 'bigint'), 'CONVERT(bigint, @p)'],
      [col('c', 'tinyint'), 'CONVERT(tinyint, @p)'],
      [col('c', 'bit'), 'CONVERT(bit, @p)'],
      [col('c', 'uniqueidentifier'), 'CONVERT(uniqueidentifier, @p)'],
      [col('c', 'date'), 'CONVERT(date, @p, 23)'],
      [col('c', 'time', { scale: 3 }), 'CONVERT(time(3), @p)'],
      [col('c', 'datetime2'), 'CONVERT(datetime2(7), @p, 121)'],
      [col('c', 'datetime2', { scale: 3 }), 'CONVERT(datetime2(3), CONVERT(datetime2(7), @p, 121))'],
      [col('c', 'datetime'), 'CONVERT(datetime, CONVERT(datetime2(7), @p, 121))'],
      [col('c', 'smalldatetime'), 'CONVERT(smalldatetime, CONVERT(datetime2(7), @p, 121))'],
      [col('c', 'datetimeoffset', { scale: 3 }), 'CONVERT(datetimeoffset(3), TODATETIMEOFFSET(CONVERT(datetime2(7), @p, 121), 0))'],
      [col('c', 'hierarchyid', { clr: true }), 'CONVERT(hierarchyid, @p)'],
    ];
    for (const [c, expected] of cases) expect(mssqlFromText(c, 'p'), mssqlTypeName(c)).toBe(expected);
    expect(() => mssqlFromText(col('x', 'xml'), 'p')).toThrow(/column x of type xml cannot be compared from a bound value/);
    expect(() => mssqlFromText(col('c', 'varchar', { collation: 'Latin1]; DROP' }), 'p')).toThrow(/unexpected collation/);
  });

  it('appends a key text column for every key whose value is not its own exact text', () => {
    const cols = [col('f', 'float'), col('m', 'money'), col('s', 'varchar'), col('i', 'int'), col('b', 'binary'), col('t', 'time'), col('d', 'datetime')];
    const described = cols.map((c) => ({ name: c.name, sourceType: mssqlTypeName(c), nullable: false, parquet: mssqlParquetType(c) }));
    expect(planKeys(described, cols.map((c) => c.name)).appended).toEqual(['f', 'm', 'b', 'd']);
  });
});

const paramTypes = (s: SqlStatement): Record<string, string> =>
  Object.fromEntries(s.params.map((p) => [p.name, p.type === 'int' ? 'int' : `nvarchar(${p.length})`]));

describe('slice predicates', () => {
  it('binds datetime and smalldatetime bounds through datetime2(7) style 121, so 7 or 6 fractional digits and any SET LANGUAGE work', () => {
    for (const type of ['datetime', 'smalldatetime']) {
      const w = slicePredicate(wmOf(col('updated_at', type)), { low: '2026-01-13 00:00:00.0033333', high: '2026-01-13 10:00:00.1234567' });
      expect(w.sql).toBe(
        `[updated_at] > CONVERT(${type}, CONVERT(datetime2(7), @low, 121)) AND [updated_at] <= CONVERT(${type}, CONVERT(datetime2(7), @high, 121))`,
      );
      expect(w.sql).not.toMatch(/CAST\(@/);
      expect(w.params).toEqual([
        { name: 'low', type: 'nvarchar', length: 4000, value: '2026-01-13 00:00:00.0033333' },
        { name: 'high', type: 'nvarchar', length: 4000, value: '2026-01-13 10:00:00.1234567' },
      ]);
    }
  });

  it('writes backfill windows half-open and the initial load with NULLs', () => {
    const c = col('updated_at', 'datetime');
    expect(slicePredicate(wmOf(c), { low: '2026-03-01 00:00:00.000000', high: '2026-03-02 00:00:00.000000', window: 'closed-open' }).sql).toBe(
      '[updated_at] >= CONVERT(datetime, CONVERT(datetime2(7), @low, 121)) AND [updated_at] < CONVERT(datetime, CONVERT(datetime2(7), @high, 121))',
    );
    expect(slicePredicate(wmOf(c), { low: null, high: '2026-03-02 00:00:00' }).sql).toBe('([updated_at] <= CONVERT(datetime, CONVERT(datetime2(7), @high, 121)) OR [updated_at] IS NULL)');
    expect(() => slicePredicate(wmOf(c), { low: null, high: 'x', window: 'closed-open' })).toThrow(/needs a lower bound/);
  });

  it("moves a backfill window's UTC instants to the table's zone, and leaves incremental bounds as the column's own values", () => {
    const c = col('updated_at', 'datetime2', { scale: 3 });
    const window = slicePredicate(wmOf(c), { low: '2026-03-01 00:00:00.000000', high: '2026-03-02 00:00:00.000000', window: 'closed-open' }, 'Tokyo Standard Time');
    expect(window.sql).toBe(
      '[updated_at] >= CONVERT(datetime2(3), CONVERT(datetime2(7), TODATETIMEOFFSET(CONVERT(datetime2(7), @low, 121), 0) AT TIME ZONE @tz))' +
        ' AND [updated_at] < CONVERT(datetime2(3), CONVERT(datetime2(7), TODATETIMEOFFSET(CONVERT(datetime2(7), @high, 121), 0) AT TIME ZONE @tz))',
    );
    expect(window.params.map((p) => p.name)).toEqual(['tz', 'low', 'high']);
    const incremental = slicePredicate(wmOf(c), { low: '2026-03-01 09:00:00.0000000', high: '2026-03-02 09:00:00.0000000' }, 'Tokyo Standard Time');
    expect(incremental.sql).not.toContain('AT TIME ZONE');
    expect(slicePredicate(wmOf(c), { low: 'a', high: 'b', window: 'closed-open' }, 'UTC').sql).not.toContain('AT TIME ZONE');
    const read = readStatement({
      table,
      watermark: wmOf(c),
      bounds: { low: '2026-03-01 00:00:00.000000', high: '2026-03-02 00:00:00.000000', window: 'closed-open' },
      isolation: 'read-committed-snapshot',
      columns: [col('id', 'int'), c],
      primaryKey: [col('id', 'int')],
      appendedKeys: [],
      after: null,
      timeZone: 'Tokyo Standard Time',
    });
    expect(read.params.filter((p) => p.name === 'tz')).toHaveLength(1);
  });

  it('compares datetimeoffset bounds as UTC, moving an older bound with an offset to UTC first', () => {
    const c = col('at', 'datetimeoffset');
    const w = slicePredicate(wmOf(c), { low: '2026-03-29 01:00:00.1234567 +05:30', high: '2026-03-29 00:00:00.0000000' });
    expect(w.sql).toContain('[at] > CONVERT(datetimeoffset(7), TODATETIMEOFFSET(CONVERT(datetime2(7), @low, 121), 0))');
    expect(w.params.map((p) => p.value)).toEqual(['2026-03-28 19:30:00.1234567', '2026-03-29 00:00:00.0000000']);
    expect(boundText(c, '0001-01-01 05:00:00 +05:00')).toBe('0001-01-01 00:00:00.0000000');
    expect(boundText(c, '2026-12-31 23:30:00.5-01:00')).toBe('2027-01-01 00:30:00.5000000');
    expect(boundText(col('d', 'datetime2'), '2026-01-01 00:00:00 +05:00')).toBe('2026-01-01 00:00:00 +05:00');
  });

  it('binds rowversion bounds as bigint text and integer bounds in the column type', () => {
    expect(slicePredicate(wmOf(col('rv', 'timestamp'), 'rowversion'), { low: '10', high: '20' }).sql).toBe(
      '[rv] > CONVERT(binary(8), CONVERT(bigint, @low)) AND [rv] <= CONVERT(binary(8), CONVERT(bigint, @high))',
    );
    expect(slicePredicate(wmOf(col('id', 'bigint'), 'integer'), { low: '10', high: '20' }).sql).toBe('[id] > CONVERT(bigint, @low) AND [id] <= CONVERT(bigint, @high)');
  });
});

describe('upper bounds', () => {
  const bound = (type: string, kind: WatermarkKind = 'timestamp', timeZone?: string) =>
    upperBoundStatement({ table, watermark: wmOf(col('wm', type), kind), lagSeconds: 30, isolation: 'read-committed-snapshot', ...(timeZone ? { timeZone } : {}) });

  it('caps zone-less timestamps at UTC now - lag, floored to a whole second, and returns text at 100 ns', () => {
    const s = bound('datetime');
    expect(s.sql).toContain('DATEADD(second, -@lag, SYSUTCDATETIME())');
    expect(s.sql).toContain('DATEADD(nanosecond, -DATEPART(nanosecond, l.lagged), l.lagged)');
    expect(s.sql).toContain('THEN CONVERT(varchar(27), CONVERT(datetime2(7), s.m), 121) ELSE CONVERT(varchar(27), CONVERT(datetime2(7), f.cap), 121)');
    expect(paramTypes(s)).toEqual({ lag: 'int' });
  });

  it('floors a smalldatetime cap to the minute, so the lag is never shortened by rounding', () => {
    const s = bound('smalldatetime');
    expect(s.sql).toContain('CROSS APPLY (SELECT DATEADD(second, -DATEPART(second, f.cap), f.cap) AS cap) g');
    expect(s.sql).toContain('WHEN s.m <= g.cap');
  });

  it("takes now in the table's time zone when one is set, bound as a parameter", () => {
    const s = bound('datetime2', 'timestamp', 'Tokyo Standard Time');
    expect(s.sql).toContain('DATEADD(second, -@lag, CONVERT(datetime2(7), SYSDATETIMEOFFSET() AT TIME ZONE @tz))');
    expect(s.params).toContainEqual({ name: 'tz', type: 'nvarchar', length: 128, value: 'Tokyo Standard Time' });
    expect(bound('datetime2', 'timestamp', 'UTC').sql).toContain('SYSUTCDATETIME()');
    expect(bound('datetimeoffset', 'timestamp', 'Tokyo Standard Time').sql).toContain('DATEADD(second, -@lag, SYSDATETIMEOFFSET())');
    expect(bound('datetimeoffset').sql).toContain("CONVERT(varchar(27), CONVERT(datetime2(7), SWITCHOFFSET(s.m, '+00:00')), 121)");
  });

  it('bounds rowversion below MIN_ACTIVE_ROWVERSION without reading every row (no MAX(CONVERT(bigint, rv)))', () => {
    const s = bound('timestamp', 'rowversion');
    expect(s.sql).toBe(
      'SELECT CASE WHEN EXISTS (SELECT 1 FROM [dbo].[events]) THEN CONVERT(varchar(20), CONVERT(bigint, MIN_ACTIVE_ROWVERSION()) - 1) END AS high',
    );
    expect(bound('bigint', 'integer').sql).toBe('SELECT CONVERT(varchar(40), MAX([wm])) AS high FROM [dbo].[events]');
    expect(() => bound('int')).toThrow(/needs a timestamp column/);
  });

  it('runs every statement under SNAPSHOT when that is how the database avoids writers', () => {
    const wm = wmOf(col('wm', 'datetime2'));
    const snapshot = upperBoundStatement({ table, watermark: wm, lagSeconds: 0, isolation: 'snapshot' });
    expect(snapshot.sql.startsWith('SET TRANSACTION ISOLATION LEVEL SNAPSHOT;\n')).toBe(true);
    expect(hasRowsStatement({ table, watermark: wm, bounds: { low: null, high: 'x' }, isolation: 'snapshot' }).sql.startsWith('SET TRANSACTION ISOLATION LEVEL SNAPSHOT;\n')).toBe(true);
    expect(hasRowsStatement({ table, watermark: wm, bounds: { low: null, high: 'x' }, isolation: 'read-committed-snapshot' }).sql.startsWith('SELECT')).toBe(true);
  });
});

describe('the read statement', () => {
  const id = col('id', 'varchar', { maxLength: 40 });
  const at = col('at', 'datetime2', { scale: 3 });
  const payload = col('payload', 'nvarchar', { maxLength: -1 });
  const updated = col('updated_at', 'datetime');

  it('resumes after a composite key with each value in its column type: varchar in its collation, datetime2(3) through datetime2(7)', () => {
    const s = readStatement({
      table,
      watermark: wmOf(updated),
      bounds: { low: '2026-01-01 00:00:00.0000000', high: '2026-01-02 00:00:00.0000000' },
      isolation: 'read-committed-snapshot',
      columns: [id, at, payload, updated],
      primaryKey: [id, at],
      appendedKeys: [at],
      after: ["o'neil-smith", '2026-01-01 10:00:00.1230000'],
    });
    const k0 = `CONVERT(varchar(40), @k0 COLLATE ${SQL_CI})`;
    const k1 = 'CONVERT(datetime2(3), CONVERT(datetime2(7), @k1, 121))';
    expect(s.sql).toContain(` AND (([id] > ${k0}) OR ([id] = ${k0} AND [at] > ${k1})) ORDER BY [id], [at]`);
    expect(s.sql).toContain('SELECT [id], CONVERT(varchar(27), CONVERT(datetime2(7), [at]), 121), [payload], CONVERT(varchar(27), CONVERT(datetime2(7), [updated_at]), 121), CONVERT(varchar(27), CONVERT(datetime2(7), [at]), 121) FROM [dbo].[events]');
    expect(paramTypes(s)).toEqual({ low: 'nvarchar(4000)', high: 'nvarchar(4000)', k0: 'nvarchar(4000)', k1: 'nvarchar(4000)' });
    expect(s.params.find((p) => p.name === 'k0')?.value).toBe("o'neil-smith");
    expect(s.sql).not.toMatch(/CAST\(@/);
  });

  it('ends a key range at a composite key, inclusive, each value in its column type', () => {
    const s = readStatement({
      table,
      watermark: wmOf(updated),
      bounds: { low: null, high: '2026-01-02 00:00:00.0000000' },
      isolation: 'read-committed-snapshot',
      columns: [id, at, updated],
      primaryKey: [id, at],
      appendedKeys: [at],
      after: ['a', '2026-01-01 00:00:00.0000000'],
      until: ['m', '2026-01-01 10:00:00.1230000'],
    });
    const k = (p: string): [string, string] => [`CONVERT(varchar(40), @${p}0 COLLATE ${SQL_CI})`, `CONVERT(datetime2(3), CONVERT(datetime2(7), @${p}1, 121))`];
    const [k0, k1] = k('k');
    const [u0, u1] = k('u');
    expect(s.sql).toContain(` AND (([id] > ${k0}) OR ([id] = ${k0} AND [at] > ${k1})) AND (([id] < ${u0}) OR ([id] = ${u0} AND [at] <= ${u1})) ORDER BY [id], [at]`);
    expect(paramTypes(s)).toEqual({ high: 'nvarchar(4000)', k0: 'nvarchar(4000)', k1: 'nvarchar(4000)', u0: 'nvarchar(4000)', u1: 'nvarchar(4000)' });
    expect(() => readStatement({ table, watermark: wmOf(updated), bounds: { low: null, high: 'x' }, isolation: 'read-committed-snapshot', columns: [id], primaryKey: [id, at], appendedKeys: [], after: null, until: ['a'] })).toThrow(
      /key range end has 1 values for a 2-column key/,
    );
  });

  it("binds @tz only when a zone-less column is converted from the table's zone", () => {
    const base = { table, watermark: wmOf(updated), bounds: { low: null, high: '2026-01-02 00:00:00' }, isolation: 'read-committed-snapshot' as const, primaryKey: [id], appendedKeys: [], after: null };
    const zoned = readStatement({ ...base, columns: [id, updated], timeZone: 'Tokyo Standard Time' });
    expect(zoned.sql).toContain('AT TIME ZONE @tz');
    expect(zoned.params).toContainEqual({ name: 'tz', type: 'nvarchar', length: 128, value: 'Tokyo Standard Time' });
    expect(readStatement({ ...base, columns: [id], timeZone: 'Tokyo Standard Time' }).params.map((p) => p.name)).toEqual(['high']);
    expect(readStatement({ ...base, columns: [id, updated], timeZone: 'UTC' }).sql).not.toContain('AT TIME ZONE');
  });

  it('refuses a cursor that does not match the key', () => {
    expect(() =>
      readStatement({ table, watermark: wmOf(updated), bounds: { low: null, high: 'x' }, isolation: 'read-committed-snapshot', columns: [id], primaryKey: [id, at], appendedKeys: [], after: ['a'] }),
    ).toThrow(/keyset cursor has 1 values for a 2-column key/);
  });
});

describe('row sizes for byte-bounded batches', () => {
  it('counts (max) values by their length and fixed columns by their declared size', () => {
    const size = mssqlRowSizer([col('id', 'int', { maxLength: 4 }), col('doc', 'nvarchar', { maxLength: -1 }), col('blob', 'varbinary', { maxLength: -1 })]);
    const small = size([1, 'x', Buffer.alloc(1)]);
    expect(size([1, 'x'.repeat(1_000_000), Buffer.alloc(3_000_000)]) - small).toBe(2 * 999_999 + 2_999_999);
    expect(mssqlRowSizer([col('id', 'int', { maxLength: 4 })])([1])).toBe(16 + 4);
  });
});

describe('every statement the source sends', () => {
  it('parses as T-SQL (sqlparser-rs, MS SQL dialect) for every watermark type, key type, zone and isolation', async () => {
    await initSqlParser();
    const statements: [string, SqlStatement][] = [
      ['catalogue', catalogStatement(table)],
      ['unique keys', uniqueKeysStatement(table)],
      ['probe', databaseProbeStatement()],
      ['zone id', zoneIdStatement],
      ['time zone', timeZoneKnownStatement('Tokyo Standard Time')],
    ];
    const isolations = ['read-committed-snapshot', 'snapshot'] as const;
    for (const type of ['datetime', 'smalldatetime', 'datetime2', 'datetimeoffset']) {
      for (const timeZone of [undefined, 'Tokyo Standard Time']) {
        for (const isolation of isolations) {
          const zone = timeZone ? { timeZone } : {};
          const wm = wmOf(col('wm', type));
          statements.push([`upper bound ${type} ${timeZone} ${isolation}`, upperBoundStatement({ table, watermark: wm, lagSeconds: 5, isolation, ...zone })]);
          for (const bounds of [{ low: null, high: 'b' }, { low: 'a', high: 'b' }, { low: 'a', high: 'b', window: 'closed-open' as const }]) {
            statements.push([`has rows ${type} ${timeZone} ${isolation} ${bounds.window}`, hasRowsStatement({ table, watermark: wm, bounds, isolation, ...zone })]);
          }
        }
      }
    }
    for (const isolation of isolations) {
      statements.push(['upper bound rowversion', upperBoundStatement({ table, watermark: wmOf(col('rv', 'timestamp'), 'rowversion'), lagSeconds: 0, isolation })]);
      statements.push(['upper bound integer', upperBoundStatement({ table, watermark: wmOf(col('id', 'bigint'), 'integer'), lagSeconds: 0, isolation })]);
      statements.push(['has rows rowversion', hasRowsStatement({ table, watermark: wmOf(col('rv', 'timestamp'), 'rowversion'), bounds: { low: '1', high: '2' }, isolation })]);
    }
    const keyTypes = ['tinyint', 'smallint', 'int', 'bigint', 'bit', 'decimal', 'numeric', 'money', 'smallmoney', 'float', 'real', 'date', 'time', 'datetime2', 'datetime', 'smalldatetime', 'datetimeoffset', 'char', 'varchar', 'nchar', 'nvarchar', 'binary', 'varbinary', 'uniqueidentifier', 'hierarchyid'];
    const columns = keyTypes.map((t, i) => col(`c${i}`, t, t === 'hierarchyid' ? { clr: true } : t === 'numeric' ? { precision: 20, scale: 0 } : {}));
    for (const key of columns) {
      statements.push([
        `read, key ${key.type}`,
        readStatement({
          table,
          watermark: wmOf(col('wm', 'datetime')),
          bounds: { low: 'a', high: 'b', window: 'closed-open' },
          isolation: 'snapshot',
          columns,
          primaryKey: [key, columns[2]!],
          appendedKeys: [key],
          after: ['x', '1'],
          timeZone: 'Tokyo Standard Time',
        }),
      ]);
    }
    // Sizing key ranges and backfill chunks: every key type, leading and second in a composite key.
    statements.push(['table rows', tableRowsStatement(table)]);
    for (const key of columns.filter((c) => !c.clr)) {
      const pk = [key, columns[2]!];
      statements.push([`histogram ${key.type}`, histogramStatement(table, key)]);
      statements.push([`last key ${key.type}`, lastKeyStatement(table, key, 'snapshot')]);
      statements.push([`key cuts ${key.type}`, keyCutsStatement({ table, primaryKey: pk, isolation: 'snapshot', values: ['a', 'b', 'c'] })]);
      statements.push([`key sample ${key.type}`, keySampleStatement({ table, primaryKey: pk, isolation: 'read-committed-snapshot', percent: 0.25 })]);
      statements.push([`all keys ${key.type}`, keySampleStatement({ table, primaryKey: pk, isolation: 'snapshot', percent: null })]);
    }
    const failures: string[] = [];
    for (const [label, statement] of statements) {
      try {
        parseSql(statement.sql, 'mssql');
      } catch (err) {
        failures.push(`${label}: ${String(err).slice(0, 200)}`);
      }
      // Every parameter the text names is bound, and every bound one is named.
      const named = new Set([...statement.sql.matchAll(/@([a-z]\w*)/gi)].map((m) => m[1]!));
      expect(new Set(statement.params.map((p) => p.name)), label).toEqual(named);
    }
    expect(failures).toEqual([]);
    expect(statements.length).toBeGreaterThan(200);
    // The parser refuses what SQL Server would: the check can fail.
    expect(() => parseSql('SELECT CONVERT(varchar(40), @k0 COLLATE) FROM t', 'mssql')).toThrow();
  });
});
