import { describe, expect, it } from 'vitest';
import { planBackfill } from '../../shared/backfill/backfillRequest.js';
import type { PipelineConfig } from '../../shared/config/pipelineConfig.js';
import { loadSettings, SettingsError } from '../../shared/config/settings.js';
import { RequestError } from '../../shared/http/requestError.js';
import { parseIsoDuration } from '../../shared/time/isoDuration.js';
import { parseIsoInstant } from '../../shared/time/isoInstant.js';

/**
 * The date-time and duration grammars: what is valid, and that settings and requests agree on
 * durations (one grammar, one parser).
 */
const config: PipelineConfig = {
  tables: [{ name: 'plays', schema: 'public', table: 'plays', watermark: { column: 'updated_at', kind: 'timestamp' }, primaryKey: ['id'], enabled: true, maxRowsPerFile: 1000, rowGroupRows: 1000, lagSeconds: 0 }],
};
const limits = { maxWindowDays: 36_500, defaultChunk: 'P1D', maxChunks: 10_000_000 };

/** The chunk as a request gives it: ms, or the RequestError's field and problem. */
function requestChunk(chunk: string): number | string {
  try {
    return planBackfill({ table: 'plays', from: '2026-01-01', to: '2026-12-31', chunk }, config, limits).chunkMs;
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    expect(err.field).toBe('chunk');
    return err.problem;
  }
}

/** The same text as the default chunk setting: ms, or the problem named for BACKFILL_DEFAULT_CHUNK. */
function settingChunk(chunk: string): number | string {
  try {
    const { defaultChunk } = loadSettings({ BACKFILL_DEFAULT_CHUNK: chunk }).backfill;
    return planBackfill({ table: 'plays', from: '2026-01-01', to: '2026-12-31' }, config, { ...limits, defaultChunk }).chunkMs;
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^BACKFILL_DEFAULT_CHUNK: /);
    return err.problems[0]!.replace('BACKFILL_DEFAULT_CHUNK: ', '');
  }
}

describe('durations: one grammar for settings and requests', () => {
  const valid: [string, number][] = [
    ['P1D', 86_400_000],
    ['PT6H', 21_600_000],
    ['PT30M', 1_800_000],
    ['P1DT12H', 129_600_000],
    ['P2DT3H4M', ((2 * 24 + 3) * 60 + 4) * 60_000],
    ['PT90M', 5_400_000],
  ];
  const invalid = ['P', 'PT', 'P0D', 'PT0H', 'PT0M', 'P0DT0H0M', 'P1DT', 'PT6', 'P1W', 'P1M', 'P1Y', 'PT30S', 'P1.5D', 'p1d', ' P1D', 'P1D ', '1D', '', 'PT6H1D', 'P-1D'];

  for (const [text, ms] of valid) {
    it(`${text} is ${ms} ms in a request and in the setting`, () => {
      expect(parseIsoDuration(text)).toEqual({ ok: true, ms });
      expect(requestChunk(text)).toBe(ms);
      expect(settingChunk(text)).toBe(ms);
    });
  }
  for (const text of invalid) {
    it(`${JSON.stringify(text)} is refused by both, with the same words`, () => {
      const parsed = parseIsoDuration(text);
      expect(parsed.ok).toBe(false);
      const problem = (parsed as { problem: string }).problem;
      expect(problem).toMatch(/ISO-8601 duration of days, hours and minutes longer than zero/);
      expect(requestChunk(text)).toBe(problem);
      expect(settingChunk(text)).toBe(problem);
    });
  }
});

describe('date-times: checked against the calendar', () => {
  const valid: [string, string][] = [
    ['2026-03-01', '2026-03-01T00:00:00.000Z'],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
    ['2000-02-29T12:00', '2000-02-29T12:00:00.000Z'],
    ['2026-12-31T23:59:59.999Z', '2026-12-31T23:59:59.999Z'],
    ['2026-03-01T06:00:00+02:00', '2026-03-01T04:00:00.000Z'],
    ['2026-03-01T00:30:00-05:30', '2026-03-01T06:00:00.000Z'],
    ['2026-03-01T06:00:00.250000000Z', '2026-03-01T06:00:00.250Z'],
    ['0050-06-15', '0050-06-15T00:00:00.000Z'],
  ];
  for (const [text, iso] of valid) {
    it(`${text} is ${iso}`, () => {
      const parsed = parseIsoInstant(text);
      expect(parsed.ok && parsed.date.toISOString()).toBe(iso);
    });
  }
  const invalid: [string, RegExp][] = [
    ['2026-02-30', /February 2026 has 28 days, not 30/],
    ['2026-02-29', /February 2026 has 28 days, not 29/],
    ['1900-02-29', /February 1900 has 28 days/],
    ['2026-06-31T00:00Z', /June 2026 has 30 days, not 31/],
    ['2026-00-10', /month 00 does not exist/],
    ['2026-03-00', /March 2026 has 31 days, not 00/],
    ['2026-03-01T24:00', /hour 24/],
    ['2026-03-01T12:61', /minute 61/],
    ['2026-03-01T12:00:60Z', /second 60/],
    ['2026-03-01T12:00:00+15:00', /offset \+15:00/],
    ['2026-03-01T12:00:00+02:60', /offset \+02:60/],
    ['2026-03-01Z', /an offset needs a time/],
    ['2026-03-01T12:00:00.1234Z', /at most milliseconds/],
    ['2026-3-1', /must be an ISO-8601 date or date-time/],
    ['yesterday', /must be an ISO-8601 date or date-time/],
    ['2026-03-01 12:00', /must be an ISO-8601 date or date-time/],
  ];
  for (const [text, problem] of invalid) {
    it(`${text} is refused: ${problem.source}`, () => {
      const parsed = parseIsoInstant(text);
      expect(parsed.ok).toBe(false);
      expect((parsed as { problem: string }).problem).toMatch(problem);
    });
  }
});
