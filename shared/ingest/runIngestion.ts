import pLimit from 'p-limit';
import type { TableConfig } from '../config/pipelineConfig.js';
import type { IngestDeps, IngestRun, TableRunResult } from '../extract/ingestTable.js';
import { ingestTable } from '../extract/ingestTable.js';
import { runRange } from '../extract/rangeLoad.js';
import { newLeaseOwner } from '../run/leaseOwner.js';
import { summaryNotice } from './runSummary.js';

export interface RunSummary {
  runId: string;
  results: TableRunResult[];
  /** No table failed, and none landed with files left behind (a failed file of a multi-file table). */
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
  const tableResults = await Promise.all(tables.map((t) => limit(() => ingestHeld(deps, t, perTable))));
  // A table whose initial load runs in key ranges: its ranges, `concurrency` at a time, each under
  // a connection slot of its own (one that finds none is skipped: the table's next run hands it
  // out again); the last one moves its watermark.
  const rangeResults = await Promise.all(tables.flatMap((t, i) => (tableResults[i]!.ranges ?? []).map((r) => limit(() => runRange(deps, t, r, perTable)))));
  const results = [...tableResults, ...rangeResults];
  await deps.notifier.notify(summaryNotice(run.runId, run.trigger, results));
  return { runId: run.runId, results, ok: results.every((r) => r.status !== 'failed' && r.error === undefined) };
}

/**
 * One table under a connection slot of its source. In-process runs have no queue to defer to:
 * they wait for a slot as long as a table lease lasts, then report the table failed.
 */
async function ingestHeld(deps: IngestDeps, table: TableConfig, run: IngestRun): Promise<TableRunResult> {
  // http and rest sources hold no database session: no slot to wait for.
  if (!deps.sources?.slotted(table.source)) return ingestTable(deps, table, run);
  const owner = run.owner ?? newLeaseOwner('ingest');
  const started = Date.now();
  let held;
  try {
    held = await deps.sources.openWaiting(table.source, owner, `ingest ${table.name}, run ${run.runId}`, started + deps.leaseMs);
  } catch (err) {
    const error = (err as Error).message;
    deps.logger.error({ runId: run.runId, table: table.name, err }, `ingestion of ${table.name} could not start: ${error}`);
    return { table: table.name, runId: run.runId, status: 'failed', rows: 0, bytes: 0, files: 0, low: null, high: null, resumed: false, durationMs: Date.now() - started, message: `ingestion of ${table.name} could not start: ${error}`, error };
  }
  try {
    return await ingestTable({ ...deps, source: held.source }, table, { ...run, owner });
  } finally {
    await held.release();
  }
}
