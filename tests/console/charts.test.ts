import { describe, expect, it } from 'vitest';
import { niceStep, timeTicks, valueTicks } from '../../console/src/charts.js';

/** The axes of the console's SVG charts: round steps, and every point under the top line. */
describe('chart axes', () => {
  it('cuts a value axis into round steps that reach at or above the largest value', () => {
    expect(valueTicks(60)).toEqual([0, 20, 40, 60]);
    expect(valueTicks(61)).toEqual([0, 20, 40, 60, 80]);
    expect(valueTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(valueTicks(0)).toEqual([0, 1]);
    for (const max of [1, 3, 9.5, 11, 99, 101, 12_345, 0.3]) {
      const t = valueTicks(max);
      expect(t[0]).toBe(0);
      expect(t.at(-1)!, String(max)).toBeGreaterThanOrEqual(max);
      expect(t.length, String(max)).toBeLessThanOrEqual(7);
    }
  });

  it('uses duration steps (ms, s, min, h, d) for durations', () => {
    const steps = [1, 5, 10, 50, 100, 250, 500, 1_000, 5_000, 15_000, 30_000, 60_000];
    expect(valueTicks(2_500, 4, steps)).toEqual([0, 1_000, 2_000, 3_000]);
    expect(valueTicks(330, 4, steps)).toEqual([0, 100, 200, 300, 400]);
    expect(niceStep(10 * 60_000, 4, steps)).toBe(180_000); // past the largest step: a multiple of it
  });

  it('puts time ticks on whole seconds, minutes, hours or days', () => {
    const t0 = Date.parse('2026-03-01T06:59:40Z');
    const { values, step } = timeTicks(t0, t0 + 12_000);
    expect(step).toBe(5_000);
    expect(values.map((v) => new Date(v).toISOString().slice(11, 19))).toEqual(['06:59:40', '06:59:45', '06:59:50']);
    const days = timeTicks(Date.parse('2026-02-01T00:00:00Z'), Date.parse('2026-02-03T00:00:00Z'));
    expect(days.step).toBe(12 * 3_600_000);
    expect(days.values.map((v) => new Date(v).toISOString().slice(5, 13))).toEqual(['02-01T00', '02-01T12', '02-02T00', '02-02T12', '02-03T00']);
  });
});
