import type { PipelineConfig } from '../config/pipelineConfig.js';
import type { BusyPolicy } from '../queue/busyDeferral.js';
import { deferForBusySource } from '../queue/busyDeferral.js';
import { newLeaseOwner } from '../run/leaseOwner.js';
import type { SourceRegistry } from '../source/sourceRegistry.js';
import { selectTables } from '../config/pipelineConfig.js';
import type { IngestDeps, IngestRun, TableRunResult } from '../extract/ingestTable.js';
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
  const what = message.range === undefined ? `ingest ${table!.name}` : `ingest ${table!.name} range ${message.range}`;
  // SQL sources are read under a connection slot; http and rest sources hold no database session.
  const held = deps.sources.slotted(table!.source) ? await deps.sources.open(table!.source, owner, `${what}, run ${message.runId}`) : undefined;
  if (held === null) return defer(deps, message, table!.source);
  const run: IngestRun = {
    runId: message.runId,
    trigger: message.continuation > 0 ? `${message.trigger}+continuation` : message.trigger,
    deadline: (options.now ?? Date.now()) + options.budgetMs,
    owner,
    // A slice in key ranges is counted where it ends (rangeLoad.ts). A count that fails fails the
    // step before the watermark moves, so the message is tried again and counts it then.
    report: async (runId, outcome) => void (await countTableOutcome(deps, runId, outcome)),
  };
  let result: TableRunResult;
  try {
    // The session held here is the one a range reads through: the range takes no slot of its own.
    const { sources: _held, ...rest } = deps;
    const withSession: IngestDeps = held ? { ...rest, source: held.source } : rest;
    result = message.range === undefined ? await ingestTable(withSession, table!, run) : await runRange(withSession, table!, message.range, run);
  } finally {
    await held?.release();
  }
  const { deferrals: _spent, ...next } = message;
  // The ranges of a ranged slice run as messages of their own, on as many instances as the host gives them.
  if (result.ranges) for (const range of result.ranges) await deps.ingestQueue.send({ ...next, range, continuation: 0 });
  // A table whose slice runs in ranges goes on in the range messages, not in a continuation of its own.
  const continues = result.status === 'partial' && !result.ranges && message.continuation + 1 <= MAX_CONTINUATIONS;
  // Ranges handed out: this run now waits for the slice, and is counted when it ends (its
  // finisher counts it succeeded), when one of the range messages is given up (failed,
  // reportPoisonMessage.ts), or when a later run hands the ranges out again (partial). A range
  // message's own result is never the table's outcome.
  const waits = (result.ranges?.length ?? 0) > 0;
  if (!continues && !waits && message.range === undefined) {
    // The table's last word in this run (a partial slice at the continuation limit included).
    const outcome = { table: result.table, status: result.status, rows: result.rows, files: result.files, ...(result.error ? { error: result.error } : {}) };
    await countTableOutcome(deps, message.runId, outcome).catch((err: unknown) => deps.logger.warn({ err, runId: message.runId }, 'run summary failed'));
  }
  if (result.status === 'failed') throw new IngestFailedError(result);
  if (result.status === 'partial' && !result.ranges) {
    if (!continues) {
      deps.logger.warn({ runId: message.runId, table: message.table }, 'continuation limit reached; the next scheduled run resumes the slice');
    } else {
      await deps.ingestQueue.send({ ...next, continuation: message.continuation + 1 });
    }
  }
  return result;
}

async function defer(deps: IngestMessageDeps, message: IngestMessage, source: string): Promise<DeferredResult> {
  const what = `${message.table} (run ${message.runId})`;
  const d = await deferForBusySource(deps.ingestQueue, message, { source, maxConnections: deps.sources.endpoint(source).maxConnections, policy: deps.busy, what, runId: message.runId, logger: deps.logger });
  return { status: 'deferred', table: message.table, runId: message.runId, ...d };
}
