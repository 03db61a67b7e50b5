import { SourceError } from '../source.js';

/**
 * A value as a typed Postgres literal, `E'...'::type`, for the one statement that takes no bind
 * parameters: `COPY (SELECT ...) TO STDOUT`. Slice bounds and keyset positions reach SQL only
 * through this function, never by concatenation.
 *
 * - The value is always text (the source's own text form of a bound or a key) and is cast to
 *   the column's type, so it is compared in that type, as a bound parameter would be.
 * - An escape string (`E'...'`) means the same whatever `standard_conforming_strings` says:
 *   inside it only a backslash and a single quote are special, and both are doubled.
 * - Postgres text cannot hold NUL, so a value with one is refused rather than cut short.
 * - `type` must be a type name as `format_type(oid, NULL)` spells it (from the catalogue, never
 *   from input); it is checked against that spelling so that nothing else can be appended.
 */
export function typedLiteral(value: string, type: string): string {
  if (value.includes('\0')) throw new SourceError(`postgres source: a value for a ${type} literal contains a NUL character`);
  if (!TYPE_NAME.test(type)) throw new SourceError(`postgres source: ${JSON.stringify(type)} is not a type name`);
  return `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'::${type}`;
}

/**
 * What format_type(oid, NULL) prints: words of letters, digits, `_` and `$` separated by single
 * spaces (`timestamp with time zone`), double-quoted identifiers with `""` inside (`"My Type"`),
 * dots between schema and name, and `[]` for arrays. No quote, semicolon, parenthesis, comment
 * or backslash can pass.
 */
const WORD = String.raw`(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"\0]|"")+")`;
const TYPE_NAME = new RegExp(String.raw`^${WORD}(?:\.${WORD})?(?: ${WORD})*(?:\[\])*$`);
