import { RequestError } from './requestError.js';

/** A whole-number query parameter within bounds, or the default when absent; a RequestError naming it otherwise. */
export function queryInt(query: URLSearchParams, name: string, bounds: { min: number; max: number; default: number }): number {
  const text = query.get(name);
  if (text === null || text === '') return bounds.default;
  if (!/^\d+$/.test(text)) throw new RequestError(name, `must be a whole number from ${bounds.min} to ${bounds.max}, not ${JSON.stringify(text.slice(0, 50))}`);
  const n = Number(text);
  if (n < bounds.min || n > bounds.max) throw new RequestError(name, `must be from ${bounds.min} to ${bounds.max}, not ${n}`);
  return n;
}

/** An optional query parameter that must be one of `allowed`. */
export function queryChoice(query: URLSearchParams, name: string, allowed: readonly string[]): string | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  if (!allowed.includes(text)) throw new RequestError(name, `must be one of ${allowed.join(', ')}, not ${JSON.stringify(text.slice(0, 100))}`);
  return text;
}
