import { describe, expect, it } from 'vitest';
import { histogramCuts, histogramRowsIn, timestampTextMs, type HistogramStep } from '../../shared/source/mssql/mssqlHistogram.js';
import { histogramStatement, keyCutsStatement, keySampleStatement, lastKeyStatement, readStatement, tableRowsStatement } from '../../shared/source/mssql/mssqlQueries.js';
import { type MssqlCatalogColumn, mssqlKeyTextExpression } from '../../shared/source/mssql/mssqlTypes.js';
import { distinctCuts, quantileCuts } from '../../shared/source/keyCuts.js';

/**
 * How the SQL Server source sizes key ranges and backfill chunks without reading the table: the
 * statements (text and bound parameter types) and the arithmetic on a statistics histogram, pure.
 * mssqlSizingIntegration.test.ts runs them against a server.
 */

const SQL_CI = 'SQL_Latin1_General_CP1_CI_AS';
const col = (name: string, type: string, over: Partial<MssqlCatalogColumn> = {}): MssqlCatalogColumn => ({
  name,
  type,
  precision: 0,
  scale: type === 'datetime2' ? 7 : 0,
  maxLength: type === 'varchar' ? 40 : 8,
  nullable: false,
  alias: null,
  collation: type === 'varchar' ? SQL_CI : null,
  clr: false,
  ...over,
});
const table = { schema: 'dbo', table: 'events' };

describe('cuts from a statistics histogram', () => {
  // 1..1000 in 5 steps of 200 rows; keys 1, 250, 500, 750, 1000.
  const even: HistogramStep[] = [
    { key: '1', rangeRows: 0, equalRows: 1 },
    { key: '250', rangeRows: 248, equalRows: 1 },
    { key: '500', rangeRows: 249, equalRows: 1 },
    { key: '750', rangeRows: 249, equalRows: 1 },
    { key: '1000', rangeRows: 249, equalRows: 1 },
  ];

  it('interpolates an integer key between steps: far more ranges than the 200 steps a histogram has', () => {
    const cuts = histogramCuts(even, 10, true).map(Number);
    expect(cuts).toHaveLength(9);
    for (const [i, c] of cuts.entries()) expect(Math.abs(c - 100 * (i + 1))).toBeLessThanOrEqual(2);
    expect(histogramCuts(even, 100, true)).toHaveLength(99);
  });

  it('snaps any other key to the nearer step, strictly increasing, never more cuts than steps', () => {
    const strings = even.map((s, i) => ({ ...s, key: `k${String(i).padStart(2, '0')}` }));
    expect(histogramCuts(strings, 4, false)).toEqual(['k01', 'k02', 'k03']);
    const many = histogramCuts(strings, 40, false);
    expect(many).toEqual([...new Set(many)]);
    expect(many.length).toBeLessThanOrEqual(strings.length);
  });

  it('puts cuts where the rows are: a key holding most rows ends its own range', () => {
    const skewed: HistogramStep[] = [
      { key: '1', rangeRows: 0, equalRows: 10 },
      { key: '1000', rangeRows: 90, equalRows: 10 },
      { key: '1001', rangeRows: 0, equalRows: 800 },
      { key: '2000', rangeRows: 90, equalRows: 0 },
    ];
    const cuts = histogramCuts(skewed, 4, true);
    // Ranges of a quarter of 1,000 rows: the first ends at 1000 at the latest, the 800 rows at 1001 end the next.
    expect(cuts[0]).not.toBe('1001');
    expect(cuts.slice(1)).toEqual(['1001']);
  });

  it('gives no cuts for one range or an empty histogram', () => {
    expect(histogramCuts(even, 1, true)).toEqual([]);
    expect(histogramCuts([], 8, true)).toEqual([]);
  });

  it('cuts a sample at its quantiles and drops repeated cuts', () => {
    const keys = Array.from({ length: 100 }, (_, i) => [String(i + 1), '0']);
    expect(quantileCuts(keys, 4)).toEqual([['25', '0'], ['50', '0'], ['75', '0']]);
    expect(distinctCuts([['1', 'a'], ['1', 'a'], ['2', 'a'], ['2', 'b']])).toEqual([['1', 'a'], ['2', 'a'], ['2', 'b']]);
  });
});

describe('rows of a watermark window from a histogram', () => {
  const day = (d: number): number => Date.UTC(2026, 4, d);
  // 10 rows on 1 May, 100 spread over the next 10 days with 5 on 11 May.
  const steps = [
    { at: day(1), rangeRows: 0, equalRows: 10 },
    { at: day(11), rangeRows: 100, equalRows: 5 },
  ];

  it('spreads a step evenly between its keys, and counts a key in the window that holds it', () => {
    expect(histogramRowsIn(steps, day(1), day(12))).toBe(115);
    expect(histogramRowsIn(steps, day(2), day(3))).toBeCloseTo(10);
    expect(histogramRowsIn(steps, day(1), day(2))).toBeCloseTo(20);
    // Half-open: the key at the window's end is the next window's.
    expect(histogramRowsIn(steps, day(10), day(11))).toBeCloseTo(10);
    expect(histogramRowsIn(steps, day(12), day(13))).toBe(0);
  });

  it('reads key and bound text at 100 ns and date keys', () => {
    expect(timestampTextMs('2026-05-04 10:11:12.1234567')).toBe(Date.UTC(2026, 4, 4, 10, 11, 12, 123));
    expect(timestampTextMs('2026-05-04 10:11:12.123000')).toBe(Date.UTC(2026, 4, 4, 10, 11, 12, 123));
    expect(timestampTextMs('2026-05-04')).toBe(Date.UTC(2026, 4, 4));
    expect(timestampTextMs('4 May')).toBeNaN();
  });
});

describe('the sizing statements', () => {
  const id = col('id', 'int');
  const name = col('name', 'varchar');

  it('counts rows in sys.partitions (no VIEW DATABASE STATE), heap or clustered index only', () => {
    const s = tableRowsStatement(table);
    expect(s.sql).toMatch(/FROM sys\.partitions p\s+WHERE p\.object_id = OBJECT_ID\(QUOTENAME\(@schema\) \+ N'\.' \+ QUOTENAME\(@table\)\) AND p\.index_id IN \(0, 1\)/);
    expect(s.params).toEqual([
      { name: 'schema', type: 'nvarchar', length: 128, value: 'dbo' },
      { name: 'table', type: 'nvarchar', length: 128, value: 'events' },
    ]);
  });

  it('reads the histogram of the newest unfiltered statistics led by the column, its keys in the read path\'s text', () => {
    const s = histogramStatement(table, name);
    expect(s.sql).toContain('CROSS APPLY sys.dm_db_stats_histogram(s.object_id, s.stats_id) h');
    expect(s.sql).toContain("sc.stats_column_id = 1");
    expect(s.sql).toContain("sc.column_id = COLUMNPROPERTY(st.object_id, @column, 'ColumnId')");
    expect(s.sql).toContain('st.has_filter = 0');
    expect(s.sql).toContain(`${mssqlKeyTextExpression(name, 'CONVERT(varchar(40), h.range_high_key)')} AS k`);
    expect(s.params.at(-1)).toEqual({ name: 'column', type: 'nvarchar', length: 128, value: 'name' });
  });

  it('resolves each cut to a whole key by one seek, each value bound as text and converted to the column on the parameter side', () => {
    const s = keyCutsStatement({ table, primaryKey: [name, id], isolation: 'snapshot', values: ['abc', "o'hara"] });
    expect(s.sql.startsWith('SET TRANSACTION ISOLATION LEVEL SNAPSHOT;\n')).toBe(true);
    expect(s.sql).toContain(`(0, CONVERT(varchar(40), @c0 COLLATE ${SQL_CI})),`);
    expect(s.sql).toContain(`(1, CONVERT(varchar(40), @c1 COLLATE ${SQL_CI}))`);
    expect(s.sql).toContain('FROM [dbo].[events] AS t WHERE t.[name] <= c.v ORDER BY t.[name] DESC, t.[id] DESC) x');
    // The key's text is exactly what a read appends for its keyset cursor.
    expect(s.sql).toContain(`SELECT TOP (1) ${mssqlKeyTextExpression(name)} AS [sl_k0], ${mssqlKeyTextExpression(id)} AS [sl_k1]`);
    expect(s.params).toEqual([
      { name: 'c0', type: 'nvarchar', length: 4000, value: 'abc' },
      { name: 'c1', type: 'nvarchar', length: 4000, value: "o'hara" },
    ]);
    // A cut comes back as the `until` of one range and the `after` of the next: the same bound text, the same conversion.
    const read = readStatement({ table, watermark: { column: col('wm', 'datetime2'), kind: 'timestamp' }, bounds: { low: null, high: 'x' }, isolation: 'snapshot', columns: [name, id], primaryKey: [name, id], appendedKeys: [], after: ['abc', '7'], until: ["o'hara", '9'] });
    expect(read.sql).toContain(`[name] > CONVERT(varchar(40), @k0 COLLATE ${SQL_CI})`);
    expect(read.sql).toContain(`[name] < CONVERT(varchar(40), @u0 COLLATE ${SQL_CI})`);
    expect(read.params.find((p) => p.name === 'u0')).toEqual({ name: 'u0', type: 'nvarchar', length: 4000, value: "o'hara" });
  });

  it('converts a datetimeoffset cut from its UTC text, as a keyset bound does', () => {
    const at = col('at', 'datetimeoffset', { scale: 7 });
    const s = keyCutsStatement({ table, primaryKey: [at], isolation: 'read-committed-snapshot', values: ['2026-05-04 10:00:00.0000000'] });
    expect(s.sql).toContain('(0, CONVERT(datetimeoffset(7), TODATETIMEOFFSET(CONVERT(datetime2(7), @c0, 121), 0)))');
    expect(s.sql.startsWith('SELECT')).toBe(true);
  });

  it('samples pages with TABLESAMPLE, or lists every key of a small table, in key order', () => {
    expect(keySampleStatement({ table, primaryKey: [id], isolation: 'read-committed-snapshot', percent: 0.5 }).sql).toBe(
      `SELECT ${mssqlKeyTextExpression(id)} AS [sl_k0] FROM [dbo].[events] AS t TABLESAMPLE SYSTEM (0.500000 PERCENT) ORDER BY t.[id]`,
    );
    expect(keySampleStatement({ table, primaryKey: [id, name], isolation: 'read-committed-snapshot', percent: null }).sql).toMatch(/FROM \[dbo\]\.\[events\] AS t ORDER BY t\.\[id\], t\.\[name\]$/);
    expect(() => keySampleStatement({ table, primaryKey: [id], isolation: 'snapshot', percent: 0 })).toThrow(/sample of 0 percent/);
    expect(lastKeyStatement(table, id, 'read-committed-snapshot').sql).toBe(`SELECT TOP (1) ${mssqlKeyTextExpression(id)} AS k FROM [dbo].[events] AS t ORDER BY t.[id] DESC`);
  });
});
