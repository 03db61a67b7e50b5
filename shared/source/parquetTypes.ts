import type { SchemaElement } from 'hyparquet';

/**
 * The Parquet shape of one column, decided from the source's catalogue. Values handed to
 * the writer are already in the physical form noted per kind, so the hot path never guesses.
 */
export type ParquetKind =
  | 'int16' // number
  | 'int32' // number
  | 'int64' // bigint
  | 'float' // number
  | 'double' // number
  | 'boolean' // boolean
  | 'string' // string
  | 'binary' // Uint8Array
  | 'date' // number: days since 1970-01-01
  | 'timestamp' // bigint: microseconds since epoch, UTC
  | 'decimal'; // bigint: unscaled value

export interface ParquetType {
  kind: ParquetKind;
  precision?: number;
  scale?: number;
}

/** The largest DECIMAL precision Spark reads (DecimalType.MAX_PRECISION). */
export const MAX_DECIMAL_PRECISION = 38;

function decimalBytes(precision: number): number {
  // smallest n with 2^(8n-1) > 10^precision
  let n = 1;
  while (2n ** BigInt(8 * n - 1) <= 10n ** BigInt(precision)) n++;
  return n;
}

/** Schema element for the writer; converted and logical types both set so old and new readers agree. */
export function schemaElement(name: string, type: ParquetType, nullable: boolean): SchemaElement {
  const repetition_type = nullable ? 'OPTIONAL' : 'REQUIRED';
  switch (type.kind) {
    case 'int16':
      // Converted type only: hyparquet-writer encodes IntType.bitWidth with the wrong thrift width, which arrow-rs rejects.
      return { name, repetition_type, type: 'INT32', converted_type: 'INT_16' };
    case 'int32':
      return { name, repetition_type, type: 'INT32' };
    case 'int64':
      return { name, repetition_type, type: 'INT64' };
    case 'float':
      return { name, repetition_type, type: 'FLOAT' };
    case 'double':
      return { name, repetition_type, type: 'DOUBLE' };
    case 'boolean':
      return { name, repetition_type, type: 'BOOLEAN' };
    case 'string':
      return { name, repetition_type, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
    case 'binary':
      return { name, repetition_type, type: 'BYTE_ARRAY' };
    case 'date':
      return { name, repetition_type, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } };
    case 'timestamp':
      return {
        name,
        repetition_type,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MICROS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
      };
    case 'decimal': {
      const precision = type.precision ?? MAX_DECIMAL_PRECISION;
      const scale = type.scale ?? 0;
      const decimal = { converted_type: 'DECIMAL' as const, precision, scale, logical_type: { type: 'DECIMAL' as const, precision, scale } };
      if (precision <= 9) return { name, repetition_type, type: 'INT32', ...decimal };
      if (precision <= 18) return { name, repetition_type, type: 'INT64', ...decimal };
      return { name, repetition_type, type: 'FIXED_LEN_BYTE_ARRAY', type_length: decimalBytes(precision), ...decimal };
    }
  }
}

/** Human-readable Parquet type for manifests and status output. */
export function describeParquetType(type: ParquetType): string {
  switch (type.kind) {
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'timestamp':
      return 'TIMESTAMP(MICROS,UTC)';
    case 'int16':
      return 'INT32(INT_16)';
    default:
      return {
        int32: 'INT32',
        int64: 'INT64',
        float: 'FLOAT',
        double: 'DOUBLE',
        boolean: 'BOOLEAN',
        string: 'STRING',
        binary: 'BINARY',
        date: 'DATE',
      }[type.kind];
  }
}
