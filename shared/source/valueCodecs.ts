/**
 * Text-to-Parquet conversions shared by the SQL sources. Drivers hand back JS Dates with
 * millisecond precision; we read timestamps, dates and decimals as text instead so that
 * microseconds and every decimal digit survive.
 */

export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueError';
  }
}

/**
 * Postgres `infinity` and `-infinity` (date, timestamp, timestamptz) in bronze: the largest and
 * smallest values of the Parquet column's integer, counted from 1970-01-01 as every DATE and
 * TIMESTAMP(MICROS) is. Postgres stores its infinities the same way on its own 2000-01-01 epoch
 * (INT32 / INT64 minimum and maximum). No finite value takes these numbers (Postgres dates end at
 * 5874897-12-31, 2,145,042,905 days; the one finite timestamp that would be 2^63-1 µs is refused
 * with the ones past it, which no TIMESTAMP(MICROS) can hold), so the rule round-trips: a bronze
 * value equal to a sentinel is the infinity, and nothing else. Every decoder of Postgres values,
 * text or binary, applies this rule; docs/bronze-layout.md states it for readers.
 */
export const DATE_INFINITY_DAYS = 2_147_483_647;
export const DATE_NEGATIVE_INFINITY_DAYS = -2_147_483_648;
export const TIMESTAMP_INFINITY_MICROS = 9_223_372_036_854_775_807n;
export const TIMESTAMP_NEGATIVE_INFINITY_MICROS = -9_223_372_036_854_775_808n;

/** Days from 2000-01-01 (Postgres' epoch) to 1970-01-01 (Parquet's). */
const POSTGRES_EPOCH_DAYS = 10_957;
const POSTGRES_EPOCH_MICROS = BigInt(POSTGRES_EPOCH_DAYS) * 86_400_000_000n;

/** The sentinel for Postgres' text `infinity` / `-infinity`, or undefined for any other text. */
function infinity<T>(text: string, positive: T, negative: T): T | undefined {
  if (text === 'infinity') return positive;
  if (text === '-infinity') return negative;
  return undefined;
}

function finiteTimestamp(micros: bigint, text: string): bigint {
  if (micros >= TIMESTAMP_INFINITY_MICROS || micros <= TIMESTAMP_NEGATIVE_INFINITY_MICROS) {
    throw new ValueError(`timestamp ${JSON.stringify(text)} is outside the range of Parquet TIMESTAMP(MICROS) (64-bit microseconds since 1970)`);
  }
  return micros;
}

/**
 * A Postgres binary `date` (int32 days since 2000-01-01, INT32 min/max for -/+infinity) as
 * bronze DATE days: the same rule the text parser applies.
 */
export function dateFromPostgresBinary(daysSince2000: number): number {
  if (daysSince2000 === 2_147_483_647) return DATE_INFINITY_DAYS;
  if (daysSince2000 === -2_147_483_648) return DATE_NEGATIVE_INFINITY_DAYS;
  return daysSince2000 + POSTGRES_EPOCH_DAYS;
}

/**
 * A Postgres binary `timestamp`/`timestamptz` (int64 µs since 2000-01-01 UTC, INT64 min/max for
 * -/+infinity) as bronze TIMESTAMP(MICROS): the same rule the text parser applies, and the same
 * refusal of finite values past 2^63-1 µs since 1970.
 */
export function timestampFromPostgresBinary(microsSince2000: bigint, text = `${microsSince2000} µs after 2000-01-01`): bigint {
  if (microsSince2000 === TIMESTAMP_INFINITY_MICROS) return TIMESTAMP_INFINITY_MICROS;
  if (microsSince2000 === TIMESTAMP_NEGATIVE_INFINITY_MICROS) return TIMESTAMP_NEGATIVE_INFINITY_MICROS;
  return finiteTimestamp(microsSince2000 + POSTGRES_EPOCH_MICROS, text);
}

/** POSTGRES_EPOCH_MICROS in two 32-bit halves: 946,684,800,000,000 = 220,417 * 2^32 + 993,517,568. */
const EPOCH_HI = 220_417;
const EPOCH_LO = 993_517_568;
/** XOR-ed into two int32 words, it makes their signed order their unsigned order. */
const SIGN = -0x80000000;

/**
 * timestampFromPostgresBinary without BigInt, for the COPY decoder's hot loop: the value as its
 * high and low 32-bit halves, both as signed int32 (the low word's top bit is its sign here), the
 * result written as two int32 words (little endian: low first) at `out[at]`, `out[at + 1]`. The
 * same rule: the sentinels pass unchanged, a finite value that would reach 2^63-1 µs since 1970 is
 * refused (returns false, and the caller reports it through the BigInt version, which names the
 * value).
 *
 * Every intermediate stays an int32: a low word read as unsigned is a double past 2^31, and when
 * the first rows' words happened to fit V8 had compiled the loop for small integers and threw the
 * compiled code away at the first that did not ("lost precision"), mid-COPY.
 */
export function timestampHalvesFromPostgresBinary(hi: number, lo: number, out: Int32Array, at: number): boolean {
  if ((hi === 0x7fffffff && lo === -1) || (hi === SIGN && lo === 0)) {
    out[at] = lo;
    out[at + 1] = hi;
    return true;
  }
  const low = (lo + EPOCH_LO) | 0;
  // The low words' unsigned sum wrapped: carry one into the high word.
  const carry = (low ^ SIGN) < (lo ^ SIGN) ? 1 : 0;
  // Adding a positive offset can only overflow upwards; 2^63-1 itself is the +infinity sentinel.
  if (hi > 0x7fffffff - EPOCH_HI - carry) return false;
  const high = hi + EPOCH_HI + carry;
  if (high === 0x7fffffff && low === -1) return false;
  out[at] = low;
  out[at + 1] = high;
  return true;
}

/** Days from 1970-01-01 to a proleptic Gregorian civil date (Howard Hinnant's algorithm). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm). */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day: doy - Math.floor((153 * mp + 2) / 5) + 1 };
}

/**
 * A Postgres binary timestamp (µs since 2000-01-01) as Postgres prints it in an ISO, UTC session
 * (`294250-01-01 00:00:00+00`, `0044-03-15 12:00:00.5 BC`): how a value the binary path cannot
 * hold is named in its error, the same text the text path would show.
 */
export function postgresTimestampText(microsSince2000: bigint, zoned: boolean): string {
  if (microsSince2000 === TIMESTAMP_INFINITY_MICROS) return 'infinity';
  if (microsSince2000 === TIMESTAMP_NEGATIVE_INFINITY_MICROS) return '-infinity';
  const micros = microsSince2000 + POSTGRES_EPOCH_MICROS;
  const dayMicros = 86_400_000_000n;
  let days = micros / dayMicros;
  let rest = micros % dayMicros;
  if (rest < 0n) {
    rest += dayMicros;
    days -= 1n;
  }
  const { year, month, day } = civilFromDays(Number(days));
  const seconds = Number(rest / 1_000_000n);
  const fraction = Number(rest % 1_000_000n);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const shownYear = year > 0 ? year : 1 - year;
  let text = `${pad(shownYear, 4)}-${pad(month)}-${pad(day)} ${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
  if (fraction > 0) text += `.${pad(fraction, 6).replace(/0+$/, '')}`;
  if (zoned) text += '+00';
  return year > 0 ? text : `${text} BC`;
}

const DATE_RE = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/;

/** 'YYYY-MM-DD' (optionally ' BC') to days since the epoch; Postgres' infinities to their sentinels. */
export function parseDateDays(text: string): number {
  const m = DATE_RE.exec(text);
  if (!m) {
    const sentinel = infinity(text, DATE_INFINITY_DAYS, DATE_NEGATIVE_INFINITY_DAYS);
    if (sentinel === undefined) throw new ValueError(`cannot read date ${JSON.stringify(text)}`);
    return sentinel;
  }
  let year = Number(m[1]);
  if (m[4]) year = 1 - year; // 1 BC is astronomical year 0
  const days = daysFromCivil(year, Number(m[2]), Number(m[3]));
  if (days >= DATE_INFINITY_DAYS || days <= DATE_NEGATIVE_INFINITY_DAYS) {
    throw new ValueError(`date ${JSON.stringify(text)} is outside the range of Parquet DATE (32-bit days since 1970)`);
  }
  return days;
}

// 2026-11-25 08:46:59.123456+00, 2026-11-25 08:46:59.1234567 +05:30, 2026-11-25T08:46:59Z
const TS_RE = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ?(Z|[+-]\d{2}(?::?\d{2})?(?::?\d{2})?)?( BC)?$/;

const digit = (s: string, i: number): number => s.charCodeAt(i) - 48;
const two = (s: string, i: number): number => digit(s, i) * 10 + digit(s, i + 1);

/**
 * The common shape, `YYYY-MM-DD HH:MM:SS[.f{1,9}][+HH[:MM]]`, read by character codes: this runs
 * for every timestamp of every row, and a regular expression costs several times more.
 * Anything else (years past 9999, BC, seconds offsets, `T`/`Z` forms) takes the general path.
 */
function fastTimestampMicros(text: string): bigint | undefined {
  const n = text.length;
  if (n < 19 || text.charCodeAt(4) !== 45 || text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  if (text.endsWith(' BC')) return undefined;
  let i = 19;
  let fraction = 0;
  if (i < n && text.charCodeAt(i) === 46) {
    i++;
    let digits = 0;
    while (i < n) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (digits < 6) fraction = fraction * 10 + c;
      digits++;
      i++;
    }
    if (digits === 0) return undefined;
    for (let d = digits; d < 6; d++) fraction *= 10;
  }
  let offset = 0;
  if (i < n) {
    const sign = text.charCodeAt(i);
    if (sign !== 43 && sign !== 45) return undefined;
    const rest = n - i - 1;
    if (rest === 2) offset = two(text, i + 1) * 3600;
    else if (rest === 5 && text.charCodeAt(i + 3) === 58) offset = two(text, i + 1) * 3600 + two(text, i + 4) * 60;
    else return undefined;
    if (sign === 45) offset = -offset;
  }
  const year = two(text, 0) * 100 + two(text, 2);
  const seconds = daysFromCivil(year, two(text, 5), two(text, 8)) * 86_400 + two(text, 11) * 3600 + two(text, 14) * 60 + two(text, 17) - offset;
  return BigInt(seconds) * 1_000_000n + BigInt(fraction);
}

/**
 * A timestamp's text to microseconds since the epoch, UTC. Text without an offset is taken
 * as UTC; digits beyond microseconds (SQL Server's 100 ns) are truncated, because Parquet
 * readers such as Spark cannot read TIMESTAMP(NANOS). Postgres' infinities become their
 * sentinels; a finite value beyond what 64-bit microseconds hold is refused, never wrapped.
 */
export function parseTimestampMicros(text: string): bigint {
  // Four-digit years only: always in range.
  const fast = fastTimestampMicros(text);
  if (fast !== undefined) return fast;
  const m = TS_RE.exec(text);
  if (!m) {
    const sentinel = infinity(text, TIMESTAMP_INFINITY_MICROS, TIMESTAMP_NEGATIVE_INFINITY_MICROS);
    if (sentinel === undefined) throw new ValueError(`cannot read timestamp ${JSON.stringify(text)}`);
    return sentinel;
  }
  let year = Number(m[1]);
  if (m[9]) year = 1 - year;
  let seconds = daysFromCivil(year, Number(m[2]), Number(m[3])) * 86_400 + Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]);
  const offset = m[8];
  if (offset && offset !== 'Z') {
    const sign = offset[0] === '-' ? -1 : 1;
    const digits = offset.slice(1).replaceAll(':', '');
    seconds -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || '0') * 60 + Number(digits.slice(4, 6) || '0'));
  }
  const fraction = m[7] ? Number(m[7].slice(0, 6).padEnd(6, '0')) : 0;
  return finiteTimestamp(BigInt(seconds) * 1_000_000n + BigInt(fraction), text);
}

/**
 * A decimal's text to its unscaled integer at `scale` digits. Refuses values that would lose
 * digits or overflow the declared precision instead of rounding them silently.
 */
export function decimalToUnscaled(text: string, precision: number, scale: number): bigint {
  let s = text.trim();
  let negative = false;
  if (s.startsWith('-')) {
    negative = true;
    s = s.slice(1);
  } else if (s.startsWith('+')) {
    s = s.slice(1);
  }
  const dot = s.indexOf('.');
  const intPart = dot === -1 ? s : s.slice(0, dot);
  let frac = dot === -1 ? '' : s.slice(dot + 1);
  if (!/^\d*$/.test(intPart) || !/^\d*$/.test(frac) || intPart.length + frac.length === 0) {
    throw new ValueError(`cannot read decimal ${JSON.stringify(text)}`);
  }
  if (frac.length > scale) {
    const dropped = frac.slice(scale);
    if (/[1-9]/.test(dropped)) throw new ValueError(`decimal ${text} has more than ${scale} fractional digits`);
    frac = frac.slice(0, scale);
  }
  const digits = (intPart + frac.padEnd(scale, '0')).replace(/^0+(?=\d)/, '');
  if (digits.length > precision) throw new ValueError(`decimal ${text} does not fit DECIMAL(${precision},${scale})`);
  const unscaled = BigInt(digits || '0');
  return negative ? -unscaled : unscaled;
}

/** Canonical lower-case GUID text (SQL Server returns upper case). */
export function normaliseUuid(text: string): string {
  return text.toLowerCase();
}
