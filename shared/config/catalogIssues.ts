import type { z } from 'zod';

/**
 * How a catalog problem is worded, in TypeScript and Python alike (databricks/src/soundlake/
 * catalog.py words the JSON Schema's errors the same way): `<path>: <problem>`, the path as
 * `tables[2].silver.columns[0].type`, the problem in a small vocabulary keyed by what failed,
 * not by either library's default text. tests/fixtures/catalog/bad-catalogs.yaml holds the
 * expected problems both sides must report.
 */

export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(root)';
}

const TYPE_WORDS: Record<string, string> = {
  string: 'must be a string',
  number: 'must be a number',
  int: 'must be a whole number',
  boolean: 'must be true or false',
  array: 'must be a list',
  object: 'must be a mapping',
};

function oneOf(values: readonly unknown[]): string {
  return values.length === 1 ? `must be ${JSON.stringify(values[0])}` : `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
}

function unknownFields(keys: readonly string[]): string {
  return `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
}

/** Per-parse error map: checks that carry their own message (regex, min with a text) keep it. */
export const catalogErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      return iss.input === undefined ? 'is missing' : (TYPE_WORDS[iss.expected] ?? `must be ${iss.expected}`);
    case 'invalid_value':
      return iss.input === undefined ? 'is missing' : oneOf(iss.values);
    case 'unrecognized_keys':
      return unknownFields(iss.keys);
    case 'too_small':
      return iss.origin === 'array' ? `must have at least ${String(iss.minimum)} item(s)` : `must be at least ${String(iss.minimum)}`;
    case 'too_big':
      return iss.origin === 'array' ? `must have at most ${String(iss.maximum)} item(s)` : `must be at most ${String(iss.maximum)}`;
    case 'invalid_union': {
      // discriminated unions (transforms by `fn`): zod points at the discriminator
      const u = iss as unknown as { discriminator?: string; options?: unknown[] };
      if (u.discriminator && u.options) {
        const value = (iss.input as Record<string, unknown> | undefined)?.[u.discriminator];
        return value === undefined ? 'is missing' : oneOf(u.options);
      }
      return 'matches none of the allowed forms';
    }
    default:
      return undefined;
  }
};
