import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import type { PendingSlice, SliceProgress } from '../extract/slice.js';
import { BELOW_PARTS, dropParts, loadParts, recordLegacyParts, replaceRecordingParts } from '../state/partEntities.js';
import { decodeProgress, encodeProgress } from '../state/progressProperty.js';
import type { LedgerRef } from '../state/runLedger.js';
import type { Lease } from '../state/watermarkStore.js';
import { ensureTable, isConflict, isNotFound, isPreconditionFailed, RecordChangedError } from '../state/tableErrors.js';
import { cutWindow } from './backfillRequest.js';

export type ChunkStatus = 'pending' | 'running' | 'done' | 'failed';

export interface BackfillHeader {
  id: string;
  table: string;
  from: string;
  to: string;
  chunkMs: number;
  /** Where chunks sized by row estimates are cut (epoch ms, increasing); null for fixed `chunkMs` chunks. */
  cuts: number[] | null;
  /** How the chunks were sized, for whoever reads the status (`auto` backfills). */
  sizing: string | null;
  chunks: number;
  requestId: string | null;
  /** Run id of the backfill: every chunk's log lines, ledger rows and alerts carry it. */
  runId: string;
  createdAt: string;
  /** The `load_date=` folder of every backfilled file. */
  loadDate: string;
}

export interface ChunkState {
  backfillId: string;
  chunk: number;
  low: string;
  high: string;
  status: ChunkStatus;
  rows: number;
  bytes: number;
  files: number;
  attempts: number;
  error: string | null;
  pending: PendingSlice | null;
  lease: Lease | null;
  /** The ledger entry of the attempt that took the chunk last; kept after it gives the lease back. */
  holder: LedgerRef | null;
  updatedAt: string;
  etag: string;
}

/** A chunk as a listing shows it: its pending slice's plan and totals, without its parts. */
export type ChunkSummary = Omit<ChunkState, 'pending'> & { pending: SliceProgress | null };

export class ChunkLeaseLostError extends RecordChangedError {
  constructor(id: string, chunk: number) {
    super(`backfill ${id} chunk ${chunk} changed under this run (lease lost)`);
    this.name = 'ChunkLeaseLostError';
  }
}

const HEADER = 'backfill';
/**
 * A copy of each header under the day it was created, newest first, so the console's list reads
 * a few small partitions instead of scanning every backfill's chunks (ids are 12 hex characters:
 * never `day|...`).
 */
const dayPartition = (iso: string): string => `day|${iso.slice(0, 10)}`;
const newestFirst = (iso: string, id: string): string => `${String(9_999_999_999_999 - new Date(iso).getTime()).padStart(13, '0')}-${id}`;
const DAY_MS = 86_400_000;
const chunkKey = (chunk: number): string => `c${String(chunk).padStart(5, '0')}`;
// An error is for people: the first part of a long one is enough, and it must never be what makes the record unwritable.
const MAX_ERROR_CHARS = 4_000;

type ChunkEntity = Omit<ChunkState, 'pending' | 'lease' | 'holder' | 'etag' | 'error' | 'backfillId'> & {
  partitionKey: string;
  rowKey: string;
  error?: string;
  pending?: string;
  holder?: string;
  leaseOwner?: string;
  leaseExpiresAt?: string;
};

function toChunkEntity(s: Omit<ChunkState, 'etag'>): ChunkEntity {
  const { pending, lease, holder, error, backfillId, ...rest } = s;
  return {
    ...rest,
    partitionKey: backfillId,
    rowKey: chunkKey(s.chunk),
    ...(error ? { error: error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}...` : error } : {}),
    ...(pending ? { pending: encodeProgress(pending, `pending slice of backfill ${backfillId} chunk ${s.chunk}`) } : {}),
    ...(holder ? { holder: JSON.stringify(holder) } : {}),
    ...(lease ? { leaseOwner: lease.owner, leaseExpiresAt: lease.expiresAt } : {}),
  };
}

function fromChunkEntity(e: TableEntityResult<ChunkEntity>): ChunkSummary & { legacyParts?: PendingSlice } {
  const pending = e.pending ? decodeProgress(e.pending) : null;
  return {
    backfillId: e.partitionKey!,
    chunk: Number(e.chunk),
    low: e.low,
    high: e.high,
    status: e.status,
    rows: Number(e.rows ?? 0),
    bytes: Number(e.bytes ?? 0),
    files: Number(e.files ?? 0),
    attempts: Number(e.attempts ?? 0),
    error: e.error ?? null,
    pending: pending?.progress ?? null,
    ...(pending?.legacyParts ? { legacyParts: pending.legacyParts } : {}),
    lease: e.leaseOwner && e.leaseExpiresAt ? { owner: e.leaseOwner, expiresAt: e.leaseExpiresAt } : null,
    holder: e.holder ? (JSON.parse(e.holder) as LedgerRef) : null,
    updatedAt: e.updatedAt,
    etag: e.etag,
  };
}

export type ChunkClaim =
  /** `previous`: the ledger entry of the attempt that held the chunk before. */
  | { claimed: true; state: ChunkState; previous: LedgerRef | null }
  | { claimed: false; reason: 'done' | 'busy' | 'missing'; state?: ChunkState };

/**
 * Backfills in Table Storage: one partition per backfill, a header row and a row per chunk.
 * A chunk carries its own pending slice and lease, exactly like a table's watermark record,
 * and never touches the live watermark.
 */
export class BackfillStore {
  constructor(private readonly client: TableClient) {}

  async ensure(options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    await ensureTable(this.client, options);
  }

  /**
   * Create the backfill and its chunks, or return the existing one with that id (requests are
   * idempotent). The chunks are always those of the stored header: a request that lost the race to
   * create it, or heals a creation cut short, adds the winner's windows, never its own.
   */
  async createOrGet(header: BackfillHeader): Promise<{ header: BackfillHeader; created: boolean }> {
    let created = true;
    try {
      await this.client.createEntity({ partitionKey: header.id, rowKey: HEADER, ...toHeaderEntity(header) });
    } catch (err) {
      if (!isConflict(err)) throw err;
      created = false;
    }
    const existing = created ? header : await this.header(header.id);
    if (!existing) throw new Error(`backfill ${header.id} vanished while being created`);
    // Upserted on every request, so a crash between the header and its copy heals on the next one.
    await this.client.upsertEntity({ partitionKey: dayPartition(existing.createdAt), rowKey: newestFirst(existing.createdAt, existing.id), ...toHeaderEntity(existing) }, 'Replace');
    const windows = cutWindow({ from: new Date(existing.from), to: new Date(existing.to), chunkMs: existing.chunkMs, cuts: existing.cuts });
    // Chunks are (re)inserted one by one, ignoring those that exist: a crash halfway through creation heals on the next request.
    const now = new Date().toISOString();
    const have = new Set((await this.chunks(header.id)).map((c) => c.chunk));
    for (const w of windows) {
      if (have.has(w.chunk)) continue;
      const chunk: Omit<ChunkState, 'etag'> = { backfillId: header.id, chunk: w.chunk, low: w.low, high: w.high, status: 'pending', rows: 0, bytes: 0, files: 0, attempts: 0, error: null, pending: null, lease: null, holder: null, updatedAt: now };
      try {
        await this.client.createEntity(toChunkEntity(chunk));
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    return { header: existing, created };
  }

  async header(id: string): Promise<BackfillHeader | null> {
    try {
      return fromHeaderEntity(id, await this.client.getEntity<Record<string, unknown>>(id, HEADER));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * Backfills created at or after `since`, newest first, at most `limit`: the day partitions of
   * the header copies, newest day first, never the table (whose chunk rows grow with every
   * backfill ever made). Backfills created before these copies existed are found by id only.
   */
  async recent(since: Date, limit: number, now = new Date()): Promise<BackfillHeader[]> {
    const out: BackfillHeader[] = [];
    const first = Date.parse(since.toISOString().slice(0, 10));
    for (let day = now.getTime(); day >= first && out.length < limit; day -= DAY_MS) {
      const filter = odata`PartitionKey eq ${dayPartition(new Date(day).toISOString())} and createdAt ge ${since.toISOString()}`;
      for await (const e of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        out.push(fromHeaderEntity(String(e.id), e));
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  /** Every chunk of a backfill; pending slices with their totals, not their parts. */
  async chunks(id: string): Promise<ChunkSummary[]> {
    const out: ChunkSummary[] = [];
    const filter = `PartitionKey eq '${id.replaceAll("'", "''")}' and RowKey ne '${HEADER}' and RowKey lt '${BELOW_PARTS}'`;
    for await (const e of this.client.listEntities<ChunkEntity>({ queryOptions: { filter } })) {
      const { legacyParts: _legacy, ...chunk } = fromChunkEntity(e);
      out.push(chunk);
    }
    return out.sort((a, b) => a.chunk - b.chunk);
  }

  /** One chunk with its pending slice's parts (read from their entities). */
  async chunk(id: string, chunk: number): Promise<ChunkState | null> {
    let found: ReturnType<typeof fromChunkEntity>;
    try {
      found = fromChunkEntity(await this.client.getEntity<ChunkEntity>(id, chunkKey(chunk)));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const { legacyParts, ...state } = found;
    if (legacyParts) return { ...state, pending: await recordLegacyParts(this.client, id, chunkKey(chunk), legacyParts) };
    return { ...state, pending: state.pending ? await loadParts(this.client, id, chunkKey(chunk), state.pending) : null };
  }

  /**
   * Take a chunk for `owner` (unique per invocation) unless it is done or another live run holds
   * it, and record `holder(attempt)`, the taker's ledger entry for that attempt, in the same write.
   */
  async claim(id: string, chunk: number, taker: { owner: string; holder: (attempt: number) => LedgerRef }, leaseMs: number, now = new Date()): Promise<ChunkClaim> {
    const { owner } = taker;
    for (let attempt = 0; attempt < 5; attempt++) {
      const state = await this.chunk(id, chunk);
      if (!state) return { claimed: false, reason: 'missing' };
      if (state.status === 'done') return { claimed: false, reason: 'done', state };
      if (state.lease && state.lease.owner !== owner && new Date(state.lease.expiresAt) > now) return { claimed: false, reason: 'busy', state };
      try {
        const lease = { owner, expiresAt: new Date(now.getTime() + leaseMs).toISOString() };
        const holder = taker.holder(state.attempts + 1);
        const previous = state.holder && state.holder.key !== holder.key ? state.holder : null;
        return { claimed: true, state: await this.save({ ...state, status: 'running', lease, holder, attempts: state.attempts + 1 }), previous };
      } catch (err) {
        if (err instanceof ChunkLeaseLostError) continue;
        throw err;
      }
    }
    return { claimed: false, reason: 'busy' };
  }

  /** Write the chunk if nobody else wrote since it was read, with `addedParts`, the pending slice's last unrecorded parts, in the same transaction. */
  async save(state: ChunkState, addedParts = 0): Promise<ChunkState> {
    const next = { ...state, updatedAt: new Date().toISOString() };
    try {
      return { ...next, etag: await replaceRecordingParts(this.client, toChunkEntity(next), state.etag, state.pending, addedParts) };
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) throw new ChunkLeaseLostError(state.backfillId, state.chunk);
      throw err;
    }
  }

  /** Remove the part records of a chunk's slice once the chunk is done. */
  dropParts(state: ChunkState, slice: string): Promise<number> {
    return dropParts(this.client, state.backfillId, chunkKey(state.chunk), slice);
  }
}

/**
 * Cuts as one property: whole seconds between consecutive cuts, base 36, comma-separated (about
 * four characters a chunk), so the 5,000 chunks a sized backfill may have stay well inside the
 * 32K characters Table Storage allows a string property. `s:` alone: sized as one chunk.
 */
function encodeCuts(from: string, cuts: number[]): string {
  let at = Date.parse(from);
  return 's:' + cuts
    .map((c) => {
      const step = Math.round((c - at) / 1000);
      at += step * 1000;
      return step.toString(36);
    })
    .join(',');
}

function decodeCuts(from: string, text: string): number[] {
  let at = Date.parse(from);
  const steps = text.slice(2);
  return steps === '' ? [] : steps.split(',').map((step) => (at += parseInt(step, 36) * 1000));
}

function toHeaderEntity(h: BackfillHeader): Record<string, unknown> {
  const { cuts, sizing, requestId, ...rest } = h;
  return { ...rest, requestId: requestId ?? '', ...(cuts ? { cuts: encodeCuts(h.from, cuts) } : {}), ...(sizing ? { sizing } : {}) };
}

function fromHeaderEntity(id: string, e: Record<string, unknown>): BackfillHeader {
  return {
    id,
    table: e.table as string,
    from: e.from as string,
    to: e.to as string,
    chunkMs: Number(e.chunkMs),
    cuts: typeof e.cuts === 'string' && e.cuts.startsWith('s:') ? decodeCuts(e.from as string, e.cuts) : null,
    sizing: typeof e.sizing === 'string' && e.sizing !== '' ? e.sizing : null,
    chunks: Number(e.chunks),
    requestId: (e.requestId as string) || null,
    runId: e.runId as string,
    createdAt: e.createdAt as string,
    loadDate: e.loadDate as string,
  };
}
