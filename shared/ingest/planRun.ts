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
  for (const table of tables) await deps.ingestQueue.send({ runId, table, trigger: options.trigger, continuation: 0 });
  await deps.ledger.finish(entry, { status: 'succeeded', tables: tables.join(','), detail: `queued ${tables.length} tables: ${tables.join(', ')}` });
  deps.logger.info({ runId, tables, queue: deps.ingestQueue.name }, `run planned: ${tables.length} tables queued`);
  return { runId, tables };
}
