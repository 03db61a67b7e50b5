import type { z } from 'zod';

/**
 * The text each app setting of an environment schema stands for when it is not set: its
 * default (settings without one are left out). For places that read a setting by name, as the
 * Functions host does for `%SETTING%` binding expressions, and must agree with the app's own
 * settings when the variable is absent.
 */
export function settingDefaults(schema: z.ZodObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    const parsed = (field as z.ZodType).safeParse(undefined);
    if (parsed.success && parsed.data !== undefined) out[name] = Array.isArray(parsed.data) ? parsed.data.join(',') : String(parsed.data);
  }
  return out;
}
