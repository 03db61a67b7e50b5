import pLimit from 'p-limit';
import type { TableConfig } from '../config/pipelineConfig.js';
import type { IngestDeps, IngestRun, TableRunResult } from '../extract/ingestTable.js';
import { ingestTable } from '../extract/ingestTable.js';
import { runRange } from '../extract/rangeLoad.js';
import { summaryNotice } from './runSummary.js';

export interface RunSummary {
  runId: string;
  results: TableRunResult[];
  ok: boolean;
}

/**
 * One pass over several tables in this process (the CLI and local runner), `concurrency`
 * tables at a time. Under the Functions host the same per-table core runs from queue messages.
 */
export async function runIngestion(deps: IngestDeps, tables: TableConfig[], run: IngestRun & { concurrency: number }): Promise<RunSummary> {
  const limit = pLimit(run.concurrency);
  const { concurrency: _c, ...perTable } = run;
  // ingestTable never rejects (the slice runner turns every failure into a result), so one
  // table's trouble never costs the others their results.
  const tableResults = await Promise.all(tables.map((t) => limit(() => ingestTable(deps, t, perTable))));
  // A table whose initial load runs in key ranges: its ranges, `concurrency` at a time; the last one moves its watermark.
  const rangeResults = await Promise.all(tables.flatMap((t, i) => (tableResults[i]!.ranges ?? []).map((r) => limit(() => runRange(deps, t, r, perTable)))));
  const results = [...tableResults, ...rangeResults];
  await deps.notifier.notify(summaryNotice(run.runId, run.trigger, results));
  return { runId: run.runId, results, ok: results.every((r) => r.status !== 'failed') };
}
