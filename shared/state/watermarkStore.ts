import type { TableClient, TableEntityResult } from '@azure/data-tables';
import type { WatermarkKind } from '../config/pipelineConfig.js';
import type { PartRecord, PendingSlice, SliceProgress, Totals } from '../extract/slice.js';
import { BELOW_PARTS, dropParts, listParts, loadParts, recordLegacyParts, replaceRecordingParts } from './partEntities.js';
import { decodeProgress, encodeProgress } from './progressProperty.js';
import type { LedgerRef } from './runLedger.js';
import { ensureTable, isConflict, isNotFound, isPreconditionFailed, RecordChangedError } from './tableErrors.js';

/** Columns seen at the last committed slice: the reference for schema-drift checks. */
export interface ColumnSnapshot {
  name: string;
  sourceType: string;
}

export interface Lease {
  owner: string;
  expiresAt: string;
}

/**
 * Everything the extraction of one table needs to remember, in one record read when a run
 * starts and written with an ETag condition at every step: the committed watermark, the
 * slice in flight, and the lease that keeps two runs of the table apart.
 */
export interface WatermarkState {
  table: string;
  kind: WatermarkKind;
  /** Committed watermark at the source's full precision, or null before the first load. */
  value: string | null;
  /** Sequence number of the last committed slice. */
  seq: number;
  pending: PendingSlice | null;
  lease: Lease | null;
  /** The ledger entry of the run that took the lease last; kept after it gives the lease back. */
  holder: LedgerRef | null;
  columns: ColumnSnapshot[] | null;
  committedAt: string | null;
  lastRunId: string | null;
  etag: string;
}

/** A table's state as a listing shows it: the pending slice's plan and totals, without its parts. */
export type WatermarkSummary = Omit<WatermarkState, 'pending'> & { pending: SliceProgress | null };

export class LeaseLostError extends RecordChangedError {
  constructor(table: string) {
    super(`watermark of ${table} changed under this run (lease lost); the slice will be resumed by the next run`);
    this.name = 'LeaseLostError';
  }
}

type Entity = {
  partitionKey: string;
  rowKey: string;
  /** The record's key: the table's name, or a key range's `~range~<table>~r0003` (the legacy layout kept it in the row key). */
  table?: string;
  kind: string;
  value?: string;
  seq: number;
  pending?: string;
  leaseOwner?: string;
  leaseExpiresAt?: string;
  holder?: string;
  columns?: string;
  committedAt?: string;
  lastRunId?: string;
};

/**
 * One partition per table (`wm|<table>`, row `state`): a partition serves about 2,000 entities a
 * second, and every table in one partition put all tables' lease, part and commit writes behind
 * that one limit. A table's key ranges (row `range-r0003`) and the parts of its slices (rows
 * `~part~...`, partEntities.ts) live in its partition, so a range's commit and the table's count
 * of committed ranges, or a record and its new parts, are one entity-group transaction. The
 * layout before kept every table in partition `watermark` (row key = table): it is still read,
 * and a table found only there is moved on its first read (`get`).
 */
const partitionOf = (table: string): string => `wm|${table}`;
const ROW = 'state';
const LEGACY_PARTITION = 'watermark';
const RANGE_KEY = /^~range~(.+)~(r\d{4})$/;

/** Where a record lives: a table's state, or one of its key ranges (rangeLoad.ts names them `~range~<table>~r0003`). */
function locate(key: string): { partitionKey: string; rowKey: string } {
  const range = RANGE_KEY.exec(key);
  return range ? { partitionKey: partitionOf(range[1]!), rowKey: `range-${range[2]}` } : { partitionKey: partitionOf(key), rowKey: ROW };
}

function toEntity(s: Omit<WatermarkState, 'etag' | 'pending'> & { pending: SliceProgress | null }): Entity {
  const entity: Entity = { ...locate(s.table), table: s.table, kind: s.kind, seq: s.seq };
  if (s.value !== null) entity.value = s.value;
  if (s.pending) entity.pending = encodeProgress(s.pending, `pending slice of ${s.table}`);
  if (s.lease) {
    entity.leaseOwner = s.lease.owner;
    entity.leaseExpiresAt = s.lease.expiresAt;
  }
  if (s.holder) entity.holder = JSON.stringify(s.holder);
  if (s.columns) entity.columns = JSON.stringify(s.columns);
  if (s.committedAt) entity.committedAt = s.committedAt;
  if (s.lastRunId) entity.lastRunId = s.lastRunId;
  return entity;
}

function fromEntity(e: TableEntityResult<Entity>): WatermarkSummary & { legacyParts?: PendingSlice } {
  const pending = e.pending ? decodeProgress(e.pending) : null;
  return {
    table: e.table ?? e.rowKey!,
    kind: e.kind as WatermarkKind,
    value: e.value ?? null,
    seq: Number(e.seq ?? 0),
    pending: pending?.progress ?? null,
    ...(pending?.legacyParts ? { legacyParts: pending.legacyParts } : {}),
    lease: e.leaseOwner && e.leaseExpiresAt ? { owner: e.leaseOwner, expiresAt: e.leaseExpiresAt } : null,
    holder: e.holder ? (JSON.parse(e.holder) as LedgerRef) : null,
    columns: e.columns ? (JSON.parse(e.columns) as ColumnSnapshot[]) : null,
    committedAt: e.committedAt ?? null,
    lastRunId: e.lastRunId ?? null,
    etag: e.etag,
  };
}

export type AcquireResult =
  /** `previous`: the ledger entry of the run that held the table before, if another run. */
  | { acquired: true; state: WatermarkState; previous: LedgerRef | null }
  | { acquired: false; heldBy: string; holderRunId: string | null; until: string };

/** Watermarks in Azure Table Storage, one entity per table, every write conditional on the ETag. */
export class WatermarkStore {
  constructor(private readonly client: TableClient) {}

  async ensure(options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    await ensureTable(this.client, options);
  }

  /** The table's state with the pending slice's parts (read from their entities). */
  async get(table: string): Promise<WatermarkState | null> {
    const at = locate(table);
    const found = (await this.read(at)) ?? (at.rowKey === ROW ? await this.moveLegacy(table) : null);
    if (!found) return null;
    const { legacyParts, ...state } = found;
    if (legacyParts) return { ...state, pending: await recordLegacyParts(this.client, at.partitionKey, at.rowKey, legacyParts) };
    return { ...state, pending: state.pending ? await loadParts(this.client, at.partitionKey, at.rowKey, state.pending) : null };
  }

  private async read(at: { partitionKey: string; rowKey: string }): Promise<ReturnType<typeof fromEntity> | null> {
    try {
      return fromEntity(await this.client.getEntity<Entity>(at.partitionKey, at.rowKey));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * A table whose state is still in the legacy partition: copy it, fields and all (the pending
   * slice, with its parts inline as that layout kept them, and the lease), to its own partition,
   * then remove the old row if nobody wrote it since. Two instances moving it at once: one
   * creates, the other finds it created. From then on every write is conditional on the new
   * row's ETag, as before; the inline parts become part entities when `get` reads the record.
   */
  private async moveLegacy(table: string): Promise<ReturnType<typeof fromEntity> | null> {
    let legacy: TableEntityResult<Entity>;
    try {
      legacy = await this.client.getEntity<Entity>(LEGACY_PARTITION, table);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const { etag, timestamp: _t, partitionKey: _p, rowKey: _r, ...fields } = legacy as TableEntityResult<Entity> & { timestamp?: string };
    try {
      await this.client.createEntity<Entity>({ ...fields, ...locate(table), table });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    await this.client.deleteEntity(LEGACY_PARTITION, table, { etag }).catch((err: unknown) => {
      if (!isNotFound(err) && !isPreconditionFailed(err)) throw err;
    });
    return this.read(locate(table));
  }

  /** Every table's state (pending slices with their totals, not their parts): the per-table partitions (one range query), and tables not moved yet from the legacy partition. */
  async list(): Promise<WatermarkSummary[]> {
    const out = new Map<string, WatermarkSummary>();
    const legacy = `PartitionKey eq '${LEGACY_PARTITION}' and RowKey lt '${BELOW_PARTS}'`;
    // '}' follows '|': the range holds exactly the partitions `wm|...`.
    const current = `PartitionKey ge 'wm|' and PartitionKey lt 'wm}' and RowKey eq '${ROW}'`;
    for (const filter of [legacy, current]) {
      for await (const e of this.client.listEntities<Entity>({ queryOptions: { filter } })) {
        const { legacyParts: _legacy, ...state } = fromEntity(e);
        out.set(state.table, state);
      }
    }
    return [...out.values()];
  }

  /**
   * Take the table's lease for `owner` (unique per invocation) unless another live run holds it,
   * and record `holder`, the taker's ledger entry, in the same write. Exactly one of two
   * concurrent callers wins: the loser's conditional write fails and it sees the winner's lease.
   */
  async acquire(table: string, kind: WatermarkKind, taker: { owner: string; holder: LedgerRef }, leaseMs: number, now = new Date()): Promise<AcquireResult> {
    const { owner, holder } = taker;
    const lease: Lease = { owner, expiresAt: new Date(now.getTime() + leaseMs).toISOString() };
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(table);
      if (!current) {
        const fresh = { table, kind, value: null, seq: 0, pending: null, lease, holder, columns: null, committedAt: null, lastRunId: null };
        try {
          const res = await this.client.createEntity(toEntity(fresh));
          return { acquired: true, state: { ...fresh, etag: res.etag! }, previous: null };
        } catch (err) {
          if (isConflict(err)) continue;
          throw err;
        }
      }
      if (current.lease && current.lease.owner !== owner && new Date(current.lease.expiresAt) > now) {
        return { acquired: false, heldBy: current.lease.owner, holderRunId: current.holder?.runId ?? null, until: current.lease.expiresAt };
      }
      try {
        const previous = current.holder && current.holder.key !== holder.key ? current.holder : null;
        return { acquired: true, state: await this.save({ ...current, lease, holder }), previous };
      } catch (err) {
        if (err instanceof LeaseLostError) continue;
        throw err;
      }
    }
    const current = await this.get(table);
    return { acquired: false, heldBy: current?.lease?.owner ?? 'unknown', holderRunId: current?.holder?.runId ?? null, until: current?.lease?.expiresAt ?? '' };
  }

  /**
   * Write the whole state if nobody else wrote since it was read; returns it with the new ETag.
   * `addedParts`: the last parts of the pending slice, not yet recorded, written in the same
   * transaction (both or neither).
   */
  async save(state: WatermarkState, addedParts = 0): Promise<WatermarkState> {
    try {
      return { ...state, etag: await replaceRecordingParts(this.client, toEntity(state), state.etag, state.pending, addedParts) };
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) throw new LeaseLostError(state.table);
      throw err;
    }
  }

  /**
   * Commit a key range: the range's record (conditional on its ETag: its lease) and the table's
   * count of committed ranges (conditional on the table record's ETag) in one entity-group
   * transaction, so a range is counted exactly once however runs crash or race. When another
   * range's commit moved the table record first, the count is re-read and the transaction tried
   * again; a changed range record is a lost lease. `totals`: the range's rows, bytes and parts,
   * added to the plan's totals in the same write (what the slice's finisher checks its manifest
   * against). Returns both records as written.
   */
  async commitRange(range: WatermarkState, table: string, totals: Totals): Promise<{ range: WatermarkState; table: WatermarkState }> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const current = await this.get(table);
      const plan = current?.pending?.ranges;
      if (!current || !plan) throw new Error(`${table} has no slice running in ranges to commit a range of`);
      const sums = { rows: (plan.rows ?? 0) + totals.rows, bytes: (plan.bytes ?? 0) + totals.bytes, files: (plan.files ?? 0) + totals.files };
      const counted: WatermarkState = { ...current, pending: { ...current.pending!, ranges: { ...plan, done: plan.done + 1, ...sums } } };
      try {
        const res = await this.client.submitTransaction([
          ['update', toEntity(range), 'Replace', { etag: range.etag }],
          ['update', toEntity(counted), 'Replace', { etag: current.etag }],
        ]);
        return { range: { ...range, etag: res.subResponses[0]!.etag!.trim() }, table: { ...counted, etag: res.subResponses[1]!.etag!.trim() } };
      } catch (err) {
        // The service names the failed operation by its index: 0 is the range (lease lost), 1 the table (another range counted first).
        const failed = /^(\d+):/.exec((err as Error).message ?? '')?.[1];
        if (isPreconditionFailed(err) && failed === '1') continue;
        if (isPreconditionFailed(err) || isNotFound(err)) throw new LeaseLostError(range.table);
        throw err;
      }
    }
    throw new Error(`could not count a committed range of ${table}: the table record kept changing`);
  }

  /** The recorded parts of a slice the record no longer counts (a committed key range's), in order. */
  parts(key: string, slice: string): Promise<PartRecord[]> {
    const at = locate(key);
    return listParts(this.client, at.partitionKey, at.rowKey, slice);
  }

  /** Remove the part records of a slice once it is committed (the record no longer counts them). */
  dropParts(table: string, slice: string): Promise<number> {
    const at = locate(table);
    return dropParts(this.client, at.partitionKey, at.rowKey, slice);
  }

  /** Administrative reset (tests, re-seeding): removes the table's state entirely. */
  async delete(table: string): Promise<void> {
    const at = locate(table);
    for (const [partitionKey, rowKey] of [[at.partitionKey, at.rowKey], [LEGACY_PARTITION, table]] as const) {
      await this.client.deleteEntity(partitionKey, rowKey).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
  }
}
