import { quoteMssql } from '../../config/identifiers.js';
import type { ParquetType } from '../parquetTypes.js';
import { MAX_DECIMAL_PRECISION } from '../parquetTypes.js';
import { SourceError } from '../source.js';
import { decimalToUnscaled, normaliseUuid, parseDateDays, parseTimestampMicros } from '../valueCodecs.js';

/**
 * One column as SQL Server's catalogue describes it. `type` is always the system base type:
 * an alias type (`CREATE TYPE dbo.Amount FROM decimal(19,4)`) is resolved to `decimal` and
 * keeps its own name in `alias`, so it maps, converts and binds like its base type.
 */
export interface MssqlCatalogColumn {
  name: string;
  /** System base type name from sys.types (`decimal`, `nvarchar`, `timestamp` for rowversion, ...). */
  type: string;
  precision: number;
  scale: number;
  /** Bytes; -1 for (max). */
  maxLength: number;
  nullable: boolean;
  /** `schema.name` of the alias type the column is declared with, if any. */
  alias?: string | null;
  /** Collation of char/varchar/nchar/nvarchar/text columns. */
  collation?: string | null;
  /** CLR type (hierarchyid, geometry, geography, user CLR types). */
  clr?: boolean;
}

/** Catalogue spelling of the base type, e.g. decimal(12,2), datetime2(7), nvarchar(200). */
export function mssqlTypeName(c: MssqlCatalogColumn): string {
  switch (c.type) {
    case 'decimal':
    case 'numeric':
      return `${c.type}(${c.precision},${c.scale})`;
    case 'datetime2':
    case 'datetimeoffset':
    case 'time':
      return `${c.type}(${c.scale})`;
    case 'varchar':
    case 'char':
    case 'varbinary':
    case 'binary':
      return `${c.type}(${c.maxLength === -1 ? 'max' : c.maxLength})`;
    case 'nvarchar':
    case 'nchar':
      return `${c.type}(${c.maxLength === -1 ? 'max' : c.maxLength / 2})`;
    default:
      return c.type;
  }
}

export function mssqlParquetType(c: MssqlCatalogColumn): ParquetType {
  switch (c.type) {
    case 'tinyint':
    case 'smallint':
      return { kind: 'int16' };
    case 'int':
      return { kind: 'int32' };
    case 'bigint':
      return { kind: 'int64' };
    case 'real':
      return { kind: 'float' };
    case 'float':
      return { kind: 'double' };
    case 'bit':
      return { kind: 'boolean' };
    case 'decimal':
    case 'numeric':
      return c.precision <= MAX_DECIMAL_PRECISION ? { kind: 'decimal', precision: c.precision, scale: c.scale } : { kind: 'string' };
    case 'money':
      return { kind: 'decimal', precision: 19, scale: 4 };
    case 'smallmoney':
      return { kind: 'decimal', precision: 10, scale: 4 };
    case 'date':
      return { kind: 'date' };
    case 'datetime':
    case 'datetime2':
    case 'smalldatetime':
    case 'datetimeoffset':
      return { kind: 'timestamp' };
    case 'binary':
    case 'varbinary':
    case 'image':
    case 'timestamp':
    case 'rowversion':
      return { kind: 'binary' };
    default:
      // char, varchar, nchar, nvarchar, text, ntext, uniqueidentifier, xml, time, sql_variant, CLR types, ...
      return { kind: 'string' };
  }
}

/** Types whose values carry no offset: SQL Server stores the wall clock the application wrote. */
export const ZONELESS_TIMESTAMP_TYPES: ReadonlySet<string> = new Set(['datetime', 'datetime2', 'smalldatetime']);

/** A configured time zone that changes anything: UTC needs no conversion. */
export function effectiveTimeZone(timeZone: string | undefined): string | undefined {
  return timeZone && !/^(utc|etc\/utc)$/i.test(timeZone.trim()) ? timeZone : undefined;
}

/** A zone-less value's wall clock as text at 100 ns (datetime and smalldatetime convert exactly). */
function wallClockText(col: string): string {
  return `CONVERT(varchar(27), CONVERT(datetime2(7), ${col}), 121)`;
}

/** A zone-less value written in the table's time zone `@tz`, as UTC text at 100 ns. */
function localAsUtcText(col: string): string {
  return `CONVERT(varchar(27), CONVERT(datetime2(7), SWITCHOFFSET(CONVERT(datetime2(7), ${col}) AT TIME ZONE @tz, '+00:00')), 121)`;
}

/** A datetimeoffset as the UTC wall clock at 100 ns. */
function offsetAsUtcText(col: string): string {
  return `CONVERT(varchar(27), CONVERT(datetime2(7), SWITCHOFFSET(${col}, '+00:00')), 121)`;
}

/**
 * SELECT expression that brings the value over the wire exactly: tedious turns decimals into
 * floats and datetime2 into millisecond Dates, so those travel as text and are parsed here.
 * With `inZone`, zone-less timestamps are written in the table's time zone (`@tz`) and leave as UTC.
 */
export function mssqlSelectExpression(c: MssqlCatalogColumn, inZone = false): string {
  const col = quoteMssql(c.name);
  if (c.clr) return `CONVERT(nvarchar(max), ${col})`;
  switch (c.type) {
    case 'decimal':
    case 'numeric':
      return `CONVERT(varchar(64), ${col})`;
    case 'money':
    case 'smallmoney':
      // Style 2: four decimals. Style 0 (the default) rounds to two.
      return `CONVERT(varchar(32), ${col}, 2)`;
    case 'datetime':
    case 'datetime2':
    case 'smalldatetime':
      return inZone ? localAsUtcText(col) : wallClockText(col);
    case 'datetimeoffset':
      return offsetAsUtcText(col);
    case 'date':
      return `CONVERT(varchar(10), ${col}, 23)`;
    case 'bigint':
      return `CONVERT(varchar(20), ${col})`;
    case 'time':
      // Style 121: hh:mi:ss.nnnnnnn at the column's scale. 114 keeps milliseconds only, after a colon.
      return `CONVERT(varchar(16), ${col}, 121)`;
    case 'sql_variant':
    case 'xml':
      return `CONVERT(nvarchar(max), ${col})`;
    default:
      return col;
  }
}

/** Converter from what tedious returns for the SELECT expression to the writer's physical value. */
export function mssqlConverter(c: MssqlCatalogColumn, parquet: ParquetType): (v: unknown) => unknown {
  switch (parquet.kind) {
    case 'decimal': {
      const { precision = MAX_DECIMAL_PRECISION, scale = 0 } = parquet;
      return (v) => decimalToUnscaled(v as string, precision, scale);
    }
    case 'timestamp':
      return (v) => parseTimestampMicros(v as string);
    case 'date':
      return (v) => parseDateDays(v as string);
    case 'int64':
      return (v) => BigInt(v as string);
    case 'binary':
      return (v) => v as Buffer;
    case 'string':
      if (c.type === 'uniqueidentifier') return (v) => normaliseUuid(v as string);
      return (v) => (typeof v === 'string' ? v : String(v));
    default:
      return (v) => v;
  }
}

/**
 * Key values that do not come back exactly in the row itself travel as extra text columns for
 * the keyset cursor. Each form is one `mssqlFromText` reads back to the identical value:
 * float/real style 3 (17/9 digits, lossless), money style 2 (four decimals), binary style 1
 * (0x hex), timestamps at 100 ns (datetimeoffset as UTC). `value`: an expression of the column's
 * type to render instead of the column itself (a statistics histogram's key).
 */
export function mssqlKeyTextExpression(c: MssqlCatalogColumn, value?: string): string {
  const col = value ?? quoteMssql(c.name);
  switch (c.type) {
    case 'datetime':
    case 'datetime2':
    case 'smalldatetime':
      return wallClockText(col);
    case 'datetimeoffset':
      return offsetAsUtcText(col);
    case 'date':
      return `CONVERT(varchar(10), ${col}, 23)`;
    case 'time':
      return `CONVERT(varchar(16), ${col}, 121)`;
    case 'float':
    case 'real':
      return `CONVERT(varchar(32), ${col}, 3)`;
    case 'money':
    case 'smallmoney':
      return `CONVERT(varchar(32), ${col}, 2)`;
    case 'binary':
    case 'varbinary':
    case 'timestamp':
      return `CONVERT(varchar(max), ${col}, 1)`;
    case 'uniqueidentifier':
      return `CONVERT(varchar(36), ${col})`;
    default:
      return `CONVERT(nvarchar(4000), ${col})`;
  }
}

/** Collation names come from the catalogue, but are spliced into SQL (COLLATE takes no parameter). */
const COLLATION = /^[A-Za-z0-9_]{1,128}$/;

const CONVERTIBLE_INTEGERS = new Set(['tinyint', 'smallint', 'int', 'bigint', 'bit']);

/**
 * A T-SQL expression of exactly the column's type (and length, and collation) from a text
 * parameter, converted on the parameter's side so the column is compared as it is indexed and
 * ordered. Timestamps pass through datetime2(7) with style 121, which no SET LANGUAGE or SET
 * DATEFORMAT changes and which takes all seven fractional digits; the conversion to
 * datetime/smalldatetime then happens between date types, never from text.
 */
export function mssqlFromText(c: MssqlCatalogColumn, param: string): string {
  const p = `@${param}`;
  const viaDatetime2 = `CONVERT(datetime2(7), ${p}, 121)`;
  if (CONVERTIBLE_INTEGERS.has(c.type)) return `CONVERT(${c.type}, ${p})`;
  switch (c.type) {
    case 'decimal':
    case 'numeric':
      return `CONVERT(${c.type}(${c.precision},${c.scale}), ${p})`;
    case 'money':
    case 'smallmoney':
    case 'float':
    case 'real':
    case 'uniqueidentifier':
      return `CONVERT(${c.type}, ${p})`;
    case 'date':
      return `CONVERT(date, ${p}, 23)`;
    case 'time':
      return `CONVERT(time(${c.scale}), ${p})`;
    case 'datetime2':
      return c.scale === 7 ? viaDatetime2 : `CONVERT(datetime2(${c.scale}), ${viaDatetime2})`;
    case 'datetime':
    case 'smalldatetime':
      return `CONVERT(${c.type}, ${viaDatetime2})`;
    case 'datetimeoffset':
      // Text without an offset is UTC (bounds and keys are written that way).
      return `CONVERT(datetimeoffset(${c.scale}), TODATETIMEOFFSET(${viaDatetime2}, 0))`;
    case 'char':
    case 'varchar': {
      const collation = c.collation ?? '';
      if (!COLLATION.test(collation)) throw new SourceError(`mssql source: column ${c.name} has an unexpected collation ${JSON.stringify(collation)}`);
      // nvarchar -> varchar through the column's own collation: its code page, its sort.
      return `CONVERT(${mssqlTypeName(c)}, ${p} COLLATE ${collation})`;
    }
    case 'nchar':
    case 'nvarchar':
      return `CONVERT(${mssqlTypeName(c)}, ${p})`;
    case 'binary':
    case 'varbinary':
      return `CONVERT(${mssqlTypeName(c)}, ${p}, 1)`;
    case 'timestamp':
      return `CONVERT(binary(8), ${p}, 1)`;
    case 'hierarchyid':
      return `CONVERT(hierarchyid, ${p})`;
    default:
      throw new SourceError(`mssql source: column ${c.name} of type ${c.alias ?? mssqlTypeName(c)} cannot be compared from a bound value (keyset or watermark)`);
  }
}

/** Text long enough for the column's text form: nvarchar(4000) unless a (max) or long binary needs more. */
export function mssqlTextParamLength(c: MssqlCatalogColumn): number | 'max' {
  if (c.maxLength === -1) return 'max';
  if ((c.type === 'binary' || c.type === 'varbinary') && 2 * c.maxLength + 2 > 4000) return 'max';
  return 4000;
}

/**
 * Bytes a row of these columns may hold in memory, for batches bounded by size as well as
 * rows: fixed columns count their declared size, (max) and LOB columns their actual value.
 */
export function mssqlRowSizer(columns: MssqlCatalogColumn[]): (row: unknown[]) => number {
  let fixed = 16 * columns.length;
  const measured: number[] = [];
  columns.forEach((c, i) => {
    const lob = c.maxLength === -1 || c.clr || ['text', 'ntext', 'image', 'xml', 'sql_variant'].includes(c.type);
    if (lob) measured.push(i);
    else fixed += ['char', 'varchar'].includes(c.type) ? 2 * c.maxLength : c.maxLength;
  });
  if (measured.length === 0) return () => fixed;
  return (row) => {
    let n = fixed;
    for (const i of measured) {
      const v = row[i];
      if (typeof v === 'string') n += 2 * v.length;
      else if (v instanceof Uint8Array) n += v.byteLength;
    }
    return n;
  };
}
