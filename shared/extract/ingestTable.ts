import type { Notice } from '../notify/notifier.js';
import { scheduledSliceId } from '../bronze/bronzePaths.js';
import type { TableConfig } from '../config/pipelineConfig.js';
import type { WatermarkState, WatermarkStore } from '../state/watermarkStore.js';
import type { FaultHooks } from './faultHooks.js';
import { closeRangedSlice, committedTable, rangeCount, rangedTotals, unfinishedRanges, waitingRun } from './rangeLoad.js';
import type { TableOutcome } from '../state/runCompletion.js';
import type { SourceRegistry } from '../source/sourceRegistry.js';
import type { PendingSlice, RangePlan } from './slice.js';
import { plannedSlice, sliceTotals } from './slice.js';
import type { SliceKind, SlicePlan, SliceRunnerDeps, SliceRunResult } from './sliceRunner.js';
import type { KeySplit, SnapshotPlanner } from '../source/source.js';
import type { ColumnSnapshot } from '../state/watermarkStore.js';
import { runSlice, sourceOf } from './sliceRunner.js';
import { watermarkLabel } from '../source/watermarkLabel.js';

export type IngestDeps = SliceRunnerDeps & {
  watermarks: WatermarkStore;
  /** Initial loads of more than `rowsPerRange` rows run in up to `maxRanges` key ranges (rangeLoad.ts); absent or 0: one slice. */
  ranges?: { rowsPerRange: number; maxRanges: number };
  /**
   * The catalog's SQL sources under their connection caps: a key range run here takes a slot of
   * its table's source for its own session (a range that finds none is skipped and runs later).
   * Absent: the range reads `source`, whose session the caller already holds.
   */
  sources?: SourceRegistry;
};

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
  /**
   * Count a table's outcome in a run's tally (the queue path: handleIngestMessage). A slice in key
   * ranges ends outside the message that handed its ranges out, so its outcome is counted from
   * here: `succeeded` by its finisher in the run waiting on it, `partial` for a waiting run when
   * a later run hands the ranges out again. Absent (the CLI): the caller sums its own results.
   */
  report?: (runId: string, outcome: TableOutcome) => Promise<void>;
}

export type TableRunResult = SliceRunResult & {
  /** The slice runs in key ranges: those not committed yet, each to be run by `runRange` (its own message). */
  ranges?: number[];
};

/**
 * A snapshot table's slice (files over HTTP): the source probes what it serves against the
 * committed version. Unchanged: nothing lands (the new validators are kept). Changed: a slice
 * whose upper bound is the probed version. A pending slice is resumed if its version still
 * holds, and restarted from its first part (same slice, same names) if the files changed
 * before it committed, since resuming by record number is only sound on the same content.
 */
/** The same slice from its first part (same names; the record counts no part, so earlier part entities are overwritten or ignored). */
function restarted(slice: PendingSlice): PendingSlice {
  return { ...slice, parts: [], after: null, exhausted: false, files: 0, rows: 0, bytes: 0 };
}

async function planSnapshot(snapshot: SnapshotPlanner, table: TableConfig, state: WatermarkState, columns: ColumnSnapshot[], runId: string, now: () => number, failed: (failures: string[]) => void): Promise<SlicePlan<WatermarkState>> {
  if (state.pending) {
    if (state.pending.exhausted) return { slice: state.pending, resumed: true };
    if (!snapshot.resumable) return { slice: restarted(state.pending), resumed: true };
    const probe = await snapshot.probe(table, state.pending.high, columns, state.value);
    failed(probe.failures ?? []);
    if (!probe.changed) return { slice: state.pending, resumed: true };
    return { slice: { ...restarted(state.pending), high: probe.version }, resumed: true };
  }
  const probe = await snapshot.probe(table, state.value, columns);
  failed(probe.failures ?? []);
  if (!probe.changed) return { idle: { ...state, value: probe.version ?? state.value, lease: null, columns }, low: state.value, high: probe.version, message: `${probe.message}; nothing to land` };
  const plannedAt = new Date(now()).toISOString();
  const slice = plannedSlice({ slice: scheduledSliceId(state.seq + 1), kind: state.value === null ? 'initial' : 'incremental', low: state.value, high: probe.version, runId, plannedAt, loadDate: plannedAt.slice(0, 10) });
  return { slice, resumed: false };
}


/**
 * One incremental pass over one table: the ADF Lookup -> Copy -> Update-watermark loop, made
 * exactly-once by the slice runner. Here: the table's watermark record holds the slice and the
 * lease; a new slice runs from the watermark to a safe upper bound captured before reading;
 * committing moves the watermark.
 */
export async function ingestTable(deps: IngestDeps, table: TableConfig, run: IngestRun): Promise<TableRunResult> {
  const now = deps.now ?? Date.now;
  /** Files of a multi-file table that failed on their own while the run planned (reported after it). */
  let fileFailures: string[] = [];
  const failureAlert = {
    kind: 'ingestion-failed',
    lookAt: `run ledger: subject ${table.name}, run ${run.runId}; logs filtered on runId=${run.runId}`,
    // One key for every table: when a source with many tables fails, the first failure alerts at
    // once and the rest are held back (their runs named in the next alert); the run's digest
    // lists every failed table (runSummary.ts). Per-table keys sent one mail per table, past the
    // e-mail domain's 5 a minute, and the mails beyond it were lost.
    key: 'ingest',
  } as const;
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
    plan: async (state, columns, read) => {
      const snapshot = sourceOf(deps, table).snapshot;
      if (snapshot) return planSnapshot(snapshot, table, state, columns, run.runId, now, (f) => (fileFailures = f));
      const ranged = state.pending?.ranges;
      if (state.pending && ranged) {
        const { slice, low, high } = state.pending;
        // Every range counted, the watermark not moved (the last range's run stopped in between): this run finishes the slice.
        if (ranged.done === ranged.count) {
          const totals = await closeRangedSlice(deps, table, state, read, run);
          return { idle: { ...committedTable(state, state.pending, columns, run.runId, new Date(now())), lease: null }, low, high, status: 'succeeded', totals, message: `all ${ranged.count} ranges of slice ${slice} committed; watermark ${low ?? '(none)'} -> ${high}` };
        }
        // This run hands the unfinished ranges out and waits for the slice in place of the run
        // that waited before, which is counted `partial` now (before the record says so: a stop
        // in between repeats the count, which the tally takes once).
        const waiting = waitingRun(state.pending);
        if (waiting !== run.runId) {
          const sofar = rangedTotals(ranged);
          await run.report?.(waiting, { table: table.name, status: 'partial', rows: sofar.rows, files: sofar.files });
        }
        const handedOut = { ...state.pending, ranges: { ...ranged, runId: run.runId } };
        return { idle: { ...state, pending: handedOut, lease: null }, low, high, status: 'partial', message: `slice ${slice} runs in ${ranged.count} key ranges: ${ranged.done} committed` };
      }
      if (state.pending) return { slice: state.pending, resumed: true };
      // The upper bound is fixed before a single row is read: rows that arrive during the copy wait for the next slice.
      const high = await deps.source.safeUpperBound(table, table.watermark, table.lagSeconds);
      const low = state.value;
      if (high === null || !(await deps.source.hasRows(table, table.watermark, { low, high }))) {
        const message = `no new rows in ${table.schema}.${table.table} up to ${high ?? '(empty table)'}; watermark stays at ${low ?? '(none)'}`;
        return { idle: { ...state, lease: null, columns }, low, high, message };
      }
      const plannedAt = new Date(now()).toISOString();
      if (low === null) {
        const split = await splitInitialLoad(table);
        if (split) {
          const { estimatedRows, ...cut } = split;
          const ranges: RangePlan = { ...cut, runId: run.runId, rows: 0, bytes: 0, files: 0 };
          const slice = { ...plannedSlice({ slice: scheduledSliceId(state.seq + 1), kind: 'initial', low, high, runId: run.runId, plannedAt, loadDate: plannedAt.slice(0, 10) }), ranges };
          return { idle: { ...state, pending: slice, lease: null }, low, high, status: 'partial', message: `initial load ${slice.slice} of about ${estimatedRows} rows runs in ${ranges.count} key ranges` };
        }
      }
      const slice = plannedSlice({ slice: scheduledSliceId(state.seq + 1), kind: low === null ? 'initial' : 'incremental', low, high, runId: run.runId, plannedAt, loadDate: plannedAt.slice(0, 10) });
      return { slice, resumed: false };
    },
    // The watermark moves last, after every part and the manifest: the one write that commits.
    commit: (state, slice, { columns, resumed, at }) => {
      const t = sliceTotals(slice);
      const how = resumed ? `resumed slice ${slice.slice} (planned by ${slice.runId})` : `slice ${slice.slice}`;
      const moved = table.file ? `new version of ${table.file.urls.length} file(s) (${watermarkLabel(slice.high)})` : table.rest ? `pull of ${table.rest.endpoint}` : `watermark ${slice.low ?? '(none)'} -> ${slice.high}`;
      return {
        record: { ...state, value: slice.high, seq: Number(slice.slice.slice(1)), pending: null, lease: null, columns, committedAt: at.toISOString(), lastRunId: run.runId },
        message: `${how}: ${t.rows} rows in ${t.files} files; ${moved}`,
      };
    },
    release: (state, slice) => ({ ...state, ...(slice ? { pending: slice } : {}), lease: null }),
    failureAlert,
  };
  /** Key ranges for an initial load big enough to want them, sized by the source's row estimate; null for one slice. */
  const splitInitialLoad = async (t: TableConfig): Promise<(RangePlan & { estimatedRows: number }) | null> => {
    const { ranges, source } = deps;
    if (!ranges || !source.splitKeys) return null;
    // A source that sized coarser than asked, or not at all, says why: logged with the run.
    const split = async (count: number): Promise<KeySplit> => {
      const r = await source.splitKeys!(t, t.primaryKey, count);
      if (r.note) deps.logger.warn({ runId: run.runId, table: t.name, ranges: count, cuts: r.boundaries.length }, `key ranges of ${t.name}: ${r.note}`);
      return r;
    };
    const { estimatedRows } = await split(1);
    const count = rangeCount(estimatedRows, ranges);
    if (count < 2) return null;
    const { boundaries } = await split(count);
    return boundaries.length === 0 ? null : { count: boundaries.length + 1, done: 0, cuts: boundaries, estimatedRows };
  };
  const result: TableRunResult = await runSlice(deps, {
    runId: run.runId,
    table,
    trigger: run.trigger,
    kind,
    ...(run.owner ? { owner: run.owner } : {}),
    ...(run.deadline === undefined ? {} : { deadline: run.deadline }),
    ...(run.batchRows ? { batchRows: run.batchRows } : {}),
    ...(run.hooks ? { hooks: run.hooks } : {}),
  });
  if (fileFailures.length > 0 && result.status !== 'failed') return reportFileFailures(deps, table, run, result, fileFailures, failureAlert);
  if (result.status !== 'partial') return result;
  try {
    const pending = (await deps.watermarks.get(table.name))?.pending;
    return pending?.ranges ? { ...result, slice: pending.slice, ranges: await unfinishedRanges(deps, table.name, { ...pending, ranges: pending.ranges }) } : result;
  } catch (err) {
    // The next run of the table lists them again.
    deps.logger.warn({ err, runId: run.runId, table: table.name }, 'could not list the unfinished key ranges');
    return result;
  }
}

/**
 * Files of a multi-file table that failed on their own: the run landed the others (or had
 * nothing new from them); each failed file keeps its committed state and is fetched again next
 * run. Recorded as a failed `ingest-files` entry in the ledger and alerted like a failed table.
 */
async function reportFileFailures(deps: IngestDeps, table: TableConfig, run: IngestRun, result: TableRunResult, failures: string[], alert: Pick<Notice, 'kind' | 'lookAt' | 'key'>): Promise<TableRunResult> {
  const error = `${failures.length} of ${table.file?.urls.length ?? failures.length} file(s) of ${table.name} failed, fetched again on the next run: ${failures.join('; ')}`;
  const log = deps.logger.child({ runId: run.runId, table: table.name });
  log.error({ failures }, error);
  const at = new Date((deps.now ?? Date.now)()).toISOString();
  const entry = deps.ledger.draft({ runId: run.runId, subject: table.name, activity: 'ingest-files', trigger: run.trigger, startedAt: at, ...(run.owner ? { owner: run.owner } : {}) });
  await deps.ledger.finish(entry, { status: 'failed', error, detail: `the other files: ${result.message}` }).catch((err: unknown) => log.error({ err }, 'could not record the failed files in the run ledger'));
  await deps.notifier
    .notify({ ...alert, severity: 'error', runId: run.runId, subject: table.name, title: `ingestion of ${table.name}: ${failures.length} file(s) failed`, detail: error })
    .catch((err: unknown) => log.error({ err }, 'notifier failed'));
  return { ...result, error, message: `${result.message}; ${error}` };
}
