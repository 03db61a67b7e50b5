import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { ensureTable, isConflict, isNotFound, isPreconditionFailed } from '../state/tableErrors.js';

/**
 * A source's connection slots: `maxConnections` lease entities per source in Table Storage
 * (partition = the source's name, row = the slot's number), shared by every instance of the app.
 * Whoever wants a session against the source first takes a free slot with an ETag-guarded write,
 * so of two instances racing for the same slot exactly one wins; the slot expires like the table
 * leases unless it is renewed, and is given back when the session has closed. However many
 * instances and messages run, no more than `maxConnections` slots are held at once, and no
 * session is open without one.
 */

/** One held slot: the ETag of our last write is the proof we still hold it. */
export interface SlotLease {
  source: string;
  slot: number;
  owner: string;
  expiresAt: string;
  etag: string;
}

/** What a slot says about its holder, for the console and for a person reading the table. */
export interface SlotHolder {
  slot: number;
  owner: string;
  expiresAt: string;
  /** What the holder is doing: `ingest fact_streams (run ...)`. */
  purpose: string;
}

type Entity = { partitionKey: string; rowKey: string; owner?: string; expiresAt?: string; purpose?: string };

export class SlotLostError extends Error {
  constructor(lease: SlotLease) {
    super(`connection slot ${lease.slot} of source ${lease.source} was lost (not renewed before ${lease.expiresAt}, and taken by another holder); the session stops so the source never sees more sessions than its maxConnections`);
    this.name = 'SlotLostError';
  }
}

/** Row keys sort as numbers: a source may have up to 1000 slots (the catalog's maximum). */
const rowKey = (slot: number): string => String(slot).padStart(4, '0');

const isFree = (e: Entity | undefined, now: number): boolean => !e?.owner || !e.expiresAt || Date.parse(e.expiresAt) <= now;

export class SourceSlots {
  private readonly now: () => number;

  constructor(
    private readonly client: TableClient,
    /** How long a slot is held without renewal; a holder that dies frees its slot after this long. */
    readonly leaseMs: number,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async ensure(options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    await ensureTable(this.client, options);
  }

  private async entities(source: string): Promise<Map<number, TableEntityResult<Entity>>> {
    const out = new Map<number, TableEntityResult<Entity>>();
    // One partition, at most 1000 rows: one page.
    for await (const e of this.client.listEntities<Entity>({ queryOptions: { filter: `PartitionKey eq '${source}'` } })) out.set(Number(e.rowKey), e);
    return out;
  }

  /**
   * Take a free slot among the first `maxConnections` of `source`, or null when every one is held
   * by a live holder. Slots beyond `maxConnections` (left by a larger cap) are never taken.
   */
  async acquire(source: string, maxConnections: number, owner: string, purpose: string): Promise<SlotLease | null> {
    const now = this.now();
    const current = await this.entities(source);
    const free = Array.from({ length: maxConnections }, (_, i) => i).filter((i) => isFree(current.get(i), now));
    // A random order, so instances racing for slots mostly try different ones.
    for (let i = free.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [free[i], free[j]] = [free[j]!, free[i]!];
    }
    const expiresAt = new Date(now + this.leaseMs).toISOString();
    for (const slot of free) {
      const entity: Entity = { partitionKey: source, rowKey: rowKey(slot), owner, expiresAt, purpose };
      const seen = current.get(slot);
      try {
        const res = seen ? await this.client.updateEntity(entity, 'Replace', { etag: seen.etag }) : await this.client.createEntity(entity);
        return { source, slot, owner, expiresAt, etag: res.etag! };
      } catch (err) {
        // Another instance took it between our read and our write: try the next one.
        if (isConflict(err) || isPreconditionFailed(err) || isNotFound(err)) continue;
        throw err;
      }
    }
    return null;
  }

  /** Extend a held slot; SlotLostError when another holder took it after it expired. */
  async renew(lease: SlotLease, purpose: string): Promise<SlotLease> {
    const expiresAt = new Date(this.now() + this.leaseMs).toISOString();
    try {
      const res = await this.client.updateEntity({ partitionKey: lease.source, rowKey: rowKey(lease.slot), owner: lease.owner, expiresAt, purpose }, 'Replace', { etag: lease.etag });
      return { ...lease, expiresAt, etag: res.etag! };
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) throw new SlotLostError(lease);
      throw err;
    }
  }

  /** Give the slot back (after the session closed). A slot someone else took meanwhile is theirs: left alone. */
  async release(lease: SlotLease): Promise<void> {
    try {
      await this.client.updateEntity({ partitionKey: lease.source, rowKey: rowKey(lease.slot) }, 'Replace', { etag: lease.etag });
    } catch (err) {
      if (!isPreconditionFailed(err) && !isNotFound(err)) throw err;
    }
  }

  /** The live holders of a source's slots (the console; tests). */
  async holders(source: string): Promise<SlotHolder[]> {
    const now = this.now();
    return [...(await this.entities(source)).entries()]
      .filter(([, e]) => !isFree(e, now))
      .map(([slot, e]) => ({ slot, owner: e.owner!, expiresAt: e.expiresAt!, purpose: e.purpose ?? '' }))
      .sort((a, b) => a.slot - b.slot);
  }
}
