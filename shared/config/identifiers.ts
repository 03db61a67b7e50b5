/**
 * SQL identifiers from configuration never reach a query unchecked: they must match a
 * conservative pattern here, must exist in the source's catalogue (checked by the source),
 * and are always quoted for the dialect. Values are never interpolated: they are bound.
 */

/** Letters, digits, underscore; must not start with a digit. Covers real schema/table/column names. */
export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Names of bronze tables become folder names and Table Storage keys: keep them boring. */
export const TABLE_NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function isSqlIdentifier(name: string): boolean {
  return SQL_IDENTIFIER.test(name);
}

export function isTableName(name: string): boolean {
  return TABLE_NAME.test(name);
}

export const SQL_IDENTIFIER_RULE = 'letters, digits and underscores only, not starting with a digit, at most 128 characters';
export const TABLE_NAME_RULE = 'lower-case letters, digits and underscores, starting with a letter, at most 63 characters';

export class IdentifierError extends Error {
  constructor(readonly identifier: string, readonly reason: string) {
    super(`refused identifier ${JSON.stringify(identifier)}: ${reason}`);
    this.name = 'IdentifierError';
  }
}

function assertIdentifier(name: string): void {
  if (!isSqlIdentifier(name)) throw new IdentifierError(name, SQL_IDENTIFIER_RULE);
}

/** Postgres: double quotes, embedded quotes doubled (defence in depth: the pattern already forbids them). */
export function quotePostgres(name: string): string {
  assertIdentifier(name);
  return `"${name.replaceAll('"', '""')}"`;
}

/** SQL Server: brackets, embedded closing brackets doubled. */
export function quoteMssql(name: string): string {
  assertIdentifier(name);
  return `[${name.replaceAll(']', ']]')}]`;
}
