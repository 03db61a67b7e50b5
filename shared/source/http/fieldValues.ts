import type { ParquetType } from '../parquetTypes.js';

/**
 * The values of file and REST records in bronze's Parquet form: a field has one of the
 * catalog's field types (string, int, bigint, double, boolean, date, timestamp), declared or
 * inferred, and every value is converted to it or refused with the field named.
 */

export const FIELD_PARQUET: Record<string, ParquetType> = {
  string: { kind: 'string' },
  int: { kind: 'int32' },
  bigint: { kind: 'int64' },
  double: { kind: 'double' },
  boolean: { kind: 'boolean' },
  date: { kind: 'date' },
  timestamp: { kind: 'timestamp' },
};

const INT = /^[+-]?\d+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

export class FieldValueError extends Error {}

/** Microseconds since the epoch of an ISO 8601 date-time; no zone means UTC. */
export function timestampMicros(text: string): bigint | null {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return null;
  let zone = m[4] ?? 'Z';
  if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2]!.length === 5 ? `${m[2]}:00` : m[2]}${zone.toUpperCase()}`);
  if (Number.isNaN(ms)) return null;
  const micros = (m[3] ?? '').padEnd(6, '0').slice(0, 6);
  return BigInt(ms) * 1000n + BigInt(micros);
}

function daysOf(text: string): number | null {
  const m = DATE.exec(text.trim());
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const back = new Date(ms);
  if (back.getUTCMonth() !== Number(m[2]) - 1 || back.getUTCDate() !== Number(m[3])) return null;
  return ms / 86_400_000;
}

/** `value` as the physical Parquet value of `type`; null for null, undefined and (except for strings) the empty string. */
export function toFieldValue(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (value === '' && type !== 'string') return null;
  const fail = (): never => {
    throw new FieldValueError(`${JSON.stringify(typeof value === 'bigint' ? String(value) : value)?.slice(0, 80)} is not a ${type}`);
  };
  switch (type) {
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
      if (value instanceof Date) return value.toISOString();
      return JSON.stringify(value);
    case 'int': {
      const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : typeof value === 'string' && INT.test(value.trim()) ? Number(value) : NaN;
      return Number.isInteger(n) && n >= INT32.min && n <= INT32.max ? n : fail();
    }
    case 'bigint': {
      let b: bigint | undefined;
      if (typeof value === 'bigint') b = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) b = BigInt(value);
      else if (typeof value === 'string' && INT.test(value.trim())) b = BigInt(value.trim());
      return b !== undefined && b >= INT64.min && b <= INT64.max ? b : fail();
    }
    case 'double': {
      if (typeof value === 'number') return value;
      if (typeof value === 'bigint') return Number(value);
      if (typeof value === 'string' && value.trim() !== '') {
        const n = Number(value);
        if (!Number.isNaN(n) || value.trim() === 'NaN') return n;
      }
      return fail();
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      return fail();
    case 'date': {
      if (value instanceof Date) return Math.floor(value.getTime() / 86_400_000);
      const d = typeof value === 'string' ? daysOf(value) : null;
      return d ?? fail();
    }
    case 'timestamp': {
      if (value instanceof Date) return BigInt(value.getTime()) * 1000n;
      const t = typeof value === 'string' ? timestampMicros(value) : null;
      return t ?? fail();
    }
    default:
      throw new FieldValueError(`unknown field type ${type}`);
  }
}

/** The type a sample of one field's values suggests: integers -> bigint, numbers -> double, booleans, date-times, else string. */
export function inferFieldType(values: unknown[]): string {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return 'string';
  if (present.every((v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v)))) return 'bigint';
  if (present.every((v) => typeof v === 'number' || typeof v === 'bigint')) return 'double';
  if (present.every((v) => typeof v === 'boolean')) return 'boolean';
  if (present.every((v) => v instanceof Date)) return 'timestamp';
  return 'string';
}
