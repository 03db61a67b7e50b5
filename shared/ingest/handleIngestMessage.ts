import type { PipelineConfig } from '../config/pipelineConfig.js';
import type { BusyPolicy } from '../queue/busyDeferral.js';
import { busyDelaySeconds } from '../queue/busyDeferral.js';
import { newLeaseOwner } from '../run/leaseOwner.js';
import type { SourceRegistry } from '../source/sourceRegistry.js';
import { SourceBusyError } from '../source/sourceRegistry.js';
import { selectTables } from '../config/pipelineConfig.js';
import type { IngestDeps, TableRunResult } from '../extract/ingestTable.js';
import { ingestTable } from '../extract/ingestTable.js';
import type { IngestMessage } from './ingestMessage.js';
import { MessageError } from './ingestMessage.js';
import { summariseIfRunComplete } from './runSummary.js';
import type { IngestQueue } from './ingestQueue.js';

export class IngestFailedError extends Error {
  constructor(readonly result: TableRunResult) {
    super(`run ${result.runId}: ${result.message}`);
    this.name = 'IngestFailedError';
  }
}

/** Invocations one table may chain in one run before we stop and let the next schedule continue. */
const MAX_CONTINUATIONS = 200;

/** The message went back to the queue: its source had no free connection slot. */
export interface DeferredResult {
  status: 'deferred';
  table: string;
  runId: string;
  deferrals: number;
  delaySeconds: number;
  message: string;
}

export type IngestMessageDeps = IngestDeps & { config: PipelineConfig; ingestQueue: IngestQueue; sources: SourceRegistry; busy: BusyPolicy };

/**
 * The queue-triggered step: take a connection slot of the table's source, then extract the table
 * within the invocation's time budget. With no free slot the message is sent back with a delay
 * (not failed: see busyDeferral.ts). A slice that needs more time continues in a fresh message;
 * a failure throws, so the host retries the message and finally moves it to the poison queue.
 */
export async function handleIngestMessage(
  deps: IngestMessageDeps,
  message: IngestMessage,
  /** `owner`: the table's lease owner for this invocation (the host's invocation id). */
  options: { budgetMs: number; now?: number; owner?: string },
): Promise<TableRunResult | DeferredResult> {
  let table;
  try {
    [table] = selectTables(deps.config, [message.table]);
  } catch (err) {
    throw new MessageError((err as Error).message);
  }
  const owner = options.owner ?? newLeaseOwner('ingest');
  const held = await deps.sources.open(table!.source, owner, `ingest ${table!.name}, run ${message.runId}`);
  if (!held) return defer(deps, message, table!.source);
  let result: TableRunResult;
  try {
    result = await ingestTable({ ...deps, source: held.source }, table!, {
      runId: message.runId,
      trigger: message.continuation > 0 ? `${message.trigger}+continuation` : message.trigger,
      deadline: (options.now ?? Date.now()) + options.budgetMs,
      owner,
    });
  } finally {
    await held.release();
  }
  if (result.status !== 'partial') {
    await summariseIfRunComplete(deps, message.runId).catch((err: unknown) => deps.logger.warn({ err, runId: message.runId }, 'run summary failed'));
  }
  if (result.status === 'failed') throw new IngestFailedError(result);
  if (result.status === 'partial') {
    if (message.continuation + 1 > MAX_CONTINUATIONS) {
      deps.logger.warn({ runId: message.runId, table: message.table }, 'continuation limit reached; the next scheduled run resumes the slice');
    } else {
      const { deferrals: _spent, ...next } = message;
      await deps.ingestQueue.send({ ...next, continuation: message.continuation + 1 });
    }
  }
  return result;
}

/** Send the message back with a growing delay; past `maxDeferrals`, fail it like any failure (retries, then poison and an alert). */
async function defer(deps: IngestMessageDeps, message: IngestMessage, source: string): Promise<DeferredResult> {
  const deferrals = (message.deferrals ?? 0) + 1;
  const cap = deps.sources.endpoint(source).maxConnections;
  if (deferrals > deps.busy.maxDeferrals) throw new SourceBusyError(source, cap, ` after ${deferrals - 1} deferrals of ${message.table} (run ${message.runId})`);
  const delaySeconds = busyDelaySeconds(deferrals, deps.busy);
  await deps.ingestQueue.send({ ...message, deferrals }, { visibilityTimeoutSeconds: delaySeconds });
  const text = `source ${source} has all ${cap} connection slots in use: ${message.table} comes back in ${delaySeconds} s (deferral ${deferrals} of at most ${deps.busy.maxDeferrals})`;
  deps.logger.info({ runId: message.runId, table: message.table, source, deferrals, delaySeconds }, text);
  return { status: 'deferred', table: message.table, runId: message.runId, deferrals, delaySeconds, message: text };
}
