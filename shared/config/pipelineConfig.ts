import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { catalogErrorMap, formatPath } from './catalogIssues.js';
import { crossCheck } from './catalogRules.js';
import { catalogSchema, DEFAULT_SOURCE, type RawCatalog, type RawTable, type WatermarkKind } from './catalogSchema.js';

export { WATERMARK_KINDS, type WatermarkKind } from './catalogSchema.js';

/**
 * soundlake.yaml: the table catalog. Adding a table is an entry there, never code: extraction
 * reads the bronze part of each entry (source, watermark, keys, tuning); silver, its Databricks
 * job, the views and the local medallion read the whole entry (databricks/src/soundlake/
 * catalog.py, validated by the JSON Schema generated from catalogSchema.ts). Every problem in
 * the file is reported at once, with its path, before anything runs.
 */

/** One configured table with defaults applied. */
export interface TableConfig {
  name: string;
  /** The source the rows come from (a `sources:` name, or `default`). */
  source: string;
  schema: string;
  table: string;
  watermark: { column: string; kind: WatermarkKind };
  primaryKey: string[];
  columns?: string[];
  /** SQL Server: the zone of the table's zone-less timestamps (see TableRef.timeZone). */
  timeZone?: string;
  enabled: boolean;
  maxRowsPerFile: number;
  rowGroupRows: number;
  lagSeconds: number;
}

/** A database of the `sources:` block: the app setting holding its connection string, and its session cap. */
export interface SourceDefinition {
  name: string;
  kind: 'postgres' | 'mssql';
  setting: string;
  maxConnections: number;
}

export interface PipelineConfig {
  /** The `sources:` block; absent: one source, `default`, from SOURCE_KIND / SOURCE_URL. */
  sources?: SourceDefinition[];
  tables: TableConfig[];
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration in ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function applyDefaults(raw: RawTable, defaults: RawCatalog['defaults']): TableConfig {
  const { name: source, schema, table, columns, timeZone } = raw.source;
  return {
    name: raw.name,
    source: source ?? DEFAULT_SOURCE,
    schema,
    table,
    watermark: raw.watermark,
    primaryKey: raw.primaryKey,
    enabled: raw.enabled,
    ...(columns ? { columns } : {}),
    ...(timeZone ? { timeZone } : {}),
    maxRowsPerFile: raw.maxRowsPerFile ?? defaults.maxRowsPerFile,
    rowGroupRows: Math.min(raw.rowGroupRows ?? defaults.rowGroupRows, raw.maxRowsPerFile ?? defaults.maxRowsPerFile),
    lagSeconds: raw.lagSeconds ?? defaults.lagSeconds,
  };
}

/** Parse and validate config text; `file` names the source in error messages. */
export function parsePipelineConfig(text: string, file = 'soundlake.yaml'): PipelineConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`));
  }
  const raw: unknown = doc.toJS();
  const result = catalogSchema.safeParse(raw, { error: catalogErrorMap });
  const problems = [...(result.success ? [] : result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`)), ...crossCheck(raw)];
  if (!result.success || problems.length > 0) throw new ConfigError(file, problems);
  const cfg = result.data;
  return {
    ...(cfg.sources ? { sources: cfg.sources.map((s) => ({ name: s.name, kind: s.kind, setting: s.url.setting, maxConnections: s.maxConnections })) } : {}),
    tables: cfg.tables.map((t) => applyDefaults(t, cfg.defaults)),
  };
}

export async function loadPipelineConfig(file: string): Promise<PipelineConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read file: ${(err as Error).message}`]);
  }
  return parsePipelineConfig(text, file);
}

/** The tables a run should touch: all enabled ones, or exactly the named ones (unknown names are an error). */
export function selectTables(config: PipelineConfig, names?: readonly string[]): TableConfig[] {
  if (!names || names.length === 0) return config.tables.filter((t) => t.enabled);
  const byName = new Map(config.tables.map((t) => [t.name, t]));
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length > 0) {
    throw new ConfigError('table selection', unknown.map((n) => `unknown table "${n}" (configured: ${[...byName.keys()].join(', ')})`));
  }
  return names.map((n) => byName.get(n)!);
}
