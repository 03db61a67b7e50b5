/**
 * ISO-8601 dates and date-times as requests give them: `2026-03-01`, `2026-03-01T06:00`,
 * `2026-03-01T06:00:00.250+02:00`. A value without an offset is UTC, like every timestamp in the
 * lake. Every field is checked against the calendar before it becomes a Date: JavaScript would
 * quietly turn `2026-02-30` into March 2 and `T24:30` into the next day.
 */
export type InstantParse = { ok: true; date: Date } | { ok: false; problem: string };

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|([+-])(\d{2}):(\d{2}))?$/;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function parseIsoInstant(text: string): InstantParse {
  const m = INSTANT.exec(text);
  if (!m) return { ok: false, problem: `must be an ISO-8601 date or date-time such as 2026-03-01 or 2026-03-01T06:00:00Z, got ${JSON.stringify(text)}` };
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const bad = (why: string): InstantParse => ({ ok: false, problem: `${JSON.stringify(text)} is not a valid date-time: ${why}` });
  if (zone !== undefined && m[4] === undefined) return bad('an offset needs a time (2026-03-01T00:00Z)');
  if (month < 1 || month > 12) return bad(`month ${mo} does not exist`);
  if (day < 1 || day > daysInMonth(year, month)) return bad(`${MONTHS[month - 1]} ${year} has ${daysInMonth(year, month)} days, not ${d}`);
  if (Number(h) > 23) return bad(`hour ${h} is past 23`);
  if (Number(mi) > 59) return bad(`minute ${mi} is past 59`);
  if (Number(s) > 59) return bad(`second ${s} is past 59`);
  // Dates hold milliseconds: finer digits would be dropped without a word.
  if (/[1-9]/.test(fraction.slice(3))) return bad(`${fraction.length} fractional digits; at most milliseconds (3 digits) are kept`);
  if (oh !== undefined && (Number(oh) > 14 || Number(om) > 59)) return bad(`offset ${sign}${oh}:${om} does not exist`);
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const offsetMinutes = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  // setUTCFullYear, unlike Date.UTC, takes years 0-99 as they are.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(Number(h), Number(mi), Number(s), ms);
  date.setTime(date.getTime() - offsetMinutes * 60_000);
  if (Number.isNaN(date.getTime())) return bad('out of range');
  return { ok: true, date };
}
