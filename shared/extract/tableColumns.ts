import type { TableConfig } from '../config/pipelineConfig.js';
import type { SourceColumn, SourceKind } from '../source/source.js';
import { checkWatermarkColumn } from '../source/source.js';

/** A configured table that does not match the source's catalogue. */
export class TableSetupError extends Error {
  constructor(
    readonly table: string,
    readonly problems: string[],
  ) {
    super(`table ${table} does not match the source: ${problems.join('; ')}`);
    this.name = 'TableSetupError';
  }
}

/**
 * The columns to extract, checked against the catalogue: configured names must exist (exact
 * case), the watermark column must suit its kind, the primary key must exist.
 */
export function resolveColumns(sourceKind: SourceKind, table: TableConfig, described: SourceColumn[]): SourceColumn[] {
  const byName = new Map(described.map((c) => [c.name, c]));
  const problems: string[] = [];
  const known = described.map((c) => c.name).join(', ');
  const missing = (field: string, name: string): void => {
    problems.push(`${field}: column "${name}" not found in ${table.schema}.${table.table} (columns: ${known})`);
  };
  for (const name of table.columns ?? []) if (!byName.has(name)) missing('columns', name);
  for (const name of table.primaryKey) if (!byName.has(name)) missing('primaryKey', name);
  const wm = byName.get(table.watermark.column);
  if (!wm) missing('watermark.column', table.watermark.column);
  else {
    const problem = checkWatermarkColumn(sourceKind, wm, table.watermark);
    if (problem) problems.push(`watermark: ${problem}`);
  }
  if (table.timeZone !== undefined && sourceKind !== 'mssql') problems.push(`timeZone: applies to SQL Server sources only; the ${sourceKind} source reads timestamps as UTC`);
  if (problems.length > 0) throw new TableSetupError(table.name, problems);
  return table.columns ? table.columns.map((n) => byName.get(n)!) : described;
}
