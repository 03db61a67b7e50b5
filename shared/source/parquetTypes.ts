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
