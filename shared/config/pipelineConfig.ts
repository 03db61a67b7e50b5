import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { isSqlIdentifier, isTableName, SQL_IDENTIFIER_RULE, TABLE_NAME_RULE } from './identifiers.js';

/**
 * soundlake.yaml: the list of tables to extract. Adding a table is a change here, never in code.
 * Every problem in the file is reported at once, with its path, before anything runs.
 */

const sqlIdentifier = z.string().refine(isSqlIdentifier, { message: `must be a SQL identifier: ${SQL_IDENTIFIER_RULE}` });

export const WATERMARK_KINDS = ['timestamp', 'rowversion', 'integer'] as const;
export type WatermarkKind = (typeof WATERMARK_KINDS)[number];

const tuning = {
  /** Rows per Parquet file; a slice larger than this is split into parts, each committed on its own. */
  maxRowsPerFile: z.number().int().min(1).max(50_000_000).optional(),
  /** Rows per Parquet row group, fewer when they reach 4 MiB before compression (memory per open file is about two row groups). */
  rowGroupRows: z.number().int().min(1).max(10_000_000).optional(),
  /** Upper bound for timestamp watermarks is now - lag: rows from transactions that commit late are not skipped. */
  lagSeconds: z.number().min(0).max(86_400).optional(),
};

const tableSchema = z
  .object({
    name: z.string().refine(isTableName, { message: `must be a bronze table name: ${TABLE_NAME_RULE}` }),
    schema: sqlIdentifier,
    table: sqlIdentifier,
    watermark: z
      .object({
        column: sqlIdentifier,
        kind: z.enum(WATERMARK_KINDS),
      })
      .strict(),
    primaryKey: z.array(sqlIdentifier).min(1, 'needs at least one column'),
    columns: z.array(sqlIdentifier).min(1).optional(),
    /** SQL Server: the zone the table's datetime/datetime2/smalldatetime values are written in (a sys.time_zone_info name). */
    timeZone: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9 .+()\/_-]{0,63}$/, 'must be a time zone name as SQL Server spells it, e.g. "W. Europe Standard Time" or "UTC"')
      .optional(),
    enabled: z.boolean().default(true),
    ...tuning,
  })
  .strict();

const configSchema = z
  .object({
    version: z.literal(1),
    defaults: z
      .object({
        maxRowsPerFile: tuning.maxRowsPerFile.default(1_000_000),
        rowGroupRows: tuning.rowGroupRows.default(65_536),
        lagSeconds: tuning.lagSeconds.default(30),
      })
      .strict()
      .prefault({}),
    tables: z.array(tableSchema).min(1, 'list at least one table'),
  })
  .strict();

/**
 * Checks across fields, run on the raw document even when the schema already failed, so a
 * file is reported whole rather than one layer of mistakes at a time.
 */
function crossCheck(raw: unknown): string[] {
  const tables = (raw as { tables?: unknown } | null)?.tables;
  if (!Array.isArray(tables)) return [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  tables.forEach((t: unknown, i) => {
    if (!t || typeof t !== 'object') return;
    const { name, columns, watermark, primaryKey } = t as Record<string, unknown>;
    if (typeof name === 'string') {
      const first = seen.get(name);
      if (first !== undefined) problems.push(`tables[${i}].name: duplicate table name "${name}" (first at tables[${first}])`);
      else seen.set(name, i);
    }
    if (Array.isArray(columns)) {
      const wm = (watermark as { column?: unknown } | undefined)?.column;
      const needed = [typeof wm === 'string' ? wm : undefined, ...(Array.isArray(primaryKey) ? primaryKey : [])];
      for (const n of needed) {
        if (typeof n === 'string' && !columns.includes(n)) {
          problems.push(`tables[${i}].columns: must include "${n}" (watermark and primary key columns are always extracted)`);
        }
      }
    }
  });
  return problems;
}

type RawConfig = z.output<typeof configSchema>;
type RawTable = RawConfig['tables'][number];

/** One configured table with defaults applied. */
export interface TableConfig {
  name: string;
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

export interface PipelineConfig {
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

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(root)';
}

function applyDefaults(raw: RawTable, defaults: RawConfig['defaults']): TableConfig {
  const { columns, timeZone, ...rest } = raw;
  return {
    ...rest,
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
  const result = configSchema.safeParse(raw);
  const problems = [...(result.success ? [] : result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`)), ...crossCheck(raw)];
  if (!result.success || problems.length > 0) throw new ConfigError(file, problems);
  const cfg = result.data;
  return { tables: cfg.tables.map((t) => applyDefaults(t, cfg.defaults)) };
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
