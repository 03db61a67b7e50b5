import type { TableConfig } from '../../shared/config/pipelineConfig.js';
import type { IngestRun, TableRunResult } from '../../shared/extract/ingestTable.js';
import { ingestTable } from '../../shared/extract/ingestTable.js';
import { newRunId } from '../../shared/run/runId.js';
import { expect } from 'vitest';
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

/**
 * Every source row of a table in bronze exactly once; every data file in exactly one manifest,
 * the manifests' totals those of the files; the watermark committed at the last manifest's high.
 */
export async function expectExactlyOnce(h: Harness, name: string, expectedRows: number): Promise<void> {
  const rows = await h.bronzeRows(name);
  const counts = countById(rows);
  expect(counts.size).toBe(expectedRows);
  expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  const manifests = await h.manifests(name);
  const listed = manifests.flatMap((m) => m.files.map((f) => f.path)).sort();
  expect(listed).toEqual((await h.bronzeFiles(name)).map((f) => f.path));
  expect(manifests.reduce((n, m) => n + m.rows, 0)).toBe(rows.length);
  const state = await h.app.watermarks.get(name);
  expect(state).toMatchObject({ pending: null, lease: null });
  expect(state!.value).toBe(manifests.at(-1)!.watermark.high);
}
