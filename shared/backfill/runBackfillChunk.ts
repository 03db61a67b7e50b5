import { backfillSliceId } from '../bronze/bronzePaths.js';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import { selectTables } from '../config/pipelineConfig.js';
import type { IngestDeps } from '../extract/ingestTable.js';
import type { FaultHooks } from '../extract/faultHooks.js';
import type { PendingSlice } from '../extract/slice.js';
import { sliceTotals } from '../extract/slice.js';
import { extractSlice } from '../extract/sliceExtractor.js';
import { resolveColumns } from '../extract/tableColumns.js';
import { redactSecrets } from '../logging/redact.js';
import { newLeaseOwner } from '../run/leaseOwner.js';
import { closeAbandoned } from '../state/closeAbandoned.js';
import { ledgerKey } from '../state/runLedger.js';
import type { BackfillStore, ChunkState } from './backfillStore.js';

export interface ChunkRunResult {
  backfillId: string;
  chunk: number;
  status: 'done' | 'partial' | 'skipped' | 'failed';
  rows: number;
  files: number;
  bytes: number;
  message: string;
  error?: string;
}

export type BackfillDeps = IngestDeps & { config: PipelineConfig; backfills: BackfillStore };

/**
 * One chunk of a backfill: the same exactly-once slice machinery as a scheduled run, but the
 * pending slice and lease live on the chunk's own record, so the live watermark never moves.
 */
export async function runBackfillChunk(
  deps: BackfillDeps,
  backfillId: string,
  chunk: number,
  /** `owner`: the lease owner, unique per invocation (the host's invocation id); a fresh identity when omitted. */
  options: { owner?: string; deadline?: number; hooks?: FaultHooks },
): Promise<ChunkRunResult> {
  const header = await deps.backfills.header(backfillId);
  if (!header) throw new Error(`backfill ${backfillId} not found`);
  const log = deps.logger.child({ runId: header.runId, backfillId, chunk, table: header.table });
  const base = { backfillId, chunk, rows: 0, files: 0, bytes: 0 };
  const owner = options.owner ?? newLeaseOwner('backfill');
  const startedAt = new Date().toISOString();
  const activity = (attempt: number) => ({ runId: header.runId, subject: header.table, activity: `backfill-${backfillId}-c${chunk}-a${attempt}`, trigger: 'backfill', startedAt, owner });
  const claim = await deps.backfills.claim(
    backfillId,
    chunk,
    { owner, holder: (attempt) => ({ runId: header.runId, subject: header.table, key: ledgerKey(activity(attempt)) }) },
    deps.leaseMs,
  );
  if (!claim.claimed) {
    const message = claim.reason === 'done' ? 'chunk already done' : claim.reason === 'busy' ? `chunk held by ${claim.state?.lease?.owner}` : 'chunk does not exist';
    log.info({ reason: claim.reason }, message);
    const totals = claim.state ? { rows: claim.state.rows, files: claim.state.files, bytes: claim.state.bytes } : {};
    return { ...base, ...totals, status: 'skipped', message };
  }
  let state: ChunkState = claim.state;
  const [table] = selectTables(deps.config, [header.table]);
  const entry = await deps.ledger.start(activity(state.attempts));
  if (claim.previous) await closeAbandoned(deps, claim.previous, { runId: header.runId, owner }, log);
  const renewed = (): ChunkState['lease'] => ({ owner, expiresAt: new Date(Date.now() + deps.leaseMs).toISOString() });
  const slice: PendingSlice = state.pending ?? {
    slice: backfillSliceId(backfillId, chunk),
    kind: 'backfill',
    low: state.low,
    high: state.high,
    runId: header.runId,
    plannedAt: header.createdAt,
    loadDate: header.loadDate,
    parts: [],
    after: null,
    exhausted: false,
  };
  try {
    const columns = resolveColumns(deps.source.kind, table!, await deps.source.describe(table!));
    state = await deps.backfills.save({ ...state, pending: slice, lease: renewed() });
    const outcome = await extractSlice(
      { source: deps.source, lake: deps.lake, logger: log },
      { table: table!, columns, slice, backfillId },
      async (s) => {
        state = await deps.backfills.save({ ...state, pending: s, lease: renewed() });
      },
      { ...(options.deadline === undefined ? {} : { deadline: options.deadline }), ...(options.hooks ? { hooks: options.hooks } : {}) },
    );
    const totals = sliceTotals(outcome.slice);
    if (!outcome.done) {
      state = await deps.backfills.save({ ...state, status: 'pending', pending: outcome.slice, lease: null, ...totals });
      await deps.ledger.finish(entry, { status: 'partial', ...totals, slice: slice.slice, low: slice.low, high: slice.high });
      return { ...base, ...totals, status: 'partial', message: `chunk ${chunk} continues: ${totals.rows} rows so far` };
    }
    state = await deps.backfills.save({ ...state, status: 'done', pending: null, lease: null, error: null, ...totals });
    await deps.ledger.finish(entry, { status: 'succeeded', ...totals, slice: slice.slice, low: slice.low, high: slice.high });
    log.info(totals, `backfill chunk done: ${totals.rows} rows in ${totals.files} files`);
    return { ...base, ...totals, status: 'done', message: `chunk ${chunk} [${slice.low}, ${slice.high}): ${totals.rows} rows in ${totals.files} files` };
  } catch (err) {
    const message = redactSecrets(err instanceof Error ? err.message : String(err));
    await deps.backfills.save({ ...state, status: 'failed', error: message, lease: null }).catch(() => undefined);
    await deps.ledger.finish(entry, { status: 'failed', error: message, slice: slice.slice, low: slice.low, high: slice.high }).catch(() => undefined);
    log.error({ err }, `backfill chunk failed: ${message}`);
    await deps.notifier
      .notify({
        kind: 'backfill-chunk-failed',
        severity: 'error',
        runId: header.runId,
        subject: header.table,
        title: `backfill ${backfillId} of ${header.table}: chunk ${chunk} failed`,
        detail: message,
        lookAt: `GET /api/backfill/${backfillId}; run ledger subject ${header.table}, run ${header.runId}`,
        key: `backfill:${backfillId}:${chunk}`,
      })
      .catch(() => undefined);
    return { ...base, status: 'failed', message: `chunk ${chunk} failed: ${message}`, error: message };
  }
}
