import pLimit from 'p-limit';
import type { TableConfig } from '../config/pipelineConfig.js';
import { selectTables } from '../config/pipelineConfig.js';
import type { BusyPolicy } from '../queue/busyDeferral.js';
import { deferForBusySource } from '../queue/busyDeferral.js';
import { newLeaseOwner } from '../run/leaseOwner.js';
import type { HeldSource, SourceRegistry } from '../source/sourceRegistry.js';
import type { Logger } from '../logging/logger.js';
import type { Notice } from '../notify/notifier.js';
import { reportPoison } from '../queue/reportPoison.js';
import { newRunId } from '../run/runId.js';
import type { BackfillLimits, BackfillPlan } from './backfillRequest.js';
import { cutWindow, planBackfill, sourceInstant } from './backfillRequest.js';
import { sizeChunks } from './chunkSizing.js';
import type { SliceBounds } from '../source/source.js';
import type { BackfillMessage, BackfillQueue } from './backfillMessage.js';
import { backfillMessageSchema } from './backfillMessage.js';
import type { BackfillHeader, BackfillStore, ChunkStatus, ChunkSummary } from './backfillStore.js';
import type { BackfillDeps, ChunkRunResult } from './runBackfillChunk.js';
import { runBackfillChunk } from './runBackfillChunk.js';

export interface BackfillSettings extends BackfillLimits {
  concurrency: number;
  /** Rows a chunk sized by row estimates holds about (INGEST_RANGE_ROWS; 0: fixed chunks only). */
  rowsPerChunk: number;
}

/** How long creating a backfill waits for a connection slot to ask for row estimates. */
const SIZING_WAIT_MS = 10_000;
/** The shortest chunk sizing cuts: a minute of even the busiest table is a modest chunk. */
const MIN_CHUNK_MS = 60_000;
/** Chunks sized by row estimates at most: their cuts are stored in one property of the header. */
const MAX_SIZED_CHUNKS = 5_000;
/** Planner estimates one sizing may ask for. */
const MAX_ESTIMATES = 2_000;

export interface BackfillStatus {
  id: string;
  table: string;
  from: string;
  to: string;
  runId: string;
  requestId: string | null;
  createdAt: string;
  /** How the chunks were sized (`auto` backfills), else null. */
  sizing: string | null;
  status: ChunkStatus;
  totals: { chunks: number; done: number; running: number; pending: number; failed: number; rows: number; files: number; bytes: number };
  chunks: { chunk: number; low: string; high: string; status: ChunkStatus; rows: number; files: number; bytes: number; attempts: number; error: string | null }[];
}

export function summarise(header: BackfillHeader, chunks: ChunkSummary[]): BackfillStatus {
  const count = (s: ChunkStatus): number => chunks.filter((c) => c.status === s).length;
  const totals = {
    chunks: header.chunks,
    done: count('done'),
    running: count('running'),
    pending: count('pending') + Math.max(0, header.chunks - chunks.length),
    failed: count('failed'),
    rows: chunks.reduce((n, c) => n + c.rows, 0),
    files: chunks.reduce((n, c) => n + c.files, 0),
    bytes: chunks.reduce((n, c) => n + c.bytes, 0),
  };
  const status: ChunkStatus = totals.done === totals.chunks ? 'done' : totals.failed > 0 ? 'failed' : totals.running > 0 || totals.done > 0 ? 'running' : 'pending';
  return {
    id: header.id,
    table: header.table,
    from: header.from,
    to: header.to,
    runId: header.runId,
    requestId: header.requestId,
    createdAt: header.createdAt,
    sizing: header.sizing,
    status,
    totals,
    chunks: chunks.map(({ chunk, low, high, status: s, rows, files, bytes, attempts, error }) => ({ chunk, low, high, status: s, rows, files, bytes, attempts, error })),
  };
}

/**
 * Backfills end to end: accept a request (idempotently), queue its chunks in lanes, run a chunk
 * and chain the next, report status. The HTTP functions, the queue function and the CLI all
 * come through here.
 */
export class BackfillService {
  constructor(
    private readonly deps: BackfillDeps & { backfillQueue: BackfillQueue; logger: Logger; sources: SourceRegistry; busy: BusyPolicy },
    private readonly settings: BackfillSettings,
  ) {}

  plan(body: unknown): BackfillPlan {
    return planBackfill(body, this.deps.config, this.settings);
  }

  /** Store the backfill (or find it again) and make sure every unfinished chunk is on its way. */
  async start(plan: BackfillPlan, options: { queue: boolean }): Promise<{ status: BackfillStatus; created: boolean }> {
    const now = new Date();
    const runId = newRunId('bf', now);
    // Sized once, when the backfill is created: asking again finds the stored chunks and asks the source nothing.
    const sized = plan.auto && !(await this.deps.backfills.header(plan.id)) ? await this.sizeChunks(plan, runId) : null;
    const cuts = sized?.cuts ?? null;
    const header: BackfillHeader = {
      id: plan.id,
      table: plan.table.name,
      from: plan.from.toISOString(),
      to: plan.to.toISOString(),
      chunkMs: plan.chunkMs,
      cuts,
      sizing: sized?.sizing ?? null,
      chunks: cutWindow({ ...plan, cuts }).length,
      requestId: plan.requestId,
      runId,
      createdAt: now.toISOString(),
      loadDate: now.toISOString().slice(0, 10),
    };
    const { header: stored, created } = await this.deps.backfills.createOrGet(header);
    const chunks = await this.deps.backfills.chunks(stored.id);
    if (options.queue) await this.queueLanes(stored, chunks);
    this.deps.logger.info({ runId: stored.runId, backfillId: stored.id, table: stored.table, chunks: stored.chunks, created }, created ? 'backfill accepted' : 'backfill requested again; unfinished chunks re-queued');
    return { status: summarise(stored, chunks), created };
  }

  /**
   * Chunks of about INGEST_RANGE_ROWS rows from the source's row estimates of the window, under a
   * connection slot of the table's source (waited for briefly). Anything that stands in the way
   * (no slot, no statistics, a source without estimates) leaves fixed chunks, and says why.
   */
  private async sizeChunks(plan: BackfillPlan, runId: string): Promise<{ cuts: number[] | null; sizing: string }> {
    const table = plan.table;
    const fields = { runId, backfillId: plan.id, table: table.name };
    const fixed = (reason: string): { cuts: null; sizing: string } => {
      // A reason can carry a driver's error text: kept short, it is stored on the header.
      const sizing = `fixed chunks of ${plan.chunkMs / 3_600_000} h: ${reason}`.slice(0, 1_000);
      this.deps.logger.warn(fields, `backfill ${plan.id} of ${table.name}: ${sizing}`);
      return { cuts: null, sizing };
    };
    const target = this.settings.rowsPerChunk;
    if (target <= 0) return fixed('INGEST_RANGE_ROWS is 0');
    let held: HeldSource;
    try {
      held = await this.deps.sources.openWaiting(table.source, newLeaseOwner('backfill'), `sizing backfill ${plan.id} of ${table.name}`, Date.now() + SIZING_WAIT_MS);
    } catch (err) {
      return fixed(`no row estimate (${(err as Error).message})`);
    }
    try {
      const { estimateRows } = held.source;
      if (!estimateRows) return fixed(`source ${table.source} gives no row estimates`);
      const windows = (w: [number, number][]): SliceBounds[] => w.map(([low, high]) => ({ low: sourceInstant(new Date(low)), high: sourceInstant(new Date(high)), window: 'closed-open' }));
      const r = await sizeChunks(plan.from.getTime(), plan.to.getTime(), (w) => estimateRows.call(held.source, table, table.watermark, windows(w)), {
        targetRows: target,
        minChunkMs: MIN_CHUNK_MS,
        maxChunks: Math.min(this.settings.maxChunks, MAX_SIZED_CHUNKS),
        maxEstimates: MAX_ESTIMATES,
      });
      if ('reason' in r) return fixed(`no row estimate: ${r.reason}`);
      const sizing = `${r.cuts.length + 1} chunks of about ${target} rows (estimate: ${r.estimatedRows} rows in the window)`;
      this.deps.logger.info({ ...fields, estimatedRows: r.estimatedRows, chunks: r.cuts.length + 1, largest: Math.max(...r.chunkRows) }, `backfill ${plan.id} of ${table.name}: ${sizing}`);
      return { cuts: r.cuts, sizing };
    } catch (err) {
      return fixed(`estimating rows failed: ${(err as Error).message}`);
    } finally {
      await held.release();
    }
  }

  private async queueLanes(header: BackfillHeader, chunks: ChunkSummary[]): Promise<void> {
    const lanes = Math.max(1, Math.min(this.settings.concurrency, header.chunks));
    const open = chunks.filter((c) => c.status !== 'done');
    for (let lane = 0; lane < lanes; lane++) {
      const first = open.find((c) => c.chunk % lanes === lane);
      if (first) await this.deps.backfillQueue.send({ backfillId: header.id, chunk: first.chunk, lanes });
    }
  }

  async status(id: string): Promise<BackfillStatus | null> {
    const header = await this.deps.backfills.header(id);
    return header ? summarise(header, await this.deps.backfills.chunks(id)) : null;
  }

  /** Backfills created since `since`, newest first, each with the state of its chunks (the console's list). */
  async recent(since: Date, limit: number): Promise<BackfillStatus[]> {
    const headers = await this.deps.backfills.recent(since, limit);
    return Promise.all(headers.map(async (h) => summarise(h, await this.deps.backfills.chunks(h.id))));
  }

  /** The table a backfill reads, or null when the backfill or its table is gone (the chunk run reports that). */
  private async tableOf(backfillId: string): Promise<TableConfig | null> {
    const header = await this.deps.backfills.header(backfillId);
    if (!header) return null;
    try {
      return selectTables(this.deps.config, [header.table])[0]!;
    } catch {
      return null;
    }
  }

  /** Run a chunk with a session of its table's source, held under a connection slot for the chunk's duration. */
  private async runHeld(held: HeldSource | null, backfillId: string, chunk: number, options: { owner?: string; deadline?: number }): Promise<ChunkRunResult> {
    try {
      return await runBackfillChunk(held ? { ...this.deps, source: held.source } : this.deps, backfillId, chunk, options);
    } finally {
      await held?.release();
    }
  }

  /**
   * Queue-triggered step: take a connection slot of the table's source (none free: the message
   * goes back with a delay), run the chunk, then hand the lane on (same chunk again if it ran out of time).
   */
  async runMessage(message: BackfillMessage, options: { owner?: string; deadline?: number }): Promise<ChunkRunResult> {
    const owner = options.owner ?? newLeaseOwner('backfill');
    const table = await this.tableOf(message.backfillId);
    const held = table ? await this.deps.sources.open(table.source, owner, `backfill ${message.backfillId} chunk ${message.chunk}`) : null;
    if (table && !held) {
      const what = `backfill ${message.backfillId} chunk ${message.chunk}`;
      const d = await deferForBusySource(this.deps.backfillQueue, message, { source: table.source, maxConnections: this.deps.sources.endpoint(table.source).maxConnections, policy: this.deps.busy, what, runId: message.backfillId, logger: this.deps.logger });
      return { backfillId: message.backfillId, chunk: message.chunk, status: 'deferred', rows: 0, files: 0, bytes: 0, message: d.message };
    }
    const result = await this.runHeld(held, message.backfillId, message.chunk, { ...options, owner });
    const { deferrals: _spent, ...next } = message;
    if (result.status === 'partial') {
      await this.deps.backfillQueue.send(next);
    } else if (result.status === 'done') {
      await this.handOn(next);
    }
    return result;
  }

  /** Queue the lane's next unfinished chunk after `message.chunk`, if any. */
  private async handOn(message: BackfillMessage): Promise<void> {
    const chunks = await this.deps.backfills.chunks(message.backfillId);
    const next = chunks.find((c) => c.chunk > message.chunk && c.chunk % message.lanes === message.chunk % message.lanes && c.status !== 'done');
    if (next) await this.deps.backfillQueue.send({ ...message, chunk: next.chunk });
  }

  /**
   * A chunk message the host gave up on (backfill poison queue): report it, then hand its lane
   * on, so one chunk that keeps failing does not strand the chunks queued behind it. The chunk
   * stays failed; requesting the same backfill again re-queues it.
   */
  async giveUp(payload: unknown, meta: { attempts: number }): Promise<Notice> {
    const { notice, message } = await reportPoison(
      this.deps,
      {
        queue: 'backfill',
        schema: backfillMessageSchema,
        describe: async (m, attempts) => {
          const [header, state] = await Promise.all([this.deps.backfills.header(m.backfillId), this.deps.backfills.chunk(m.backfillId, m.chunk)]);
          const table = header?.table ?? '_backfill';
          return {
            runId: header?.runId ?? 'unknown-run',
            subject: table,
            title: `backfill ${m.backfillId} of ${table}: chunk ${m.chunk} failed ${attempts} and was given up`,
            detail: `${state ? `window ${state.low} .. ${state.high}, last error: ${state.error ?? 'none recorded'}. ` : ''}The lane goes on with its next chunk; send the same backfill request again to retry this one.`,
            lookAt: `GET /api/backfill/${m.backfillId}; run ledger: subject ${table}, run ${header?.runId ?? 'unknown-run'}`,
          };
        },
      },
      payload,
      meta,
    );
    if (message) await this.handOn(message);
    return notice;
  }

  /**
   * In-process run of every unfinished chunk (the CLI): same chunk code, p-limit instead of a
   * queue. Each chunk gets a lease owner of its own, so a second process (or a second call)
   * working the same backfill skips the chunks this one holds instead of taking them over.
   */
  async runAll(id: string, options: { onChunk?: (r: ChunkRunResult) => void } = {}): Promise<BackfillStatus> {
    const chunks = await this.deps.backfills.chunks(id);
    const table = await this.tableOf(id);
    const limit = pLimit(this.settings.concurrency);
    await Promise.all(
      chunks
        .filter((c) => c.status !== 'done')
        .map((c) =>
          limit(async () => {
            const owner = newLeaseOwner('backfill');
            let r: ChunkRunResult;
            try {
              // No queue to defer to: wait for a slot, as long as a lease lasts.
              const held = table ? await this.deps.sources.openWaiting(table.source, owner, `backfill ${id} chunk ${c.chunk}`, Date.now() + this.deps.leaseMs) : null;
              r = await this.runHeld(held, id, c.chunk, { owner });
            } catch (err) {
              const error = (err as Error).message;
              r = { backfillId: id, chunk: c.chunk, status: 'failed', rows: 0, files: 0, bytes: 0, message: `chunk ${c.chunk} could not start: ${error}`, error };
            }
            options.onChunk?.(r);
          }),
        ),
    );
    return (await this.status(id))!;
  }
}
