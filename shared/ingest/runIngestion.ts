import pLimit from 'p-limit';
import type { TableConfig } from '../config/pipelineConfig.js';
import type { IngestDeps, IngestRun, TableRunResult } from '../extract/ingestTable.js';
import { ingestTable } from '../extract/ingestTable.js';
import { redactSecrets } from '../logging/redact.js';
import { summaryNotice } from './runSummary.js';

function notStarted(table: TableConfig, runId: string, err: unknown): TableRunResult {
  const error = redactSecrets(err instanceof Error ? err.message : String(err));
  return { table: table.name, runId, status: 'failed', rows: 0, bytes: 0, files: 0, low: null, high: null, resumed: false, durationMs: 0, message: `ingestion of ${table.name} could not start: ${error}`, error };
}

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
  // ingestTable reports its own failures; this catches what happens before it can (the ledger or
  // the lease store unreachable), so one table's trouble never costs the others their results.
  const results = await Promise.all(tables.map((t) => limit(() => ingestTable(deps, t, perTable).catch((err: unknown) => notStarted(t, run.runId, err)))));
  await deps.notifier.notify(summaryNotice(run.runId, run.trigger, results));
  return { runId: run.runId, results, ok: results.every((r) => r.status !== 'failed') };
}
