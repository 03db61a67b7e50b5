import pLimit from 'p-limit';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import { selectTables } from '../config/pipelineConfig.js';
import type { Logger } from '../logging/logger.js';
import { newRunId } from '../run/runId.js';
import type { RunLedger } from '../state/runLedger.js';
import type { IngestQueue } from './ingestQueue.js';

export interface PlannedRun {
  runId: string;
  tables: string[];
}

/** Queue sends in flight at once: 5,000 tables are queued in seconds, not one round trip after another. */
const SEND_CONCURRENCY = 16;
/** Table names the plan's ledger entry lists; the rest are counted (a property holds 32K characters). */
export const LISTED_TABLES = 50;

/** `a,b,c` for a few tables, `a,b,...(+1950 more)` for many: bounded, whatever the catalog's size. */
export function listedTables(tables: string[], max = LISTED_TABLES): string {
  return tables.length <= max ? tables.join(',') : `${tables.slice(0, max).join(',')},...(+${tables.length - max} more)`;
}

/**
 * The scheduled fan-out (ADF's ForEach): a new run id and one queue message per enabled table,
 * so each table gets its own invocation, retries and poison handling.
 */
export async function planRun(
  deps: { config: PipelineConfig; ingestQueue: IngestQueue; ledger: RunLedger; logger: Logger },
  options: { trigger: string; tables?: string[]; runId?: string },
): Promise<PlannedRun> {
  const runId = options.runId ?? newRunId();
  const tables = selectTables(deps.config, options.tables).map((t) => t.name);
  const entry = await deps.ledger.start({ runId, subject: '_runs', activity: 'plan', trigger: options.trigger, startedAt: new Date().toISOString() });
  // The tally exists before the first message, so the first table to finish finds it.
  await deps.ledger.completion.plan(runId, options.trigger, tables.length);
  const limit = pLimit(SEND_CONCURRENCY);
  await Promise.all(tables.map((table) => limit(() => deps.ingestQueue.send({ runId, table, trigger: options.trigger, continuation: 0 }))));
  const listed = listedTables(tables);
  await deps.ledger.finish(entry, { status: 'succeeded', tables: listed, detail: `queued ${tables.length} tables: ${listed.replaceAll(',', ', ')}` });
  deps.logger.info({ runId, tables, queue: deps.ingestQueue.name }, `run planned: ${tables.length} tables queued`);
  return { runId, tables };
}
