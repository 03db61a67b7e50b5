import { quoteMssql } from '../../config/identifiers.js';
import type { WatermarkKind } from '../../config/pipelineConfig.js';
import type { SliceBounds, TableRef } from '../source.js';
import { SourceError } from '../source.js';
import type { MssqlCatalogColumn } from './mssqlTypes.js';
import { effectiveTimeZone, mssqlFromText, mssqlKeyTextExpression, mssqlSelectExpression, mssqlTextParamLength, mssqlTypeName, ZONELESS_TIMESTAMP_TYPES } from './mssqlTypes.js';

/**
 * Every statement the SQL Server source sends, as pure functions of the catalogue and the
 * request: the text, and each parameter with the type it is bound as. Values are always
 * parameters; identifiers are validated and bracket-quoted; types are spelled from the catalogue.
 */

export interface SqlParam {
  name: string;
  type: 'nvarchar' | 'int';
  /** nvarchar length. */
  length?: number | 'max';
  value: string | number;
}

export interface SqlStatement {
  sql: string;
  params: SqlParam[];
}

/**
 * How reads avoid waiting on writers: READ_COMMITTED_SNAPSHOT (row versions under the default
 * isolation, Azure SQL Database's default), SNAPSHOT where the database allows it, or a
 * read-only database, which has no writers.
 */
export type MssqlIsolation = 'read-committed-snapshot' | 'snapshot' | 'read-only';

/** Scoped to the statement's own sp_executesql batch: SQL Server restores the level when it returns. */
const isolationPrefix = (isolation: MssqlIsolation): string => (isolation === 'snapshot' ? 'SET TRANSACTION ISOLATION LEVEL SNAPSHOT;\n' : '');

const qualified = (t: TableRef): string => `${quoteMssql(t.schema)}.${quoteMssql(t.table)}`;

const text = (name: string, value: string, length: number | 'max' = 4000): SqlParam => ({ name, type: 'nvarchar', length, value });

const objectParams = (t: TableRef): SqlParam[] => [text('schema', t.schema, 128), text('table', t.table, 128)];

/**
 * Columns in table order with alias types resolved to their system base type (a column of
 * `dbo.Amount FROM decimal(19,4)` reads as decimal(19,4)). CLR types keep their own name.
 */
export function catalogStatement(table: TableRef): SqlStatement {
  return {
    sql: `SELECT c.name, CASE WHEN t.is_assembly_type = 1 THEN t.name ELSE bt.name END AS type,
       CASE WHEN t.is_user_defined = 1 THEN SCHEMA_NAME(t.schema_id) + N'.' + t.name END AS alias,
       c.precision, c.scale, c.max_length AS maxLength, c.is_nullable AS nullable,
       c.collation_name AS collation, CONVERT(bit, t.is_assembly_type) AS clr
  FROM sys.columns c
  JOIN sys.types t ON t.user_type_id = c.user_type_id
  LEFT JOIN sys.types bt ON bt.user_type_id = t.system_type_id
 WHERE c.object_id = OBJECT_ID(QUOTENAME(@schema) + N'.' + QUOTENAME(@table))
 ORDER BY c.column_id`,
    params: objectParams(table),
  };
}

/** Key columns of every enabled, unfiltered unique index or constraint of the table. */
export function uniqueKeysStatement(table: TableRef): SqlStatement {
  return {
    sql: `SELECT i.index_id AS indexId, c.name AS name
  FROM sys.indexes i
  JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.key_ordinal > 0
  JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
 WHERE i.object_id = OBJECT_ID(QUOTENAME(@schema) + N'.' + QUOTENAME(@table))
   AND i.is_unique = 1 AND i.has_filter = 0 AND i.is_disabled = 0 AND i.is_hypothetical = 0`,
    params: objectParams(table),
  };
}

/** What the source must know about the database before it reads: versioning, updateability, clock. */
export function databaseProbeStatement(): SqlStatement {
  return {
    sql: `SELECT DB_NAME() AS name, d.is_read_committed_snapshot_on AS rcsi, d.snapshot_isolation_state AS snapshotState,
       CONVERT(nvarchar(128), DATABASEPROPERTYEX(DB_NAME(), 'Updateability')) AS updateability,
       DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) AS offsetMinutes,
       CONVERT(int, SERVERPROPERTY('EngineEdition')) AS engineEdition,
       CONVERT(int, SERVERPROPERTY('ProductMajorVersion')) AS majorVersion
  FROM sys.databases d
 WHERE d.database_id = DB_ID()`,
    params: [],
  };
}

/** CURRENT_TIMEZONE_ID() exists from SQL Server 2022 and in Azure SQL Database and Managed Instance. */
export const zoneIdStatement: SqlStatement = { sql: 'SELECT CURRENT_TIMEZONE_ID() AS zone', params: [] };

export function timeZoneKnownStatement(timeZone: string): SqlStatement {
  return { sql: 'SELECT COUNT(*) AS known FROM sys.time_zone_info WHERE name = @tz', params: [text('tz', timeZone, 128)] };
}

export interface WatermarkColumn {
  column: MssqlCatalogColumn;
  kind: WatermarkKind;
}

/**
 * Bound text as the source compares it. Bounds and keys for datetimeoffset are written as UTC
 * without an offset; text with an offset (an older watermark) is moved to UTC here, since
 * datetime2 would otherwise drop the offset and keep the local wall clock.
 */
export function boundText(column: MssqlCatalogColumn, value: string): string {
  if (column.type !== 'datetimeoffset') return value;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,7})? ?([+-])(\d{2}):?(\d{2})$/.exec(value.trim());
  if (!m) return value;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  const offsetMinutes = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  const utc = new Date(d.getTime() - offsetMinutes * 60_000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${pad(utc.getUTCFullYear(), 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())} ` +
    `${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}${(m[7] ?? '.').padEnd(8, '0')}`
  );
}

/**
 * Watermark bound from text in the column's own type; a rowversion bound is bigint text. A
 * backfill window is a pair of instants (UTC text): for a table in another zone they move to
 * its wall clock first, while incremental bounds are the column's own values and stay as they are.
 */
function boundExpression(wm: WatermarkColumn, param: string, instantInZone: boolean): string {
  if (wm.kind === 'rowversion') return `CONVERT(binary(8), CONVERT(bigint, @${param}))`;
  if (instantInZone) return `CONVERT(${mssqlTypeName(wm.column)}, CONVERT(datetime2(7), TODATETIMEOFFSET(CONVERT(datetime2(7), @${param}, 121), 0) AT TIME ZONE @tz))`;
  return mssqlFromText(wm.column, param);
}

const tzParam = (zone: string): SqlParam => text('tz', zone, 128);

/** `low < wm <= high` (initial: `wm <= high OR wm IS NULL`), or `low <= wm < high` for a backfill window. */
export function slicePredicate(wm: WatermarkColumn, bounds: SliceBounds, timeZone?: string): { sql: string; params: SqlParam[] } {
  const col = quoteMssql(wm.column.name);
  const length = mssqlTextParamLength(wm.column);
  const params: SqlParam[] = [];
  const zone = effectiveTimeZone(timeZone);
  const windowInZone = bounds.window === 'closed-open' && zone !== undefined && wm.kind === 'timestamp' && ZONELESS_TIMESTAMP_TYPES.has(wm.column.type);
  if (windowInZone) params.push(tzParam(zone));
  const bind = (name: 'low' | 'high', value: string): string => {
    params.push(text(name, boundText(wm.column, value), length));
    return boundExpression(wm, name, windowInZone);
  };
  if (bounds.window === 'closed-open') {
    if (bounds.low === null) throw new SourceError('a backfill window needs a lower bound');
    const low = bind('low', bounds.low);
    return { sql: `${col} >= ${low} AND ${col} < ${bind('high', bounds.high)}`, params };
  }
  if (bounds.low === null) return { sql: `(${col} <= ${bind('high', bounds.high)} OR ${col} IS NULL)`, params };
  const low = bind('low', bounds.low);
  return { sql: `${col} > ${low} AND ${col} <= ${bind('high', bounds.high)}`, params };
}

export interface UpperBoundInput {
  table: TableRef;
  watermark: WatermarkColumn;
  lagSeconds: number;
  /** The zone the table's zone-less timestamps are written in (sys.time_zone_info name). */
  timeZone?: string;
  isolation: MssqlIsolation;
}

/**
 * The highest watermark safe to extract up to:
 * - rowversion: below MIN_ACTIVE_ROWVERSION(), database-wide, reading at most one row of the
 *   table to tell an empty one (NULL) apart; MAX(CONVERT(bigint, rv)) read every row on every
 *   run. No row can still commit at or below it, whatever the table's MAX.
 * - timestamp: min(MAX(col), now - lag) on the database's clock, now taken in the column's
 *   frame (UTC, the table's time zone, or an instant for datetimeoffset) and floored to a
 *   whole second (minute for smalldatetime) so the cap is a value of the column's own type.
 * - integer: MAX(col).
 * Text comes back at full precision: timestamps at 100 ns, datetimeoffset as UTC.
 */
export function upperBoundStatement(input: UpperBoundInput): SqlStatement {
  const { table, watermark, lagSeconds, isolation } = input;
  const col = quoteMssql(watermark.column.name);
  const prefix = isolationPrefix(isolation);
  if (watermark.kind === 'rowversion') {
    return {
      sql: `${prefix}SELECT CASE WHEN EXISTS (SELECT 1 FROM ${qualified(table)}) THEN CONVERT(varchar(20), CONVERT(bigint, MIN_ACTIVE_ROWVERSION()) - 1) END AS high`,
      params: [],
    };
  }
  if (watermark.kind === 'integer') {
    return { sql: `${prefix}SELECT CONVERT(varchar(40), MAX(${col})) AS high FROM ${qualified(table)}`, params: [] };
  }
  const type = watermark.column.type;
  const params: SqlParam[] = [{ name: 'lag', type: 'int', value: Math.ceil(lagSeconds) }];
  let now: string;
  let asText: (e: string) => string;
  if (type === 'datetimeoffset') {
    now = 'SYSDATETIMEOFFSET()';
    asText = (e) => `CONVERT(varchar(27), CONVERT(datetime2(7), SWITCHOFFSET(${e}, '+00:00')), 121)`;
  } else if (ZONELESS_TIMESTAMP_TYPES.has(type)) {
    const zone = effectiveTimeZone(input.timeZone);
    if (zone) params.push(tzParam(zone));
    now = zone ? 'CONVERT(datetime2(7), SYSDATETIMEOFFSET() AT TIME ZONE @tz)' : 'SYSUTCDATETIME()';
    asText = (e) => `CONVERT(varchar(27), CONVERT(datetime2(7), ${e}), 121)`;
  } else {
    throw new SourceError(`mssql source: watermark kind "timestamp" needs a timestamp column, ${watermark.column.name} is ${type}`);
  }
  const minute = type === 'smalldatetime' ? `\n CROSS APPLY (SELECT DATEADD(second, -DATEPART(second, f.cap), f.cap) AS cap) g` : '';
  const cap = type === 'smalldatetime' ? 'g.cap' : 'f.cap';
  return {
    sql: `${prefix}SELECT CASE WHEN s.m IS NULL THEN NULL WHEN s.m <= ${cap} THEN ${asText('s.m')} ELSE ${asText(cap)} END AS high
  FROM (SELECT MAX(${col}) AS m FROM ${qualified(table)}) s
 CROSS APPLY (SELECT DATEADD(second, -@lag, ${now}) AS lagged) l
 CROSS APPLY (SELECT DATEADD(nanosecond, -DATEPART(nanosecond, l.lagged), l.lagged) AS cap) f${minute}`,
    params,
  };
}

export interface SliceInput {
  table: TableRef;
  watermark: WatermarkColumn;
  bounds: SliceBounds;
  isolation: MssqlIsolation;
  /** The zone the table's zone-less timestamps are written in. */
  timeZone?: string;
}

export function hasRowsStatement(input: SliceInput): SqlStatement {
  const where = slicePredicate(input.watermark, input.bounds, input.timeZone);
  return {
    sql: `${isolationPrefix(input.isolation)}SELECT CASE WHEN EXISTS (SELECT 1 FROM ${qualified(input.table)} WHERE ${where.sql}) THEN 1 ELSE 0 END AS found`,
    params: where.params,
  };
}

export interface ReadInput extends SliceInput {
  /** Columns to extract, in order. */
  columns: MssqlCatalogColumn[];
  /** Primary-key columns, in key order. */
  primaryKey: MssqlCatalogColumn[];
  /** Key columns whose text is appended after `columns` (see planKeys). */
  appendedKeys: MssqlCatalogColumn[];
  /** Keyset cursor: key values as text of the last row written, or null. */
  after: string[] | null;
  /** The key range's inclusive end (key values as text), or none. */
  until?: string[] | null;
}

/**
 * The slice in primary-key order, after the keyset cursor. `(k1, k2) > (a, b)` is expanded (T-SQL
 * has no row-value comparison) and every key value is converted to its column's exact type,
 * length and collation on the parameter's side: the comparison then uses the same order as the
 * ORDER BY and can seek the key's index. An nvarchar key against a varchar column would instead
 * convert the column, which under a SQL collation sorts hyphens and apostrophes differently.
 */
export function readStatement(input: ReadInput): SqlStatement {
  const { table, columns, primaryKey, appendedKeys, after } = input;
  const where = slicePredicate(input.watermark, input.bounds, input.timeZone);
  const params = [...where.params];
  const zone = effectiveTimeZone(input.timeZone);
  const inZone = zone !== undefined && columns.some((c) => ZONELESS_TIMESTAMP_TYPES.has(c.type));
  if (inZone && !params.some((p) => p.name === 'tz')) params.push(tzParam(zone));
  // `(k1, k2) > (a, b)` as `k1 > a OR (k1 = a AND k2 > b)`; the range's end `<=` the same way, `<` but for the last column.
  const compare = (values: string[], prefix: string, op: '>' | '<='): string => {
    if (values.length !== primaryKey.length) throw new SourceError(`mssql source: ${op === '>' ? 'keyset cursor' : 'key range end'} has ${values.length} values for a ${primaryKey.length}-column key`);
    const value = primaryKey.map((k, i) => {
      params.push(text(`${prefix}${i}`, boundText(k, values[i]!), mssqlTextParamLength(k)));
      return mssqlFromText(k, `${prefix}${i}`);
    });
    const ors = primaryKey.map((k, i) => {
      const eqs = primaryKey.slice(0, i).map((p, j) => `${quoteMssql(p.name)} = ${value[j]}`);
      const last = i === primaryKey.length - 1;
      return `(${[...eqs, `${quoteMssql(k.name)} ${op === '>' ? '>' : last ? '<=' : '<'} ${value[i]}`].join(' AND ')})`;
    });
    return ` AND (${ors.join(' OR ')})`;
  };
  let keyset = after ? compare(after, 'k', '>') : '';
  if (input.until) keyset += compare(input.until, 'u', '<=');
  const select = [...columns.map((c) => mssqlSelectExpression(c, inZone)), ...appendedKeys.map((k) => mssqlKeyTextExpression(k))];
  return {
    sql: `${isolationPrefix(input.isolation)}SELECT ${select.join(', ')} FROM ${qualified(table)} WHERE ${where.sql}${keyset} ORDER BY ${primaryKey.map((k) => quoteMssql(k.name)).join(', ')}`,
    params,
  };
}

/**
 * Rows of the table (its heap or clustered index), as the storage engine keeps count: sys.partitions
 * is a catalog view, visible to whoever may read the table, where sys.dm_db_partition_stats would
 * need VIEW DATABASE STATE. NULL when the table is not visible.
 */
export function tableRowsStatement(table: TableRef): SqlStatement {
  return {
    sql: `SELECT CONVERT(varchar(20), SUM(p.rows)) AS n
  FROM sys.partitions p
 WHERE p.object_id = OBJECT_ID(QUOTENAME(@schema) + N'.' + QUOTENAME(@table)) AND p.index_id IN (0, 1)`,
    params: objectParams(table),
  };
}

/**
 * The histogram of the newest unfiltered statistics led by `column` (an index's, or statistics
 * SQL Server created on its own), keys as exact text. sys.dm_db_stats_histogram exists from SQL
 * Server 2016 SP1 CU2 and in Azure SQL Database and Managed Instance; it returns no rows where
 * the column has no statistics, and fails where the DMF is missing or not permitted.
 */
export function histogramStatement(table: TableRef, column: MssqlCatalogColumn): SqlStatement {
  const key = mssqlKeyTextExpression(column, `CONVERT(${mssqlTypeName(column)}, h.range_high_key)`);
  return {
    sql: `SELECT h.step_number AS step, ${key} AS k, h.range_rows AS rangeRows, h.equal_rows AS equalRows
  FROM (SELECT TOP (1) st.object_id, st.stats_id
          FROM sys.stats st
          JOIN sys.stats_columns sc ON sc.object_id = st.object_id AND sc.stats_id = st.stats_id AND sc.stats_column_id = 1
         WHERE st.object_id = OBJECT_ID(QUOTENAME(@schema) + N'.' + QUOTENAME(@table))
           AND sc.column_id = COLUMNPROPERTY(st.object_id, @column, 'ColumnId')
           AND st.has_filter = 0
         ORDER BY STATS_DATE(st.object_id, st.stats_id) DESC) s
 CROSS APPLY sys.dm_db_stats_histogram(s.object_id, s.stats_id) h
 ORDER BY h.step_number`,
    params: [...objectParams(table), text('column', column.name, 128)],
  };
}

export interface KeyCutsInput {
  table: TableRef;
  primaryKey: MssqlCatalogColumn[];
  isolation: MssqlIsolation;
  /** Values of the leading key column, strictly increasing, as text. */
  values: string[];
}

/** Text of every key column, named apart from any column of the table. */
const keyTexts = (primaryKey: MssqlCatalogColumn[]): string => primaryKey.map((k, i) => `${mssqlKeyTextExpression(k)} AS [sl_k${i}]`).join(', ');

const keyOrder = (primaryKey: MssqlCatalogColumn[], direction = ''): string => primaryKey.map((k) => `t.${quoteMssql(k.name)}${direction}`).join(', ');

/**
 * For each value of the leading key column, the whole key of the last row at or below it: one
 * index seek each (the key's index, as a read uses it). Ranges must end on whole keys; a cut on
 * the leading column alone could not be written as a keyset bound of a composite key.
 */
export function keyCutsStatement(input: KeyCutsInput): SqlStatement {
  const { table, primaryKey, values } = input;
  const lead = primaryKey[0]!;
  const params = values.map((v, i) => text(`c${i}`, boundText(lead, v), mssqlTextParamLength(lead)));
  const rows = values.map((_, i) => `(${i}, ${mssqlFromText(lead, `c${i}`)})`).join(',\n        ');
  return {
    sql: `${isolationPrefix(input.isolation)}SELECT c.n, ${primaryKey.map((_, i) => `x.[sl_k${i}]`).join(', ')}
  FROM (VALUES ${rows}) c (n, v)
 CROSS APPLY (SELECT TOP (1) ${keyTexts(primaryKey)} FROM ${qualified(table)} AS t WHERE t.${quoteMssql(lead.name)} <= c.v ORDER BY ${keyOrder(primaryKey, ' DESC')}) x
 ORDER BY c.n`,
    params,
  };
}

/** The leading key column's largest value (one seek), as text. */
export function lastKeyStatement(table: TableRef, lead: MssqlCatalogColumn, isolation: MssqlIsolation): SqlStatement {
  return { sql: `${isolationPrefix(isolation)}SELECT TOP (1) ${mssqlKeyTextExpression(lead)} AS k FROM ${qualified(table)} AS t ORDER BY t.${quoteMssql(lead.name)} DESC`, params: [] };
}

/**
 * Every key in key order, or with `percent` the keys of a TABLESAMPLE of that share of the
 * table's pages (SQL Server samples pages, never rows: a few pages of a large table).
 */
export function keySampleStatement(input: { table: TableRef; primaryKey: MssqlCatalogColumn[]; isolation: MssqlIsolation; percent: number | null }): SqlStatement {
  const { table, primaryKey, percent } = input;
  if (percent !== null && !(percent > 0 && percent <= 100)) throw new SourceError(`mssql source: a sample of ${percent} percent`);
  const sample = percent === null ? '' : ` TABLESAMPLE SYSTEM (${percent.toFixed(6)} PERCENT)`;
  return { sql: `${isolationPrefix(input.isolation)}SELECT ${keyTexts(primaryKey)} FROM ${qualified(table)} AS t${sample} ORDER BY ${keyOrder(primaryKey)}`, params: [] };
}
