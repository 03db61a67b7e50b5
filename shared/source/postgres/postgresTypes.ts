import type { ParquetType } from '../parquetTypes.js';
import { MAX_DECIMAL_PRECISION } from '../parquetTypes.js';
import { parseDateDays, parseTimestampMicros } from '../valueCodecs.js';


/** Parquet type for a Postgres column from pg_type.typname and atttypmod. Unknown types keep their text form. */
export function postgresParquetType(typname: string, typmod: number): ParquetType {
  switch (typname) {
    case 'int2':
      return { kind: 'int16' };
    case 'int4':
      return { kind: 'int32' };
    case 'int8':
      return { kind: 'int64' };
    case 'float4':
      return { kind: 'float' };
    case 'float8':
      return { kind: 'double' };
    case 'bool':
      return { kind: 'boolean' };
    case 'bytea':
      return { kind: 'binary' };
    case 'date':
      return { kind: 'date' };
    case 'timestamp':
    case 'timestamptz':
      return { kind: 'timestamp' };
    case 'numeric': {
      // Unconstrained numeric has no scale to give a DECIMAL: its exact text is kept instead of rounding.
      if (typmod < 0) return { kind: 'string' };
      const precision = ((typmod - 4) >> 16) & 0xffff;
      const scale = (typmod - 4) & 0xffff;
      // Wider than Spark's DECIMAL(38): keep every digit as text rather than round.
      if (precision > MAX_DECIMAL_PRECISION || scale > precision) return { kind: 'string' };
      return { kind: 'decimal', precision, scale };
    }
    default:
      // text, varchar, bpchar, uuid, json, jsonb, time, interval, enums, arrays ...
      return { kind: 'string' };
  }
}

const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  float4: 700,
  float8: 701,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
} as const;

const identity = (text: string): string => text;

/**
 * pg text parsers that produce the writer's physical values directly, so rows need no second
 * pass (numeric, whose scale is per column, is the exception and stays text here).
 */
const parsers = new Map<number, (text: string) => unknown>([
  [OID.bool, (t) => t === 't'],
  [OID.bytea, (t) => (t.startsWith('\\x') ? Buffer.from(t.slice(2), 'hex') : Buffer.from(t, 'binary'))],
  [OID.int8, (t) => BigInt(t)],
  [OID.int2, (t) => Number(t)],
  [OID.int4, (t) => Number(t)],
  [OID.float4, (t) => Number(t)],
  [OID.float8, (t) => Number(t)],
  [OID.date, parseDateDays],
  [OID.timestamp, parseTimestampMicros],
  [OID.timestamptz, parseTimestampMicros],
]);

export const parquetTypeParsers = {
  getTypeParser(oid: number): (text: string) => unknown {
    return parsers.get(oid) ?? identity;
  },
};

/** Parsers that keep every value as text: the baseline read in the benchmark and catalogue queries. */
export const textTypeParsers = {
  getTypeParser(): (text: string) => unknown {
    return identity;
  },
};
