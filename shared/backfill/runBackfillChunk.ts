import { backfillSliceId } from '../bronze/bronzePaths.js';
import type { PipelineConfig, TableConfig } from '../config/pipelineConfig.js';
import { selectTables } from '../config/pipelineConfig.js';
import type { IngestDeps } from '../extract/ingestTable.js';
import type { FaultHooks } from '../extract/faultHooks.js';
import { plannedSlice, sliceTotals } from '../extract/slice.js';
import type { SchemaDrift } from '../extract/schemaDrift.js';
import type { SliceKind } from '../extract/sliceRunner.js';
import { runSlice } from '../extract/sliceRunner.js';
import { redactSecrets } from '../logging/redact.js';
import type { BackfillHeader, BackfillStore, ChunkState } from './backfillStore.js';

export interface ChunkRunResult {
  backfillId: string;
  chunk: number;
  /** `deferred`: not run; its source had no free connection slot and the message went back to the queue. */
  status: 'done' | 'partial' | 'skipped' | 'failed' | 'deferred';
  rows: number;
  files: number;
  bytes: number;
  message: string;
  error?: string;
  /** The source table's columns changed since the live table's last committed slice. */
  drift?: SchemaDrift;
}

export type BackfillDeps = IngestDeps & { config: PipelineConfig; backfills: BackfillStore };

/**
 * One chunk of a backfill: the same slice runner as a scheduled run, but the pending slice and
 * lease live on the chunk's own record, the slice is the chunk's fixed window, and committing
 * marks the chunk done, so the live watermark never moves. Never rejects: a chunk that cannot
 * even start (its backfill or table gone, storage down) is a `failed` result like any other.
 */
export async function runBackfillChunk(
  deps: BackfillDeps,
  backfillId: string,
  chunk: number,
  /** `owner`: the lease owner, unique per invocation (the host's invocation id); a fresh identity when omitted. */
  options: { owner?: string; deadline?: number; hooks?: FaultHooks },
): Promise<ChunkRunResult> {
  let header: BackfillHeader;
  let table: TableConfig;
  try {
    const found = await deps.backfills.header(backfillId);
    if (!found) throw new Error(`backfill ${backfillId} not found`);
    header = found;
    [table] = selectTables(deps.config, [header.table]) as [TableConfig];
  } catch (err) {
    const error = redactSecrets(err instanceof Error ? err.message : String(err));
    deps.logger.error({ backfillId, chunk, err }, `backfill ${backfillId} chunk ${chunk} could not start: ${error}`);
    return { backfillId, chunk, status: 'failed', rows: 0, files: 0, bytes: 0, message: `chunk ${chunk} could not start: ${error}`, error };
  }

  const kind: SliceKind<ChunkState> = {
    name: 'backfill',
    label: `backfill ${backfillId} of ${header.table}: chunk ${chunk}`,
    store: {
      take: async (taker, leaseMs, at) => {
        const claim = await deps.backfills.claim(backfillId, chunk, taker, leaseMs, at);
        if (claim.claimed) return { taken: true, record: claim.state, previous: claim.previous, attempt: claim.state.attempts };
        const reason = claim.reason === 'done' ? 'chunk already done' : claim.reason === 'busy' ? `chunk held by ${claim.state?.lease?.owner ?? 'another run'}` : 'chunk does not exist';
        return { taken: false, reason, ...(claim.state ? { totals: { rows: claim.state.rows, files: claim.state.files, bytes: claim.state.bytes } } : {}) };
      },
      save: (state, addedParts) => deps.backfills.save(state, addedParts),
      dropParts: async (state, slice) => void (await deps.backfills.dropParts(state, slice)),
    },
    activity: (attempt) => `backfill-${backfillId}-c${chunk}-a${attempt}`,
    // A chunk that is done or held elsewhere is no run of its own: the chunk's status says it.
    unleasedActivity: null,
    // Read, never written: a backfill reports drift against the live table and leaves its record alone.
    driftReference: async () => (await deps.watermarks.get(table.name))?.columns ?? null,
    plan: async (state) => {
      if (state.pending) return { slice: state.pending, resumed: true };
      const slice = plannedSlice({ slice: backfillSliceId(backfillId, chunk), kind: 'backfill', low: state.low, high: state.high, runId: header.runId, plannedAt: header.createdAt, loadDate: header.loadDate });
      return { slice, resumed: false };
    },
    commit: (state, slice) => {
      const t = sliceTotals(slice);
      return {
        record: { ...state, status: 'done', pending: null, lease: null, error: null, ...t },
        message: `chunk ${chunk} [${slice.low}, ${slice.high}): ${t.rows} rows in ${t.files} files`,
      };
    },
    release: (state, slice, stop) =>
      stop.status === 'partial'
        ? { ...state, status: 'pending', pending: slice, lease: null, ...(slice ? sliceTotals(slice) : {}) }
        : { ...state, status: 'failed', error: stop.error, ...(slice ? { pending: slice } : {}), lease: null },
    failureAlert: {
      kind: 'backfill-chunk-failed',
      lookAt: `GET /api/backfill/${backfillId}; run ledger subject ${header.table}, run ${header.runId}`,
      key: `backfill:${backfillId}:${chunk}`,
    },
    backfillId,
  };
  const r = await runSlice(deps, {
    runId: header.runId,
    table,
    trigger: 'backfill',
    kind,
    logFields: { backfillId, chunk },
    ...(options.owner ? { owner: options.owner } : {}),
    ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });
  const status = r.status === 'succeeded' || r.status === 'nochange' ? 'done' : r.status;
  return { backfillId, chunk, status, rows: r.rows, files: r.files, bytes: r.bytes, message: r.message, ...(r.error ? { error: r.error } : {}), ...(r.drift ? { drift: r.drift } : {}) };
}
