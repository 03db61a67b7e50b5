import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { catalogErrorMap, formatPath } from './catalogIssues.js';
import { crossCheck } from './catalogRules.js';
import { catalogSchema, DEFAULT_SOURCE, type CatalogSourceKind, type FileFormat, type RawCatalog, type RawTable, type WatermarkKind } from './catalogSchema.js';
import { SNAPSHOT_SEQUENCE } from './sourceRules.js';

export { WATERMARK_KINDS, type WatermarkKind } from './catalogSchema.js';

/**
 * soundlake.yaml: the table catalog. Adding a table is an entry there, never code: extraction
 * reads the bronze part of each entry (source, watermark, keys, tuning); silver, its Databricks
 * job, the views and the local medallion read the whole entry (databricks/src/soundlake/
 * catalog.py, validated by the JSON Schema generated from catalogSchema.ts). Every problem in
 * the file is reported at once, with its path, before anything runs.
 */

/** A value the catalog gives literally or names the app setting of. */
export type SettingOr<T> = T | { setting: string };

/** A named source of the catalog's `sources:` block (the deployment's SQL source is `default`). */
export interface SourceConfig {
  name: string;
  kind: CatalogSourceKind;
  url?: { setting: string };
  maxConnections?: number;
  baseUrl?: SettingOr<string>;
  auth?: RestAuthConfig;
}

/** How a rest source authenticates; secrets are always setting names. */
export interface RestAuthConfig {
  type: 'client_credentials' | 'bearer' | 'none';
  tokenUrl?: SettingOr<string>;
  clientId?: { setting: string };
  clientSecret?: { setting: string };
  token?: { setting: string };
}

/** What a table of a rest source pulls (catalog `source:` of a rest source). */
export interface RestTableSpec {
  endpoint: string;
  params: Record<string, string | number | boolean>;
  /** Dotted path to the records in a response; '' = the response is the list. */
  records: string;
  paginate: { type: 'next_url' | 'offset' | 'cursor' | 'none'; next?: string; param?: string; limit?: number; limitParam?: string; maxPages: number };
  fields: { name: string; type: string; path?: string }[];
}

/** What a table that reads files over HTTP reads (catalog `source:` of an http source). */
export interface FileTableSpec {
  /** As configured: absolute, or relative to the source's baseUrl (resolved by the source). */
  urls: string[];
  format: FileFormat;
  csv: { header: boolean; delimiter: string; quote: string; escape: string; encoding: string };
  /** Declared fields; without them, inferred at first sight and then held. */
  fields?: { name: string; type: string }[];
}

/** One configured table with defaults applied. */
export interface TableConfig {
  name: string;
  /** The source the rows come from: a `sources:` name, or `default` (the deployment's SQL source). */
  source: string;
  /** SQL: the source schema; http: the source's name (for messages). */
  schema: string;
  /** SQL: the source table; http: the table's name. */
  table: string;
  /** The source as the catalog names it (absent: the table names none and reads `default`). */
  sourceName?: string;
  /** Set for tables that read files over HTTP. */
  file?: FileTableSpec;
  /** Set for tables that pull a REST endpoint. */
  rest?: RestTableSpec;
  /** The silver table Databricks builds from it (catalog `silver.name`, default: the bronze name). */
  silverName: string;
  /** SQL: as configured. Snapshot tables (http): `_loaded_at`, the planning time stamped on every row. */
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

export interface PipelineConfig {
  tables: TableConfig[];
  /** The catalog's `sources:` (empty when it has none). */
  sources?: SourceConfig[];
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

function applyDefaults(raw: RawTable, defaults: RawCatalog['defaults'], sources: SourceConfig[]): TableConfig {
  const { schema, table, columns, timeZone } = raw.source;
  const sourceName = raw.source.name ?? DEFAULT_SOURCE;
  const kind = sources.find((s) => s.name === sourceName)?.kind;
  // The cross-field rules have made sure each kind has its fields.
  const file: FileTableSpec | undefined =
    kind === 'http'
      ? {
          urls: raw.source.urls!,
          format: raw.source.format!,
          csv: { header: true, delimiter: ',', quote: '"', escape: '"', encoding: 'utf-8', ...raw.source.csv },
          ...(raw.source.fields ? { fields: raw.source.fields } : {}),
        }
      : undefined;
  const rest: RestTableSpec | undefined =
    kind === 'rest'
      ? {
          endpoint: raw.source.endpoint!,
          params: raw.source.params ?? {},
          records: raw.source.records ?? '',
          paginate: { type: 'none', ...raw.source.paginate, maxPages: raw.source.paginate?.maxPages ?? 100 },
          fields: raw.source.fields!,
        }
      : undefined;
  const snapshot = file !== undefined || rest !== undefined;
  return {
    name: raw.name,
    source: sourceName,
    schema: snapshot ? sourceName : schema!,
    table: snapshot ? raw.name : table!,
    ...(raw.source.name ? { sourceName } : {}),
    ...(file ? { file } : {}),
    ...(rest ? { rest } : {}),
    silverName: raw.silver?.name ?? raw.name,
    watermark: raw.watermark ?? { column: SNAPSHOT_SEQUENCE, kind: 'timestamp' },
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
  const sources: SourceConfig[] = cfg.sources ?? [];
  return { tables: cfg.tables.map((t) => applyDefaults(t, cfg.defaults, sources)), sources };
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
