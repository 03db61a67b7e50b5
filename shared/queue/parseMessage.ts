import type { z } from 'zod';

/**
 * A queue payload as the Functions host hands it over (decoded JSON, or text) checked against
 * its schema; the error names every field that is wrong.
 */
export function parseMessage<S extends z.ZodType>(schema: S, payload: unknown, what: string): z.output<S> {
  let value = payload;
  if (typeof payload === 'string') {
    try {
      value = JSON.parse(payload);
    } catch {
      throw new Error(`${what} is not JSON`);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`${what} invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
