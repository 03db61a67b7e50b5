import type { TableConfig } from '../config/pipelineConfig.js';
import type { Lake } from '../lake/lake.js';
import type { PendingSlice } from '../extract/slice.js';
import { sliceTotals } from '../extract/slice.js';
import { describeParquetType } from '../source/parquetTypes.js';
import type { SourceColumn, SourceKind } from '../source/source.js';
import { manifestPath } from './bronzePaths.js';

/** The per-slice manifest (docs/bronze-layout.md): traces every bronze file to its source slice. */
export interface SliceManifest {
  version: 1;
  table: string;
  source: { kind: SourceKind; schema: string; table: string };
  slice: string;
  kind: PendingSlice['kind'];
  backfillId: string | null;
  runId: string;
  loadDate: string;
  watermark: { column: string; kind: string; low: string | null; high: string };
  rows: number;
  bytes: number;
  files: { path: string; rows: number; bytes: number }[];
  columns: { name: string; sourceType: string; parquetType: string; nullable: boolean }[];
  primaryKey: string[];
  plannedAt: string;
  committedAt: string;
}

export function buildManifest(args: {
  table: TableConfig;
  sourceKind: SourceKind;
  columns: SourceColumn[];
  slice: PendingSlice;
  backfillId?: string | null;
  committedAt?: string;
}): SliceManifest {
  const { table, slice } = args;
  const totals = sliceTotals(slice);
  return {
    version: 1,
    table: table.name,
    source: { kind: args.sourceKind, schema: table.schema, table: table.table },
    slice: slice.slice,
    kind: slice.kind,
    backfillId: args.backfillId ?? null,
    runId: slice.runId,
    loadDate: slice.loadDate,
    watermark: { column: table.watermark.column, kind: table.watermark.kind, low: slice.low, high: slice.high },
    rows: totals.rows,
    bytes: totals.bytes,
    files: slice.parts.map((p) => ({ ...p })),
    columns: args.columns.map((c) => ({ name: c.name, sourceType: c.sourceType, parquetType: describeParquetType(c.parquet), nullable: c.nullable })),
    primaryKey: table.primaryKey,
    plannedAt: slice.plannedAt,
    committedAt: args.committedAt ?? new Date().toISOString(),
  };
}

export async function writeManifest(lake: Lake, manifest: SliceManifest): Promise<string> {
  const path = manifestPath(manifest.table, manifest.slice);
  await lake.put(path, JSON.stringify(manifest, null, 2), 'application/json');
  return path;
}

export async function readManifest(lake: Lake, table: string, slice: string): Promise<SliceManifest | null> {
  const body = await lake.get(manifestPath(table, slice));
  return body ? (JSON.parse(body.toString('utf8')) as SliceManifest) : null;
}
