import { scheduledSliceId } from '../bronze/bronzePaths.js';
import type { TableConfig } from '../config/pipelineConfig.js';
import type { WatermarkState, WatermarkStore } from '../state/watermarkStore.js';
import type { FaultHooks } from './faultHooks.js';
import { plannedSlice, sliceTotals } from './slice.js';
import type { SliceKind, SliceRunnerDeps, SliceRunResult } from './sliceRunner.js';
import { runSlice } from './sliceRunner.js';

export type IngestDeps = SliceRunnerDeps & { watermarks: WatermarkStore };

export interface IngestRun {
  runId: string;
  /**
   * Who holds the table's lease for this call: unique per invocation (the host's invocation id),
   * a fresh identity when omitted. Never the run id, which two deliveries of a message share.
   */
  owner?: string;
  /** What started the run: schedule, cli, queue, continuation ... */
  trigger: string;
  /** Epoch ms after which the run stops at the next part boundary and reports `partial`. */
  deadline?: number;
  batchRows?: number;
  hooks?: FaultHooks;
}

export type TableRunResult = SliceRunResult;

/**
 * One incremental pass over one table: the ADF Lookup -> Copy -> Update-watermark loop, made
 * exactly-once by the slice runner. Here: the table's watermark record holds the slice and the
 * lease; a new slice runs from the watermark to a safe upper bound captured before reading;
 * committing moves the watermark.
 */
export function ingestTable(deps: IngestDeps, table: TableConfig, run: IngestRun): Promise<TableRunResult> {
  const now = deps.now ?? Date.now;
  const kind: SliceKind<WatermarkState> = {
    name: 'ingest',
    label: `ingestion of ${table.name}`,
    store: {
      take: async (taker, leaseMs, at) => {
        const lease = await deps.watermarks.acquire(table.name, table.watermark.kind, { owner: taker.owner, holder: taker.holder(1) }, leaseMs, at);
        if (!lease.acquired) return { taken: false, reason: `another run (${lease.holderRunId ?? 'unknown'}, lease owner ${lease.heldBy}) holds ${table.name} until ${lease.until}` };
        return { taken: true, record: lease.state, previous: lease.previous, attempt: 1 };
      },
      save: (state, addedParts) => deps.watermarks.save(state, addedParts),
      dropParts: async (state, slice) => void (await deps.watermarks.dropParts(state.table, slice)),
    },
    activity: () => 'ingest',
    unleasedActivity: 'ingest',
    driftReference: async (state) => state.columns,
    plan: async (state, columns) => {
      if (state.pending) return { slice: state.pending, resumed: true };
      // The upper bound is fixed before a single row is read: rows that arrive during the copy wait for the next slice.
      const high = await deps.source.safeUpperBound(table, table.watermark, table.lagSeconds);
      const low = state.value;
      if (high === null || !(await deps.source.hasRows(table, table.watermark, { low, high }))) {
        const message = `no new rows in ${table.schema}.${table.table} up to ${high ?? '(empty table)'}; watermark stays at ${low ?? '(none)'}`;
        return { idle: { ...state, lease: null, columns }, low, high, message };
      }
      const plannedAt = new Date(now()).toISOString();
      const slice = plannedSlice({ slice: scheduledSliceId(state.seq + 1), kind: low === null ? 'initial' : 'incremental', low, high, runId: run.runId, plannedAt, loadDate: plannedAt.slice(0, 10) });
      return { slice, resumed: false };
    },
    // The watermark moves last, after every part and the manifest: the one write that commits.
    commit: (state, slice, { columns, resumed, at }) => {
      const t = sliceTotals(slice);
      const how = resumed ? `resumed slice ${slice.slice} (planned by ${slice.runId})` : `slice ${slice.slice}`;
      return {
        record: { ...state, value: slice.high, seq: Number(slice.slice.slice(1)), pending: null, lease: null, columns, committedAt: at.toISOString(), lastRunId: run.runId },
        message: `${how}: ${t.rows} rows in ${t.files} files; watermark ${slice.low ?? '(none)'} -> ${slice.high}`,
      };
    },
    release: (state, slice) => ({ ...state, ...(slice ? { pending: slice } : {}), lease: null }),
    failureAlert: {
      kind: 'ingestion-failed',
      lookAt: `run ledger: subject ${table.name}, run ${run.runId}; logs filtered on runId=${run.runId}`,
      key: `ingest:${table.name}`,
    },
  };
  return runSlice(deps, {
    runId: run.runId,
    table,
    trigger: run.trigger,
    kind,
    ...(run.owner ? { owner: run.owner } : {}),
    ...(run.deadline === undefined ? {} : { deadline: run.deadline }),
    ...(run.batchRows ? { batchRows: run.batchRows } : {}),
    ...(run.hooks ? { hooks: run.hooks } : {}),
  });
}
