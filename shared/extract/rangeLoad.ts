import { buildManifest, readManifest, writeManifest, type SliceManifest } from '../bronze/manifest.js';
import type { TableConfig } from '../config/pipelineConfig.js';
import { newLeaseOwner } from '../run/leaseOwner.js';
import type { ColumnSnapshot, WatermarkState } from '../state/watermarkStore.js';
import { LeaseLostError } from '../state/watermarkStore.js';
import type { IngestDeps, IngestRun, TableRunResult } from './ingestTable.js';
import type { PendingSlice, RangePlan, SliceProgress, Totals } from './slice.js';
import { plannedSlice, sliceTotals } from './slice.js';
import type { SliceKind, SliceRead } from './sliceRunner.js';
import { runSlice } from './sliceRunner.js';

/**
 * Key ranges of one slice (ADF's dynamic range partitioning): a large initial load is cut into
 * primary-key ranges of about equal rows, each with its own record (pending slice, lease, ETag,
 * parts) and its own part names (`s0000000001-r0003`), run as separate messages on as many
 * instances as run them. Committing a range counts it, with its rows, bytes and parts, on the
 * table's record in the same transaction. The slice's finisher (the commit that brings the count
 * to the total; the table's next run, or the range's message delivered again, if that one
 * stopped short) writes the slice's one manifest, counts the table in the run waiting on the
 * slice, and moves the watermark, once.
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

/**
 * The table's record once every range is committed: the watermark moves to the slice's upper
 * bound. Its lease stays as it is: a run of the table that holds it (handing ranges out) finds
 * its record changed, takes it again and plans anew (sliceRunner.ts).
 */
export function committedTable(table: WatermarkState, slice: PendingSlice, columns: WatermarkState['columns'], runId: string, at: Date): WatermarkState {
  return { ...table, value: slice.high, seq: Number(slice.slice.slice(1)), pending: null, columns, committedAt: at.toISOString(), lastRunId: runId };
}

/** The run whose tally waits for the ranged slice (RangePlan.runId). */
export const waitingRun = (slice: SliceProgress): string => slice.ranges?.runId ?? slice.runId;

/** The committed ranges' totals, as their commits added them up on the table's record. */
export const rangedTotals = (plan: RangePlan): Totals => ({ rows: plan.rows ?? 0, bytes: plan.bytes ?? 0, files: plan.files ?? 0 });

/**
 * Everything a ranged slice's finisher does before the watermark moves, every step safe to do
 * again (a finisher that stops anywhere in between is followed by another: the table's next run,
 * or the range message delivered again): write the slice's one manifest, count the table
 * `succeeded` in the run waiting on the slice (before the move, so a stop after the move loses no
 * count; the tally counts a table once), and remove the ranges' part entities, which the manifest
 * now records. `state`: the table's record, every range counted. Returns the slice's totals.
 */
export async function closeRangedSlice(deps: IngestDeps, table: TableConfig, state: WatermarkState, read: SliceRead, run: IngestRun): Promise<Totals> {
  const slice = state.pending!;
  const plan = slice.ranges!;
  const totals = rangedTotals(plan);
  if (totals.files > 0) await ensureSliceManifest(deps, table, slice, totals, read);
  await run.hooks?.checkpoint?.('manifest-written', { table: table.name, slice: slice.slice });
  await run.report?.(waitingRun(slice), { table: table.name, status: 'succeeded', rows: totals.rows, files: totals.files });
  await Promise.all([...Array(plan.count).keys()].map((i) => deps.watermarks.dropParts(rangeRecordKey(table.name, i), rangeSliceId(slice.slice, i)))).catch((err: unknown) =>
    deps.logger.warn({ err, runId: run.runId, table: table.name, slice: slice.slice }, 'could not remove the part records of the ranges; the manifest lists the files, they are never read again'),
  );
  return totals;
}

/**
 * The slice's one manifest, `_manifests/<table>/<slice>.json` (the name every slice's manifest
 * has, so readers see a ranged slice as any other), listing every range's parts in range order.
 * A manifest of this slice already there (same planning run, same totals: an earlier finisher
 * wrote it and stopped before the watermark moved) is kept as it is.
 *
 * The file list comes from the ranges' part entities, kept after each range's commit until the
 * manifest is written. They are what each range's record counted, written in the same
 * transaction as the record (partEntities.ts): exactly the committed files, with their rows and
 * bytes, and their sums must equal the totals the range commits added up on the table's record.
 * A listing of the lake under the slice's part names would have no row counts without opening
 * every file, and could see a part that a run which lost its lease wrote after the range
 * committed.
 */
async function ensureSliceManifest(deps: IngestDeps, table: TableConfig, slice: PendingSlice, totals: Totals, read: SliceRead): Promise<void> {
  const ours = (m: SliceManifest | null): boolean => m !== null && m.runId === slice.runId && m.plannedAt === slice.plannedAt && m.rows === totals.rows && m.files.length === totals.files;
  if (ours(await readManifest(deps.lake, table.name, slice.slice))) return;
  const count = slice.ranges!.count;
  const parts = (await Promise.all([...Array(count).keys()].map((i) => deps.watermarks.parts(rangeRecordKey(table.name, i), rangeSliceId(slice.slice, i))))).flat();
  const listed = parts.reduce((t, p) => ({ rows: t.rows + p.rows, bytes: t.bytes + p.bytes, files: t.files + 1 }), { rows: 0, bytes: 0, files: 0 });
  if (listed.rows !== totals.rows || listed.bytes !== totals.bytes || listed.files !== totals.files) {
    // Another finisher wrote the manifest and removed the part records while this one read them.
    if (ours(await readManifest(deps.lake, table.name, slice.slice))) return;
    throw new Error(
      `the recorded parts of the ${count} ranges of slice ${slice.slice} (${listed.files} files, ${listed.rows} rows) do not add up to what their commits counted (${totals.files} files, ${totals.rows} rows); no manifest is written and the watermark stays`,
    );
  }
  await writeManifest(deps.lake, buildManifest({ table, sourceKind: read.kind, columns: read.columns, slice: { ...slice, ...totals, parts } }));
}

/**
 * Move the watermark past the ranged slice, once: conditional on the record read, and read again
 * when it changed (a run of the table took its lease meanwhile). False when another finisher
 * moved it first.
 */
async function moveWatermark(deps: IngestDeps, table: string, state: WatermarkState, columns: ColumnSnapshot[] | null, runId: string, at: Date): Promise<boolean> {
  const slice = state.pending!.slice;
  let current: WatermarkState | null = state;
  for (let attempt = 0; attempt < 10; attempt++) {
    if (current?.pending?.slice !== slice) return false;
    try {
      await deps.watermarks.save(committedTable(current, current.pending, columns, runId, at));
      return true;
    } catch (err) {
      if (!(err instanceof LeaseLostError)) throw err;
      current = await deps.watermarks.get(table);
    }
  }
  throw new Error(`the watermark of ${table} could not move past slice ${slice}: its record kept changing`);
}

/**
 * One key range of the table's ranged slice, exactly once, through the slice runner: its record
 * holds its pending slice and lease; committing it is counted on the table's record; the commit
 * that completes the count finishes the slice (its manifest, the waiting run's count, the
 * watermark), and so does a range message that finds every range counted and the slice not
 * finished. Never rejects.
 */
export async function runRange(deps: IngestDeps, table: TableConfig, index: number, run: IngestRun): Promise<TableRunResult> {
  const now = deps.now ?? Date.now;
  const key = rangeRecordKey(table.name, index);
  /** A range's commit carries what the commit counts and, should it complete the slice, what its finisher needs. */
  type RangeRecord = WatermarkState & { counts?: { totals: Totals; read: SliceRead } };
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
        if (!state.counts) return deps.watermarks.save(state, addedParts);
        const { counts, ...range } = state;
        const committed = await deps.watermarks.commitRange(range, table.name, counts.totals);
        const plan = committed.table.pending!.ranges!;
        // A finisher that fails here fails the range's attempt, after its commit: the message is
        // tried again and finishes the slice (`plan` below). Giving the range back cannot undo the
        // commit: the record it would write is conditional on the ETag the commit replaced.
        if (plan.done === plan.count) await finishSlice(committed.table, counts.read, range.columns);
        return committed.range;
      },
      // A range's parts stay until its slice's finisher has listed them in the manifest.
      dropParts: async () => undefined,
    },
    activity: () => `ingest-r${String(index).padStart(4, '0')}`,
    ownManifest: false,
    // A range that is done or held elsewhere is no run of its own: the range's record says it.
    unleasedActivity: null,
    driftReference: async () => (await deps.watermarks.get(table.name))?.columns ?? null,
    plan: async (state, columns, read) => {
      const tableState = await deps.watermarks.get(table.name);
      const tablePending = tableState?.pending;
      const plan = tablePending?.ranges;
      if (!tableState || !tablePending || !plan || index >= plan.count) return { idle: { ...state, lease: null }, low: null, high: null, message: `${table.name} has no range ${index} to extract` };
      const id = rangeSliceId(tablePending.slice, index);
      if (state.pending?.slice === id) return { slice: state.pending, resumed: true };
      if (rangeDone(state, tablePending)) {
        const { low, high } = tablePending;
        if (plan.done < plan.count) return { idle: { ...state, lease: null }, low, high, message: `range ${index} of slice ${tablePending.slice} is already committed` };
        // Every range is counted but the watermark has not moved: the finisher stopped short (this
        // message, delivered again, may be its own). Finish here.
        const totals = await finishSlice(tableState, read, columns);
        return { idle: { ...state, lease: null }, low, high, status: 'succeeded', totals, message: `range ${index} of slice ${tablePending.slice} is already committed, as is every range: the slice's manifest is written and the watermark moved to ${high}` };
      }
      const slice: PendingSlice = {
        ...plannedSlice({ slice: id, kind: tablePending.kind, low: tablePending.low, high: tablePending.high, runId: tablePending.runId, plannedAt: tablePending.plannedAt, loadDate: tablePending.loadDate }),
        after: index === 0 ? null : plan.cuts[index - 1]!,
        until: index === plan.count - 1 ? null : plan.cuts[index]!,
      };
      return { slice, resumed: false };
    },
    // The range's record says which slice it finished: its seq, and the run that planned it.
    commit: (state, slice, { columns, read }) => ({
      record: { ...state, value: slice.high, seq: Number(slice.slice.slice(1, 11)), pending: null, lease: null, columns, lastRunId: slice.runId, committedAt: new Date(now()).toISOString(), counts: { totals: sliceTotals(slice), read } },
      message: `range ${index} (${slice.slice}): ${slice.rows} rows in ${slice.files} files`,
    }),
    release: (state, slice) => ({ ...state, ...(slice ? { pending: slice } : {}), lease: null }),
    failureAlert: {
      kind: 'ingestion-failed',
      lookAt: `run ledger: subject ${table.name}, run ${run.runId}; logs filtered on runId=${run.runId}`,
      key: `ingest:${table.name}:r${index}`,
    },
  };

  /** Every range is counted: the slice's manifest, the waiting run's count, then the watermark, once. */
  const finishSlice = async (tableState: WatermarkState, read: SliceRead, columns: ColumnSnapshot[] | null): Promise<Totals> => {
    const slice = tableState.pending!;
    const totals = await closeRangedSlice(deps, table, tableState, read, run);
    const moved = await moveWatermark(deps, table.name, tableState, columns, run.runId, new Date(now()));
    const what = `all ${slice.ranges!.count} ranges of slice ${slice.slice} committed (${totals.rows} rows in ${totals.files} files)`;
    deps.logger.info({ runId: run.runId, table: table.name, slice: slice.slice, waitingRun: waitingRun(slice) }, moved ? `${what}; watermark -> ${slice.high}` : `${what}; another finisher moved the watermark`);
    return totals;
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
