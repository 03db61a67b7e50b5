import type { TableConfig } from '../config/pipelineConfig.js';
import type { Lake } from '../lake/lake.js';
import type { Logger } from '../logging/logger.js';
import { redactSecrets } from '../logging/redact.js';
import type { Notice, Notifier } from '../notify/notifier.js';
import { newLeaseOwner } from '../run/leaseOwner.js';
import type { Source, SourceColumn, SourceKind } from '../source/source.js';
import { closeAbandoned } from '../state/closeAbandoned.js';
import type { LedgerEntry, LedgerRecord, LedgerRef, RunLedger, RunStatus } from '../state/runLedger.js';
import { RecordChangedError } from '../state/tableErrors.js';
import { ledgerKey } from '../state/runLedger.js';
import type { ColumnSnapshot, Lease } from '../state/watermarkStore.js';
import type { FaultHooks } from './faultHooks.js';
import type { SchemaDrift } from './schemaDrift.js';
import { describeDrift, detectDrift, snapshotColumns } from './schemaDrift.js';
import type { PendingSlice } from './slice.js';
import { sliceTotals } from './slice.js';
import { extractSlice } from './sliceExtractor.js';
import { resolveColumns } from './tableColumns.js';

/** What every slice record holds, wherever it lives: the slice in flight, the lease, the ETag. */
export interface SliceRecord {
  pending: PendingSlice | null;
  lease: Lease | null;
  etag: string;
}

export type Totals = { rows: number; bytes: number; files: number };

export type Taken<R extends SliceRecord> =
  /** `attempt`: which attempt at this work this is (names its ledger activity); `previous`: the entry of the run that held it before. */
  | { taken: true; record: R; previous: LedgerRef | null; attempt: number }
  /** `reason`: for the log and the result; `totals`: what the record says was done already. */
  | { taken: false; reason: string; totals?: Totals };

/**
 * Port: the one record a slice's progress and lease live on (a table's watermark record, a
 * backfill chunk's record). Every write is conditional on the record's ETag: a write after the
 * lease was lost fails, and nothing else may then be written.
 */
export interface SliceStateStore<R extends SliceRecord> {
  /** Take the lease for `owner` unless another live owner holds it, recording `holder(attempt)` in the same write. */
  take(taker: { owner: string; holder: (attempt: number) => LedgerRef }, leaseMs: number, now: Date): Promise<Taken<R>>;
  /**
   * Write the whole record if nobody else wrote since it was read; returns it with the new ETag.
   * `addedParts`: the pending slice's last parts, not yet recorded, recorded in the same write
   * (both or neither). The record counts its parts; each part is stored on its own, never in a
   * list that grows inside the record.
   */
  save(record: R, addedParts?: number): Promise<R>;
  /** Remove the part records of a slice once the record no longer counts them (committed). */
  dropParts(record: R, slice: string): Promise<void>;
}

/** What the attempt reads the slice with: the source's kind and the columns resolved for it (what a manifest records). */
export interface SliceRead {
  kind: SourceKind;
  columns: SourceColumn[];
}

export type SlicePlan<R extends SliceRecord> =
  | { slice: PendingSlice; resumed: boolean }
  /**
   * Nothing to extract here: `record` is saved as it is (with the lease given back), and the run
   * says `nochange`; `partial` when the slice goes on elsewhere (in key ranges), `succeeded` when
   * saving the record is what commits it (the last range committed, the watermark not yet moved).
   */
  | { idle: R; low: string | null; high: string | null; message: string; status?: 'partial' | 'succeeded'; totals?: Totals };

/**
 * What differs between a scheduled slice and a backfill chunk; everything else is the runner's.
 * Each member is small: where the state lives, how a slice is planned, what commit means, how
 * a failure is alerted.
 */
export interface SliceKind<R extends SliceRecord> {
  /** `ingest` or `backfill`: the lease owner's prefix when the caller gives none. */
  name: string;
  /** How logs, results and alerts name the work: `ingestion of fact_streams`. */
  label: string;
  store: SliceStateStore<R>;
  /** The ledger activity of an attempt. */
  activity(attempt: number): string;
  /**
   * The activity recorded for an attempt that never held the lease (skipped, or failed before
   * it): scheduled runs record one; backfill chunks do not, their status lives on the chunk.
   */
  unleasedActivity: string | null;
  /** The columns of the live table's last committed slice: what schema drift is measured against. */
  driftReference(record: R): Promise<ColumnSnapshot[] | null>;
  /** Resume the pending slice, plan a new one (its upper bound fixed before a row is read), or find nothing to do. */
  plan(record: R, columns: ColumnSnapshot[], read: SliceRead): Promise<SlicePlan<R>>;
  /** The record once every part and the manifest are written: what committing means here, and what to say. */
  commit(record: R, slice: PendingSlice, context: { columns: ColumnSnapshot[]; resumed: boolean; at: Date; read: SliceRead }): { record: R; message: string };
  /** The record when the attempt stops short of committing, lease given back: partial (slice continues) or failed. */
  release(record: R, slice: PendingSlice | null, stop: { status: 'partial' } | { status: 'failed'; error: string }): R;
  /** The alert for a failed attempt. */
  failureAlert: Pick<Notice, 'kind' | 'lookAt' | 'key'>;
  /** Recorded in the manifest of a backfilled slice. */
  backfillId?: string;
  /** False for a key range: it writes no manifest of its own, its slice's finisher writes one for every range (rangeLoad.ts). */
  ownManifest?: boolean;
}

export interface SliceRunnerDeps {
  /** The deployment's SQL source: what a table reads unless `sourceFor` says otherwise. */
  source: Source;
  /** The source a table reads when the catalog names one (files over HTTP); `source` when absent or undefined. */
  sourceFor?: (table: TableConfig) => Source | undefined;
  lake: Lake;
  ledger: RunLedger;
  notifier: Notifier;
  logger: Logger;
  /** How long a run may hold its work before another may take over (ms). */
  leaseMs: number;
  /** The clock leases and ledger times are read from (epoch ms); the system clock when absent. */
  now?: () => number;
}

export interface SliceJob<R extends SliceRecord> {
  runId: string;
  table: TableConfig;
  /** What started the run: schedule, cli, queue, backfill ... */
  trigger: string;
  /**
   * Who holds the lease for this call: unique per invocation (the host's invocation id), a fresh
   * identity when omitted. Never the run id, which two deliveries of a message share.
   */
  owner?: string;
  kind: SliceKind<R>;
  /** Log fields besides the run id and the table. */
  logFields?: Record<string, unknown>;
  /** Epoch ms after which the run stops at the next part boundary and reports `partial`. */
  deadline?: number;
  batchRows?: number;
  hooks?: FaultHooks;
}

export interface SliceRunResult {
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
 * Run one slice under a lease, exactly once, for any kind of slice: take the lease; record the
 * attempt in the ledger and close the entry of a run that died holding it; check the columns
 * and report schema drift; plan (or resume) the slice and record it as pending before a row is
 * read; write the parts, saving progress after each; commit. Any failure gives the lease back,
 * is alerted and recorded, and becomes a `failed` result: nothing this function does rejects.
 */
export async function runSlice<R extends SliceRecord>(deps: SliceRunnerDeps, job: SliceJob<R>): Promise<SliceRunResult> {
  const now = deps.now ?? Date.now;
  const started = now();
  const { kind, table } = job;
  const log = deps.logger.child({ runId: job.runId, table: table.name, ...job.logFields });
  const owner = job.owner ?? newLeaseOwner(kind.name);
  const activity = (name: string): Omit<LedgerEntry, 'status'> => ({ runId: job.runId, subject: table.name, activity: name, trigger: job.trigger, startedAt: new Date(started).toISOString(), owner });
  const renewed = (): Lease => ({ owner, expiresAt: new Date(now() + deps.leaseMs).toISOString() });

  let entry: LedgerRecord | null = kind.unleasedActivity === null ? null : deps.ledger.draft(activity(kind.unleasedActivity));
  let record: R | null = null;
  let slice: PendingSlice | null = null;
  let resumed = false;
  /** The commit is written: nothing after it may give the slice back as pending. */
  let commitWritten = false;
  let drift: SchemaDrift | undefined;
  const save = async (next: R, addedParts = 0): Promise<void> => {
    record = await kind.store.save({ ...next, etag: record!.etag }, addedParts);
  };
  const result = (status: SliceRunResult['status'], message: string, extra: Partial<SliceRunResult> = {}): SliceRunResult => ({
    table: table.name,
    runId: job.runId,
    status,
    rows: 0,
    bytes: 0,
    files: 0,
    low: null,
    high: null,
    resumed: false,
    durationMs: now() - started,
    message,
    ...(drift ? { drift } : {}),
    ...extra,
  });
  /** The attempt's ledger entry being written; the outcome is written after it, never before. */
  let ledgerStart: Promise<unknown> = Promise.resolve();
  const finish = async (r: SliceRunResult): Promise<SliceRunResult> => {
    // The ledger records the outcome; failing to write it must not change or lose the outcome.
    if (entry) {
      await ledgerStart.catch(() => undefined);
      const outcome = { status: r.status, rows: r.rows, bytes: r.bytes, files: r.files, low: r.low, high: r.high, ...(r.slice ? { slice: r.slice } : {}), ...(r.error ? { error: r.error } : {}), detail: r.message };
      await deps.ledger.finish(entry, outcome).catch((err: unknown) => log.error({ err }, `could not record the outcome (${r.status}) in the run ledger`));
    }
    const level = r.status === 'failed' ? 'error' : 'info';
    log[level]({ status: r.status, rows: r.rows, files: r.files, low: r.low, high: r.high, slice: r.slice, durationMs: r.durationMs }, r.message);
    return r;
  };

  try {
    const take = () => kind.store.take({ owner, holder: (attempt) => ({ runId: job.runId, subject: table.name, key: ledgerKey(activity(kind.activity(attempt))) }) }, deps.leaseMs, new Date(now()));
    const taken = await take();
    if (!taken.taken) return await finish(result('skipped', taken.reason, taken.totals ?? {}));
    record = taken.record;
    const attempt = activity(kind.activity(taken.attempt));
    entry = deps.ledger.draft(attempt);
    // Recorded while the source is described and the slice planned (reads only); awaited before
    // the record is written again, so a run whose attempt could not be recorded writes nothing.
    ledgerStart = deps.ledger.start(attempt);
    ledgerStart.catch(() => undefined);
    if (taken.previous) await closeAbandoned(deps, taken.previous, { runId: job.runId, owner }, log);

    const source = sourceOf(deps, table);
    const reference = await kind.driftReference(record);
    const described = await source.describe(table, reference);
    const columns = resolveColumns(source.kind, table, described);
    const snapshot = snapshotColumns(described);
    drift = detectDrift(reference, snapshot) ?? undefined;
    if (drift) await reportDrift(deps, log, job, drift);

    const read: SliceRead = { kind: source.kind, columns };
    let plan = await kind.plan(record, snapshot, read);
    await ledgerStart;
    for (let replans = 0; 'idle' in plan; replans++) {
      try {
        await save(plan.idle);
        return await finish(result(plan.status ?? 'nochange', plan.message, { low: plan.low, high: plan.high, ...(plan.totals ?? {}) }));
      } catch (err) {
        // The record changed while this run held its lease: a key range's commit counts itself on
        // its table's record without the table's lease. The plan was made on what is now stale:
        // take the lease again (still ours unless another run took the work) and plan anew,
        // rather than report a failure that is none. Another owner's lease is a real loss.
        if (!(err instanceof RecordChangedError) || replans >= MAX_REPLANS) throw err;
        const again = await take();
        if (!again.taken) throw err;
        log.info({ replans: replans + 1 }, 'the record changed under the lease (a key range committed); planning again');
        record = again.record;
        plan = await kind.plan(record, snapshot, read);
      }
    }
    // `slice` is always what the record holds: set once a save succeeded, so a failure gives back only recorded progress.
    await save({ ...record, pending: plan.slice, lease: renewed() });
    slice = plan.slice;
    resumed = plan.resumed;
    if (resumed) {
      log.info({ slice: slice.slice, plannedBy: slice.runId, parts: slice.parts.length }, 'resuming pending slice');
    } else {
      log.info({ slice: slice.slice, kind: slice.kind, low: slice.low, high: slice.high }, 'slice planned');
      await job.hooks?.checkpoint?.('pending-recorded', { table: table.name, slice: slice.slice });
    }

    const outcome = await extractSlice(
      { source, lake: deps.lake, logger: log },
      { table, columns, slice, backfillId: kind.backfillId ?? null, manifest: kind.ownManifest !== false },
      async (progress) => {
        await save({ ...record!, pending: progress, lease: renewed() }, progress.files - slice!.files);
        slice = progress;
      },
      { ...(job.deadline === undefined ? {} : { deadline: job.deadline }), ...(job.batchRows ? { batchRows: job.batchRows } : {}), ...(job.hooks ? { hooks: job.hooks } : {}), now },
    );
    slice = outcome.slice;
    const done = { low: slice.low, high: slice.high, slice: slice.slice, resumed, ...sliceTotals(slice) };
    if (!outcome.done) {
      await save(kind.release(record, slice, { status: 'partial' }));
      return await finish(result('partial', `slice ${slice.slice} continues: ${done.files} parts, ${done.rows} rows so far`, done));
    }
    const committed = kind.commit(record, slice, { columns: snapshot, resumed, at: new Date(now()), read });
    await save(committed.record);
    commitWritten = true;
    const finished = slice.slice;
    // Housekeeping, beside the ledger's write: the committed record no longer counts these parts, so a leftover is never read.
    const dropping = kind.store.dropParts(record, finished).catch((err: unknown) => log.warn({ err, slice: finished }, 'could not remove the part records of the committed slice; they are never read again'));
    await job.hooks?.checkpoint?.('committed', { table: table.name, slice: slice.slice });
    const [succeeded] = await Promise.all([finish(result('succeeded', committed.message, done)), dropping]);
    return succeeded;
  } catch (err) {
    const message = redactSecrets(err instanceof Error ? err.message : String(err));
    // Give the work back at once, so the next run resumes the pending slice without waiting for
    // the lease to expire. After a lost lease this write fails too, as it must.
    const held: R | null = record;
    // After the commit the record holds no slice and no lease: giving the slice back would make
    // it pending again, and a key range resumed from there would be counted a second time.
    if (held && !commitWritten) await giveBack(kind, held, slice, message, log);
    await deps.notifier
      .notify({ ...kind.failureAlert, severity: 'error', runId: job.runId, subject: table.name, title: `${kind.label} failed`, detail: message })
      .catch((e: unknown) => log.error({ err: e }, 'notifier failed'));
    // The slice this attempt worked on, or the one it found pending when it failed before resuming it.
    const progress: PendingSlice | null = slice ?? held?.pending ?? null;
    return finish(
      result('failed', `${kind.label} failed: ${message}`, {
        error: message,
        ...(progress ? { low: progress.low, high: progress.high, slice: progress.slice, resumed: slice ? resumed : progress.runId !== job.runId, ...sliceTotals(progress) } : {}),
      }),
    );
  }
}

/** Plans of a run, one after another, whose record kept changing under its lease before it gives up. */
const MAX_REPLANS = 5;

/** The source a table reads. */
export function sourceOf(deps: Pick<SliceRunnerDeps, 'source' | 'sourceFor'>, table: TableConfig): Source {
  return deps.sourceFor?.(table) ?? deps.source;
}

/**
 * The failed attempt's lease goes back with its recorded progress and error. That write cannot
 * fail the way the attempt did: `slice` is only ever progress storage has already accepted (it
 * is set after each successful save), never the write that failed. Should it fail anyway for
 * any reason but a lost lease (a transient error, an error text the service refuses), the lease
 * must not stay held until it expires, or every retry is turned away: one more try with the
 * record as last saved, lease cleared and a short error.
 */
async function giveBack<R extends SliceRecord>(kind: SliceKind<R>, held: R, slice: PendingSlice | null, message: string, log: Logger): Promise<void> {
  try {
    await kind.store.save(kind.release(held, slice, { status: 'failed', error: message }));
    return;
  } catch (err) {
    // Another run holds the work now: nothing of this attempt may be written, as it must be.
    if (err instanceof RecordChangedError) return void log.warn({ err }, 'could not give the lease back: another run has taken the work over');
    log.warn({ err }, 'could not give the lease back with the attempt\'s progress; giving back the record as last saved');
  }
  await kind.store
    .save(kind.release(held, null, { status: 'failed', error: message.slice(0, 1_000) }))
    .catch((e: unknown) => log.warn({ err: e }, 'could not give the lease back; it expires on its own'));
}

/** Drift is logged, alerted (one alert per change, however many runs see it) and returned with the result; it never stops the slice. */
async function reportDrift(deps: SliceRunnerDeps, log: Logger, job: SliceJob<SliceRecord>, drift: SchemaDrift): Promise<void> {
  const { table } = job;
  const what = describeDrift(drift);
  log.warn({ drift }, `schema drift in ${table.schema}.${table.table}: ${what}`);
  await deps.notifier
    .notify({
      kind: 'schema-drift',
      severity: 'warning',
      runId: job.runId,
      subject: table.name,
      title: `schema of ${table.schema}.${table.table} changed`,
      detail: what,
      lookAt: `bronze manifests under _manifests/${table.name}/`,
      key: `drift:${table.name}:${what}`,
    })
    .catch((err: unknown) => log.error({ err }, 'notifier failed'));
}
