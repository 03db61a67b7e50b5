import { quoteMssql } from '../../config/identifiers.js';
import type { ParquetType } from '../parquetTypes.js';
import { MAX_DECIMAL_PRECISION } from '../parquetTypes.js';
import { decimalToUnscaled, normaliseUuid, parseDateDays, parseTimestampMicros } from '../valueCodecs.js';

export interface MssqlCatalogColumn {
  name: string;
  type: string; // sys.types name
  precision: number;
  scale: number;
  maxLength: number;
  nullable: boolean;
}

/** Catalogue spelling, e.g. decimal(12,2), datetime2(7), nvarchar(200). */
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
      // char, varchar, nchar, nvarchar, text, ntext, uniqueidentifier, xml, time, sql_variant, hierarchyid, ...
      return { kind: 'string' };
  }
}

/**
 * SELECT expression that brings the value over the wire exactly: tedious turns decimals into
 * floats and datetime2 into millisecond Dates, so those travel as text and are parsed here.
 */
export function mssqlSelectExpression(c: MssqlCatalogColumn): string {
  const col = quoteMssql(c.name);
  switch (c.type) {
    case 'decimal':
    case 'numeric':
    case 'money':
    case 'smallmoney':
      return `CONVERT(varchar(64), ${col})`;
    case 'datetime':
    case 'datetime2':
    case 'smalldatetime':
      return `CONVERT(varchar(27), CONVERT(datetime2(7), ${col}), 121)`;
    case 'datetimeoffset':
      return `CONVERT(varchar(27), CONVERT(datetime2(7), SWITCHOFFSET(${col}, '+00:00')), 121)`;
    case 'date':
      return `CONVERT(varchar(10), ${col}, 23)`;
    case 'bigint':
      return `CONVERT(varchar(20), ${col})`;
    case 'time':
      return `CONVERT(varchar(16), ${col}, 114)`;
    case 'sql_variant':
    case 'hierarchyid':
    case 'geography':
    case 'geometry':
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

/** Key values travel back as text for the keyset predicate; style 121 keeps datetime2 exact. */
export function mssqlKeyTextExpression(c: MssqlCatalogColumn): string {
  const col = quoteMssql(c.name);
  if (['datetime', 'datetime2', 'smalldatetime', 'datetimeoffset', 'date', 'time'].includes(c.type)) return `CONVERT(nvarchar(40), ${col}, 121)`;
  if (c.type === 'uniqueidentifier') return `CONVERT(nvarchar(36), ${col})`;
  if (['binary', 'varbinary'].includes(c.type)) return `CONVERT(nvarchar(max), ${col}, 1)`;
  return `CONVERT(nvarchar(4000), ${col})`;
}
