/**
 * The one ISO-8601 duration grammar of soundlake, for settings (BACKFILL_DEFAULT_CHUNK) and
 * requests (`chunk`) alike: days, hours and minutes, in that order, each at most once, e.g.
 * `P1D`, `PT6H`, `P1DT12H`, `PT30M`. A duration is a chunk or a window, so it must be longer
 * than zero: `P`, `PT`, `P0D` and `PT0M` are refused, as are years, months and weeks (their
 * length depends on the calendar), seconds and fractions (a chunk of less than a minute is a
 * mistake, not a plan).
 */
export type DurationParse = { ok: true; ms: number } | { ok: false; problem: string };

const DURATION = /^P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?)?$/;

export const DURATION_RULE = 'must be an ISO-8601 duration of days, hours and minutes longer than zero, such as P1D, PT6H or P1DT12H';

export function parseIsoDuration(text: string): DurationParse {
  const m = DURATION.exec(text);
  if (!m || text === 'P') return { ok: false, problem: `${DURATION_RULE}, got ${JSON.stringify(text)}` };
  const ms = ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000;
  if (ms === 0) return { ok: false, problem: `${DURATION_RULE}; ${JSON.stringify(text)} is zero` };
  if (!Number.isSafeInteger(ms)) return { ok: false, problem: `${DURATION_RULE}; ${JSON.stringify(text)} is too long` };
  return { ok: true, ms };
}
