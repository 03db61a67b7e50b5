import type { PipelineConfig } from '../config/pipelineConfig.js';
import { selectTables } from '../config/pipelineConfig.js';
import type { IngestDeps, TableRunResult } from '../extract/ingestTable.js';
import { ingestTable } from '../extract/ingestTable.js';
import { runRange } from '../extract/rangeLoad.js';
import type { IngestMessage } from './ingestMessage.js';
import { MessageError } from './ingestMessage.js';
import { countTableOutcome } from './runSummary.js';
import type { IngestQueue } from './ingestQueue.js';

export class IngestFailedError extends Error {
  constructor(readonly result: TableRunResult) {
    super(`run ${result.runId}: ${result.message}`);
    this.name = 'IngestFailedError';
  }
}

/** Invocations one table may chain in one run before we stop and let the next schedule continue. */
const MAX_CONTINUATIONS = 200;

/**
 * The queue-triggered step: extract one table within the invocation's time budget. A slice that
 * needs more time continues in a fresh message; a failure throws, so the host retries the
 * message and finally moves it to the poison queue.
 */
export async function handleIngestMessage(
  deps: IngestDeps & { config: PipelineConfig; ingestQueue: IngestQueue },
  message: IngestMessage,
  /** `owner`: the table's lease owner for this invocation (the host's invocation id). */
  options: { budgetMs: number; now?: number; owner?: string },
): Promise<TableRunResult> {
  let table;
  try {
    [table] = selectTables(deps.config, [message.table]);
  } catch (err) {
    throw new MessageError((err as Error).message);
  }
  const run = {
    runId: message.runId,
    trigger: message.continuation > 0 ? `${message.trigger}+continuation` : message.trigger,
    deadline: (options.now ?? Date.now()) + options.budgetMs,
    ...(options.owner ? { owner: options.owner } : {}),
  };
  const result = message.range === undefined ? await ingestTable(deps, table!, run) : await runRange(deps, table!, message.range, run);
  // The ranges of a ranged slice run as messages of their own, on as many instances as the host gives them.
  if (result.ranges) for (const range of result.ranges) await deps.ingestQueue.send({ ...message, range, continuation: 0 });
  // A table whose slice runs in ranges goes on in the range messages, not in a continuation of its own.
  const continues = result.status === 'partial' && !result.ranges && message.continuation + 1 <= MAX_CONTINUATIONS;
  if (!continues && message.range === undefined) {
    // The table's last word in this run (a partial slice at the continuation limit included; a
    // ranged slice when its ranges are handed out: they go on under leases of their own and alert
    // on their own, and the last of them moves the watermark).
    const outcome = { table: result.table, status: result.status, rows: result.rows, files: result.files, ...(result.error ? { error: result.error } : {}) };
    await countTableOutcome(deps, message.runId, outcome).catch((err: unknown) => deps.logger.warn({ err, runId: message.runId }, 'run summary failed'));
  }
  if (result.status === 'failed') throw new IngestFailedError(result);
  if (result.status === 'partial' && !result.ranges) {
    if (!continues) {
      deps.logger.warn({ runId: message.runId, table: message.table }, 'continuation limit reached; the next scheduled run resumes the slice');
    } else {
      await deps.ingestQueue.send({ ...message, continuation: message.continuation + 1 });
    }
  }
  return result;
}
