import { describe, expect, it } from 'vitest';
import {
  DATE_INFINITY_DAYS,
  DATE_NEGATIVE_INFINITY_DAYS,
  dateFromPostgresBinary,
  decimalToUnscaled,
  parseDateDays,
  parseTimestampMicros,
  TIMESTAMP_INFINITY_MICROS,
  TIMESTAMP_NEGATIVE_INFINITY_MICROS,
  timestampFromPostgresBinary,
} from '../../shared/source/valueCodecs.js';

/** A seeded generator, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

describe('timestamp text to epoch microseconds', () => {
  it('agrees with an independent Date-based reference on 20 000 random timestamps, offsets and fractions', () => {
    const r = rng(42);
    for (let k = 0; k < 20_000; k++) {
      const ms = Math.floor((r() * 2 - 0.2) * 250_000_000_000_000) % 253_402_300_799_000; // years ~1 to 9999
      const micros = Math.floor(r() * 1000);
      const offsetMin = r() < 0.5 ? 0 : Math.round((r() * 28 - 14) * 4) * 15;
      const local = new Date(ms + offsetMin * 60_000);
      if (local.getUTCFullYear() < 1 || local.getUTCFullYear() > 9999) continue;
      const fracDigits = Math.floor(r() * 8); // 0..7 (7: SQL Server's 100 ns)
      const totalMicros = (ms % 1000 + 1000) % 1000 * 1000 + micros;
      const fracFull = pad(totalMicros, 6) + String(Math.floor(r() * 10));
      const frac = fracDigits === 0 ? '' : `.${fracFull.slice(0, fracDigits)}`;
      const sign = offsetMin < 0 ? '-' : '+';
      const abs = Math.abs(offsetMin);
      const offset = r() < 0.3 ? '' : abs % 60 === 0 && r() < 0.5 ? `${sign}${pad(abs / 60)}` : `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
      const text =
        `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ` +
        `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${frac}${offset}`;
      const appliedOffset = offset === '' ? 0 : offsetMin;
      const wholeSecondsMs = Math.floor((ms + offsetMin * 60_000) / 1000) * 1000 - appliedOffset * 60_000;
      const keptMicros = fracDigits === 0 ? 0 : Number(fracFull.slice(0, Math.min(fracDigits, 6)).padEnd(6, '0'));
      const expected = BigInt(wholeSecondsMs) * 1000n + BigInt(keptMicros);
      expect(parseTimestampMicros(text), text).toBe(expected);
    }
  });

  it('reads ISO T/Z forms, BC dates and years past 9999 through the general path', () => {
    expect(parseTimestampMicros('1970-01-01T00:00:00Z')).toBe(0n);
    expect(parseTimestampMicros('1970-01-01 00:00:00.000001+00')).toBe(1n);
    expect(parseTimestampMicros('1969-12-31 23:59:59.999999')).toBe(-1n);
    expect(parseTimestampMicros('0001-01-01 00:00:00 BC')).toBe(BigInt(new Date('0000-01-01T00:00:00Z').getTime()) * 1000n);
    expect(parseTimestampMicros('12026-01-01 00:00:00+00') > parseTimestampMicros('9999-12-31 23:59:59+00')).toBe(true);
    expect(parseTimestampMicros('2026-03-29 01:00:00+05:30:15')).toBe(BigInt(Date.UTC(2026, 2, 28, 19, 29, 45)) * 1000n);
    expect(() => parseTimestampMicros('someday')).toThrow(/cannot read timestamp "someday"/);
    expect(() => parseTimestampMicros('2026-13-01 25:00')).toThrow(/cannot read timestamp/);
  });
});

describe('Postgres infinities and the edges of the Parquet types', () => {
  it('maps infinity and -infinity to the extremes of the column integer, text and binary alike', () => {
    expect(parseDateDays('infinity')).toBe(2 ** 31 - 1);
    expect(parseDateDays('-infinity')).toBe(-(2 ** 31));
    expect(parseTimestampMicros('infinity')).toBe(2n ** 63n - 1n);
    expect(parseTimestampMicros('-infinity')).toBe(-(2n ** 63n));
    // Postgres' binary forms: INT32/INT64 extremes on its 2000-01-01 epoch.
    expect(dateFromPostgresBinary(2 ** 31 - 1)).toBe(DATE_INFINITY_DAYS);
    expect(dateFromPostgresBinary(-(2 ** 31))).toBe(DATE_NEGATIVE_INFINITY_DAYS);
    expect(timestampFromPostgresBinary(2n ** 63n - 1n)).toBe(TIMESTAMP_INFINITY_MICROS);
    expect(timestampFromPostgresBinary(-(2n ** 63n))).toBe(TIMESTAMP_NEGATIVE_INFINITY_MICROS);
  });

  it('reads finite binary values as the text parser reads the same instants', () => {
    expect(dateFromPostgresBinary(0)).toBe(parseDateDays('2000-01-01'));
    expect(dateFromPostgresBinary(-10_957)).toBe(0);
    // The last date Postgres can store, on its own epoch and on ours.
    expect(dateFromPostgresBinary(2_145_031_948)).toBe(parseDateDays('5874897-12-31'));
    expect(parseDateDays('5874897-12-31')).toBeLessThan(DATE_INFINITY_DAYS);
    expect(parseDateDays('4714-11-24 BC')).toBeGreaterThan(DATE_NEGATIVE_INFINITY_DAYS);
    expect(timestampFromPostgresBinary(0n)).toBe(parseTimestampMicros('2000-01-01 00:00:00+00'));
    expect(timestampFromPostgresBinary(-1n)).toBe(parseTimestampMicros('1999-12-31 23:59:59.999999+00'));
    expect(timestampFromPostgresBinary(parseTimestampMicros('4714-11-24 00:00:00+00 BC') - 946_684_800_000_000n)).toBe(parseTimestampMicros('4714-11-24 00:00:00+00 BC'));
  });

  it('refuses finite values no Parquet DATE or TIMESTAMP(MICROS) can hold, never wrapping them', () => {
    // 2^63-1 µs after 1970 is 294247-01-10 04:00:54.775807 UTC: it and everything after are refused,
    // so no finite value can be mistaken for +infinity.
    expect(parseTimestampMicros('294247-01-10 04:00:54.775806+00')).toBe(2n ** 63n - 2n);
    expect(() => parseTimestampMicros('294247-01-10 04:00:54.775807+00')).toThrow(/timestamp "294247-01-10 04:00:54.775807\+00" is outside the range of Parquet TIMESTAMP\(MICROS\)/);
    expect(() => parseTimestampMicros('294276-12-31 23:59:59.999999')).toThrow(/outside the range/);
    expect(() => timestampFromPostgresBinary(2n ** 63n - 2n)).toThrow(/outside the range of Parquet TIMESTAMP\(MICROS\)/);
    expect(() => parseDateDays('5881580-07-11')).toThrow(/date "5881580-07-11" is outside the range of Parquet DATE/);
  });
});

describe('dates and decimals', () => {
  it('counts days from the epoch, BC included', () => {
    expect(parseDateDays('1970-01-01')).toBe(0);
    expect(parseDateDays('2026-11-25')).toBe(Date.UTC(2026, 10, 25) / 86_400_000);
    expect(parseDateDays('0001-01-01')).toBe(Math.round(new Date('0001-01-01T00:00:00Z').getTime() / 86_400_000));
    expect(parseDateDays('0001-12-31 BC')).toBe(parseDateDays('0001-01-01') - 1);
  });

  it('scales decimals exactly and refuses to round or overflow', () => {
    expect(decimalToUnscaled('123.45', 12, 3)).toBe(123450n);
    expect(decimalToUnscaled('-0.001', 12, 3)).toBe(-1n);
    expect(decimalToUnscaled('99999999999999999999999999.999999999999', 38, 12)).toBe(99999999999999999999999999999999999999n);
    expect(decimalToUnscaled('1.2300', 5, 2)).toBe(123n);
    expect(() => decimalToUnscaled('1.234', 5, 2)).toThrow(/more than 2 fractional digits/);
    expect(() => decimalToUnscaled('1234', 5, 2)).toThrow(/does not fit DECIMAL\(5,2\)/);
    expect(() => decimalToUnscaled('NaN', 5, 2)).toThrow(/cannot read decimal "NaN"/);
  });
});
