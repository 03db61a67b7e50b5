import type { TableClient, TableEntityResult } from '@azure/data-tables';
import type { WatermarkKind } from '../config/pipelineConfig.js';
import type { PendingSlice } from '../extract/slice.js';
import type { LedgerRef } from './runLedger.js';
import { ensureTable, isConflict, isNotFound, isPreconditionFailed } from './tableErrors.js';

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

export class LeaseLostError extends Error {
  constructor(table: string) {
    super(`watermark of ${table} changed under this run (lease lost); the slice will be resumed by the next run`);
    this.name = 'LeaseLostError';
  }
}

type Entity = {
  partitionKey: string;
  rowKey: string;
  /** The table's name (the legacy layout kept it in the row key). */
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
 * that one limit. The layout before kept every table in partition `watermark` (row key = table):
 * it is still read, and a table found only there is moved on its first read (`get`).
 */
const partitionOf = (table: string): string => `wm|${table}`;
const ROW = 'state';
const LEGACY_PARTITION = 'watermark';
// A Table Storage string property holds 32K UTF-16 characters.
const MAX_PROPERTY_CHARS = 32_000;

function toEntity(s: Omit<WatermarkState, 'etag'>): Entity {
  const entity: Entity = { partitionKey: partitionOf(s.table), rowKey: ROW, table: s.table, kind: s.kind, seq: s.seq };
  if (s.value !== null) entity.value = s.value;
  if (s.pending) {
    entity.pending = JSON.stringify(s.pending);
    if (entity.pending.length > MAX_PROPERTY_CHARS) throw new Error(`pending slice of ${s.table} has too many parts to record; raise maxRowsPerFile`);
  }
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

function fromEntity(e: TableEntityResult<Entity>): WatermarkState {
  return {
    table: e.table ?? e.rowKey!,
    kind: e.kind as WatermarkKind,
    value: e.value ?? null,
    seq: Number(e.seq ?? 0),
    pending: e.pending ? (JSON.parse(e.pending) as PendingSlice) : null,
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

  async ensure(): Promise<void> {
    await ensureTable(this.client);
  }

  async get(table: string): Promise<WatermarkState | null> {
    return (await this.read(partitionOf(table), ROW)) ?? (await this.moveLegacy(table));
  }

  private async read(partitionKey: string, rowKey: string): Promise<WatermarkState | null> {
    try {
      return fromEntity(await this.client.getEntity<Entity>(partitionKey, rowKey));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * A table whose state is still in the legacy partition: copy it, fields and all (the pending
   * slice and the lease included), to its own partition, then remove the old row if nobody wrote
   * it since. Two instances moving it at once: one creates, the other finds it created. From then
   * on every write is conditional on the new row's ETag, as before.
   */
  private async moveLegacy(table: string): Promise<WatermarkState | null> {
    let legacy: TableEntityResult<Entity>;
    try {
      legacy = await this.client.getEntity<Entity>(LEGACY_PARTITION, table);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const { etag, timestamp: _t, partitionKey: _p, rowKey: _r, ...fields } = legacy as TableEntityResult<Entity> & { timestamp?: string };
    try {
      await this.client.createEntity<Entity>({ ...fields, partitionKey: partitionOf(table), rowKey: ROW, table });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    await this.client.deleteEntity(LEGACY_PARTITION, table, { etag }).catch((err: unknown) => {
      if (!isNotFound(err) && !isPreconditionFailed(err)) throw err;
    });
    return this.read(partitionOf(table), ROW);
  }

  /** Every table's state: the per-table partitions (one range query), and tables not moved yet from the legacy partition. */
  async list(): Promise<WatermarkState[]> {
    const out = new Map<string, WatermarkState>();
    const legacy = `PartitionKey eq '${LEGACY_PARTITION}'`;
    // '}' follows '|': the range holds exactly the partitions `wm|...`.
    const current = `PartitionKey ge 'wm|' and PartitionKey lt 'wm}' and RowKey eq '${ROW}'`;
    for (const filter of [legacy, current]) {
      for await (const e of this.client.listEntities<Entity>({ queryOptions: { filter } })) {
        const state = fromEntity(e);
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

  /** Write the whole state if nobody else wrote since it was read; returns it with the new ETag. */
  async save(state: WatermarkState): Promise<WatermarkState> {
    try {
      const res = await this.client.updateEntity(toEntity(state), 'Replace', { etag: state.etag });
      return { ...state, etag: res.etag! };
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) throw new LeaseLostError(state.table);
      throw err;
    }
  }

  /** Administrative reset (tests, re-seeding): removes the table's state entirely. */
  async delete(table: string): Promise<void> {
    try {
      await this.client.deleteEntity(partitionOf(table), ROW);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.client.deleteEntity(LEGACY_PARTITION, table).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }
}
