import type { TableConfig } from '../../shared/config/pipelineConfig.js';
import type { IngestRun, TableRunResult } from '../../shared/extract/ingestTable.js';
import { ingestTable } from '../../shared/extract/ingestTable.js';
import { newRunId } from '../../shared/run/runId.js';
import type { Harness } from './harness.js';

/** One incremental pass over one table with a fresh run id, through the real core. */
export function ingest(h: Harness, table: TableConfig, run: Partial<IngestRun> = {}): Promise<TableRunResult> {
  return ingestTable(h.app.ingestDeps(), table, { runId: newRunId(), trigger: 'test', ...run });
}

/** Rows of a bronze table keyed by id, failing the test if any id appears twice. */
export function countById(rows: Record<string, unknown>[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of rows) counts.set(Number(r.id), (counts.get(Number(r.id)) ?? 0) + 1);
  return counts;
}

export class InjectedCrash extends Error {
  constructor(point: string) {
    super(`injected crash at ${point}`);
    this.name = 'InjectedCrash';
  }
}
