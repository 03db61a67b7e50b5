import type { TableConfig } from '../config/pipelineConfig.js';
import { newLeaseOwner } from '../run/leaseOwner.js';
import type { WatermarkState } from '../state/watermarkStore.js';
import type { IngestDeps, IngestRun, TableRunResult } from './ingestTable.js';
import type { PendingSlice, RangePlan, SliceProgress } from './slice.js';
import { plannedSlice } from './slice.js';
import type { SliceKind } from './sliceRunner.js';
import { runSlice } from './sliceRunner.js';

/**
 * Key ranges of one slice (ADF's dynamic range partitioning): a large initial load is cut into
 * primary-key ranges of about equal rows, each with its own record (pending slice, lease, ETag,
 * parts), its own part names (`s0000000001-r0003`) and its own manifest, run as separate messages
 * on as many instances as run them. Committing a range counts it on the table's record in the
 * same transaction; the range that brings the count to the total moves the watermark, once.
 */

/** Where range `index` of `table` keeps its record: after every table name (`RowKey lt '~'` lists tables only). */
export const rangeRecordKey = (table: string, index: number): string => `~range~${table}~r${String(index).padStart(4, '0')}`;
export const rangeSliceId = (slice: string, index: number): string => `${slice}-r${String(index).padStart(4, '0')}`;

/** How many ranges an initial load of about `rows` rows is cut into (1: no ranges). */
export function rangeCount(rows: number, settings: { rowsPerRange: number; maxRanges: number }): number {
  if (settings.rowsPerRange <= 0) return 1;
  return Math.max(1, Math.min(settings.maxRanges, Math.ceil(rows / settings.rowsPerRange)));
}

/** Whether a range's record says it committed its part of this ranged slice. */
const rangeDone = (range: WatermarkState | null, slice: PendingSlice | SliceProgress): boolean =>
  range !== null && range.value !== null && range.seq === Number(slice.slice.slice(1)) && range.lastRunId === slice.runId;

/** The ranges of the table's ranged slice that are not committed yet. */
export async function unfinishedRanges(deps: Pick<IngestDeps, 'watermarks'>, table: string, slice: SliceProgress & { ranges: RangePlan }): Promise<number[]> {
  const records = await Promise.all([...Array(slice.ranges.count).keys()].map((i) => deps.watermarks.get(rangeRecordKey(table, i))));
  return records.flatMap((r, i) => (rangeDone(r, slice) ? [] : [i]));
}

/** The table's record once every range is committed: the watermark moves to the slice's upper bound. */
export function committedTable(table: WatermarkState, slice: PendingSlice, columns: WatermarkState['columns'], runId: string, at: Date): WatermarkState {
  return { ...table, value: slice.high, seq: Number(slice.slice.slice(1)), pending: null, lease: null, columns, committedAt: at.toISOString(), lastRunId: runId };
}

/**
 * One key range of the table's ranged slice, exactly once, through the slice runner: its record
 * holds its pending slice and lease; committing it is counted on the table's record; the last
 * range to commit moves the watermark. Never rejects.
 */
export async function runRange(deps: IngestDeps, table: TableConfig, index: number, run: IngestRun): Promise<TableRunResult> {
  const now = deps.now ?? Date.now;
  const key = rangeRecordKey(table.name, index);
  type RangeRecord = WatermarkState & { countsRange?: boolean };
  const kind: SliceKind<RangeRecord> = {
    name: 'range',
    label: `range ${index} of ${table.name}`,
    store: {
      take: async (taker, leaseMs, at) => {
        const lease = await deps.watermarks.acquire(key, table.watermark.kind, { owner: taker.owner, holder: taker.holder(1) }, leaseMs, at);
        if (!lease.acquired) return { taken: false, reason: `another run (${lease.holderRunId ?? 'unknown'}, lease owner ${lease.heldBy}) holds range ${index} of ${table.name} until ${lease.until}` };
        return { taken: true, record: lease.state, previous: lease.previous, attempt: 1 };
      },
      save: async (state, addedParts) => {
        if (!state.countsRange) return deps.watermarks.save(state, addedParts);
        const { countsRange: _c, ...range } = state;
        const committed = await deps.watermarks.commitRange(range, table.name);
        const plan = committed.table.pending!.ranges!;
        if (plan.done === plan.count) await finishSlice(committed.table, range);
        return committed.range;
      },
      dropParts: async (state, slice) => void (await deps.watermarks.dropParts(state.table, slice)),
    },
    activity: () => `ingest-r${String(index).padStart(4, '0')}`,
    // A range that is done or held elsewhere is no run of its own: the range's record says it.
    unleasedActivity: null,
    driftReference: async () => (await deps.watermarks.get(table.name))?.columns ?? null,
    plan: async (state) => {
      const tablePending = (await deps.watermarks.get(table.name))?.pending;
      const plan = tablePending?.ranges;
      if (!tablePending || !plan || index >= plan.count) return { idle: { ...state, lease: null }, low: null, high: null, message: `${table.name} has no range ${index} to extract` };
      const id = rangeSliceId(tablePending.slice, index);
      if (state.pending?.slice === id) return { slice: state.pending, resumed: true };
      if (rangeDone(state, tablePending)) return { idle: { ...state, lease: null }, low: tablePending.low, high: tablePending.high, message: `range ${index} of slice ${tablePending.slice} is already committed` };
      const slice: PendingSlice = {
        ...plannedSlice({ slice: id, kind: tablePending.kind, low: tablePending.low, high: tablePending.high, runId: tablePending.runId, plannedAt: tablePending.plannedAt, loadDate: tablePending.loadDate }),
        after: index === 0 ? null : plan.cuts[index - 1]!,
        until: index === plan.count - 1 ? null : plan.cuts[index]!,
      };
      return { slice, resumed: false };
    },
    // The range's record says which slice it finished: its seq, and the run that planned it.
    commit: (state, slice, { columns }) => ({
      record: { ...state, value: slice.high, seq: Number(slice.slice.slice(1, 11)), pending: null, lease: null, columns, lastRunId: slice.runId, committedAt: new Date(now()).toISOString(), countsRange: true },
      message: `range ${index} (${slice.slice}): ${slice.rows} rows in ${slice.files} files`,
    }),
    release: (state, slice) => ({ ...state, ...(slice ? { pending: slice } : {}), lease: null }),
    failureAlert: {
      kind: 'ingestion-failed',
      lookAt: `run ledger: subject ${table.name}, run ${run.runId}; logs filtered on runId=${run.runId}`,
      key: `ingest:${table.name}:r${index}`,
    },
  };

  /** The last range's commit: the watermark moves (conditional on the record this commit wrote, so once). */
  const finishSlice = async (tableState: WatermarkState, range: WatermarkState): Promise<void> => {
    try {
      await deps.watermarks.save(committedTable(tableState, tableState.pending!, range.columns, run.runId, new Date(now())));
      deps.logger.info({ runId: run.runId, table: table.name, slice: tableState.pending!.slice }, `all ${tableState.pending!.ranges!.count} ranges committed; watermark -> ${tableState.pending!.high}`);
    } catch (err) {
      // Counted but not moved (a run of the table wrote its record in between): that run's next pass moves it.
      deps.logger.warn({ err, runId: run.runId, table: table.name }, 'every range is committed, but the watermark could not move now; the next run of the table moves it');
    }
  };

  const owner = run.owner ?? newLeaseOwner('range');
  // A range reads under a connection slot of its table's source, like every other session of it.
  const slotted = deps.sources?.slotted(table.source) ? deps.sources : undefined;
  const held = slotted
    ? await slotted.open(table.source, owner, `ingest ${table.name} range ${index}, run ${run.runId}`).catch((err: unknown) => {
        deps.logger.warn({ err, runId: run.runId, table: table.name, range: index }, 'could not ask for a source slot');
        return null;
      })
    : undefined;
  if (held === null) {
    return { table: table.name, runId: run.runId, status: 'skipped', rows: 0, bytes: 0, files: 0, low: null, high: null, resumed: false, durationMs: 0, message: `range ${index} of ${table.name} waits: every connection slot of source ${table.source} is held` };
  }
  try {
    return await runSlice(held ? { ...deps, source: held.source } : deps, { runId: run.runId, table, trigger: run.trigger, kind, owner, logFields: { range: index }, ...(run.deadline === undefined ? {} : { deadline: run.deadline }), ...(run.batchRows ? { batchRows: run.batchRows } : {}), ...(run.hooks ? { hooks: run.hooks } : {}) });
  } finally {
    await held?.release().catch((err: unknown) => deps.logger.warn({ err, runId: run.runId, table: table.name, range: index }, 'could not close the session or give its slot back; the slot expires on its own'));
  }
}
