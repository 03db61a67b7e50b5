import { scheduledSliceId } from '../bronze/bronzePaths.js';
import type { TableConfig } from '../config/pipelineConfig.js';
import type { Lake } from '../lake/lake.js';
import type { Logger } from '../logging/logger.js';
import { redactSecrets } from '../logging/redact.js';
import type { Notifier } from '../notify/notifier.js';
import type { Source } from '../source/source.js';
import { newLeaseOwner } from '../run/leaseOwner.js';
import { closeAbandoned } from '../state/closeAbandoned.js';
import type { RunLedger, RunStatus } from '../state/runLedger.js';
import type { WatermarkState, WatermarkStore } from '../state/watermarkStore.js';
import type { FaultHooks } from './faultHooks.js';
import type { SchemaDrift } from './schemaDrift.js';
import { describeDrift, detectDrift, snapshotColumns } from './schemaDrift.js';
import type { PendingSlice } from './slice.js';
import { sliceTotals } from './slice.js';
import { extractSlice } from './sliceExtractor.js';
import { resolveColumns } from './tableColumns.js';

export interface IngestDeps {
  source: Source;
  lake: Lake;
  watermarks: WatermarkStore;
  ledger: RunLedger;
  notifier: Notifier;
  logger: Logger;
  /** How long a run may hold a table before another may take over (ms). */
  leaseMs: number;
}

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

export interface TableRunResult {
  table: string;
  runId: string;
  status: Exclude<RunStatus, 'running' | 'abandoned'>;
  /** Rows, bytes and files of the slice (all its parts) when it committed; written so far otherwise. */
  rows: number;
  bytes: number;
  files: number;
  low: string | null;
  high: string | null;
  slice?: string;
  /** The run picked up a slice an earlier run left pending. */
  resumed: boolean;
  durationMs: number;
  message: string;
  error?: string;
  drift?: SchemaDrift;
}

/**
 * One incremental pass over one table: the ADF Lookup -> Copy -> Update-watermark loop, made
 * exactly-once. Lease the table; resume the pending slice or plan a new one from a safe upper
 * bound captured before reading; write parts; write the manifest; move the watermark last.
 */
export async function ingestTable(deps: IngestDeps, table: TableConfig, run: IngestRun): Promise<TableRunResult> {
  const started = Date.now();
  const log = deps.logger.child({ runId: run.runId, table: table.name });
  const owner = run.owner ?? newLeaseOwner('ingest');
  const activity = { runId: run.runId, subject: table.name, activity: 'ingest', trigger: run.trigger, startedAt: new Date(started).toISOString(), owner };
  // Written once the lease is taken: a run that is skipped, or dies before, leaves no running entry.
  const entry = deps.ledger.draft(activity);
  const result = (status: TableRunResult['status'], message: string, extra: Partial<TableRunResult> = {}): TableRunResult => ({
    table: table.name,
    runId: run.runId,
    status,
    rows: 0,
    bytes: 0,
    files: 0,
    low: null,
    high: null,
    resumed: false,
    durationMs: Date.now() - started,
    message,
    ...extra,
  });
  const finish = async (r: TableRunResult): Promise<TableRunResult> => {
    // The ledger records the outcome; failing to write it must not change or lose the outcome.
    await deps.ledger
      .finish(entry, {
        status: r.status,
        rows: r.rows,
        bytes: r.bytes,
        files: r.files,
        low: r.low,
        high: r.high,
        ...(r.slice ? { slice: r.slice } : {}),
        ...(r.error ? { error: r.error } : {}),
        detail: r.message,
      })
      .catch((err: unknown) => log.error({ err }, 'could not record the outcome in the run ledger'));
    const level = r.status === 'failed' ? 'error' : 'info';
    log[level]({ status: r.status, rows: r.rows, files: r.files, low: r.low, high: r.high, slice: r.slice, durationMs: r.durationMs }, r.message);
    return r;
  };

  const lease = await deps.watermarks.acquire(table.name, table.watermark.kind, { owner, holder: { runId: run.runId, subject: table.name, key: entry.key } }, deps.leaseMs);
  if (!lease.acquired) {
    return finish(result('skipped', `another run (${lease.holderRunId ?? 'unknown'}, lease owner ${lease.heldBy}) holds ${table.name} until ${lease.until}`));
  }
  let state: WatermarkState = lease.state;
  const renewed = (): WatermarkState['lease'] => ({ owner, expiresAt: new Date(Date.now() + deps.leaseMs).toISOString() });
  const save = async (next: Omit<WatermarkState, 'etag'>): Promise<void> => {
    state = await deps.watermarks.save({ ...next, etag: state.etag });
  };

  let pending: PendingSlice | null = state.pending;
  let drift: SchemaDrift | undefined;
  try {
    await deps.ledger.start(activity);
    if (lease.previous) await closeAbandoned(deps, lease.previous, { runId: run.runId, owner }, log);
    const described = await deps.source.describe(table);
    const columns = resolveColumns(deps.source.kind, table, described);
    drift = detectDrift(state.columns, snapshotColumns(described)) ?? undefined;
    if (drift) {
      log.warn({ drift }, `schema drift in ${table.schema}.${table.table}: ${describeDrift(drift)}`);
      await deps.notifier.notify({
        kind: 'schema-drift',
        severity: 'warning',
        runId: run.runId,
        subject: table.name,
        title: `schema of ${table.schema}.${table.table} changed`,
        detail: describeDrift(drift),
        lookAt: `bronze manifests under _manifests/${table.name}/`,
        key: `drift:${table.name}:${describeDrift(drift)}`,
      });
    }

    const resumed = pending !== null;
    if (pending) {
      log.info({ slice: pending.slice, plannedBy: pending.runId, parts: pending.parts.length }, 'resuming pending slice');
    } else {
      // The upper bound is fixed before a single row is read: rows that arrive during the copy wait for the next slice.
      const high = await deps.source.safeUpperBound(table, table.watermark, table.lagSeconds);
      const low = state.value;
      if (high === null || !(await deps.source.hasRows(table, table.watermark, { low, high }))) {
        await save({ ...state, lease: null, columns: snapshotColumns(described) });
        return finish(result('nochange', `no new rows in ${table.schema}.${table.table} up to ${high ?? '(empty table)'}; watermark stays at ${low ?? '(none)'}`, { low, high, ...(drift ? { drift } : {}) }));
      }
      const plannedAt = new Date().toISOString();
      pending = {
        slice: scheduledSliceId(state.seq + 1),
        kind: low === null ? 'initial' : 'incremental',
        low,
        high,
        runId: run.runId,
        plannedAt,
        loadDate: plannedAt.slice(0, 10),
        parts: [],
        after: null,
        exhausted: false,
      };
      await save({ ...state, pending, lease: renewed() });
      log.info({ slice: pending.slice, kind: pending.kind, low, high }, 'slice planned');
      await run.hooks?.checkpoint?.('pending-recorded', { table: table.name, slice: pending.slice });
    }

    const outcome = await extractSlice(
      { source: deps.source, lake: deps.lake, logger: log },
      { table, columns, slice: pending },
      async (slice) => {
        pending = slice;
        await save({ ...state, pending: slice, lease: renewed() });
      },
      { ...(run.deadline === undefined ? {} : { deadline: run.deadline }), ...(run.batchRows ? { batchRows: run.batchRows } : {}), ...(run.hooks ? { hooks: run.hooks } : {}) },
    );
    const slice = outcome.slice;
    const base = { low: slice.low, high: slice.high, slice: slice.slice, resumed, ...(drift ? { drift } : {}) };
    if (!outcome.done) {
      await save({ ...state, pending: slice, lease: null });
      const t = sliceTotals(slice);
      return finish(result('partial', `slice ${slice.slice} continues: ${t.files} parts, ${t.rows} rows so far`, { ...base, ...t }));
    }
    const committedAt = new Date().toISOString();
    await save({
      ...state,
      value: slice.high,
      seq: Number(slice.slice.slice(1)),
      pending: null,
      lease: null,
      columns: snapshotColumns(described),
      committedAt,
      lastRunId: run.runId,
    });
    await run.hooks?.checkpoint?.('committed', { table: table.name, slice: slice.slice });
    const t = sliceTotals(slice);
    const how = resumed ? `resumed slice ${slice.slice} (planned by ${slice.runId})` : `slice ${slice.slice}`;
    return finish(result('succeeded', `${how}: ${t.rows} rows in ${t.files} files; watermark ${slice.low ?? '(none)'} -> ${slice.high}`, { ...base, ...t }));
  } catch (err) {
    const message = redactSecrets(err instanceof Error ? err.message : String(err));
    // Give the table back at once so the next run resumes the pending slice without waiting for the lease to expire.
    await deps.watermarks.save({ ...state, ...(pending ? { pending } : {}), lease: null }).catch(() => undefined);
    await deps.notifier
      .notify({
        kind: 'ingestion-failed',
        severity: 'error',
        runId: run.runId,
        subject: table.name,
        title: `ingestion of ${table.name} failed`,
        detail: message,
        lookAt: `run ledger: subject ${table.name}, run ${run.runId}; logs filtered on runId=${run.runId}`,
        key: `ingest:${table.name}`,
      })
      .catch((e: unknown) => log.error({ err: e }, 'notifier failed'));
    const t = pending ? sliceTotals(pending) : { rows: 0, bytes: 0, files: 0 };
    return finish(
      result('failed', `ingestion of ${table.name} failed: ${message}`, {
        error: message,
        low: pending?.low ?? state.value,
        high: pending?.high ?? null,
        ...(pending ? { slice: pending.slice, resumed: pending.runId !== run.runId } : {}),
        ...t,
        ...(drift ? { drift } : {}),
      }),
    );
  }
}
