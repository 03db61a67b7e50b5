import type { Logger } from '../logging/logger.js';
import { createSource } from './createSource.js';
import type { ColumnSegment } from '../bronze/columnBatch.js';
import type { ColumnarReadRequest, KeySplit, ReadRequest, RowBatch, RowEstimate, SliceBounds, Source, SourceColumn, TableRef, WatermarkSpec } from './source.js';
import type { ColumnSnapshot } from '../state/watermarkStore.js';
import { SourceError } from './source.js';
import type { SourceEndpoint } from './sourceEndpoints.js';
import type { SlotHolder, SlotLease, SourceSlots } from './sourceSlots.js';
import { SlotLostError } from './sourceSlots.js';

/**
 * A session against one source, held under one of its connection slots. Everything that reads a
 * source (an extraction, a backfill chunk, a range of a parallel load, the console's lag probe)
 * goes through one of these: take it, use `source`, then `release()` in a finally block.
 */
export interface HeldSource {
  /** One session (a pool of one connection, opened on first use), good while the slot is held. */
  readonly source: Source;
  readonly slot: number;
  /** Close the session, then give the slot back. Safe to call twice. */
  release(): Promise<void>;
}

/** Every connection slot of the source is held: try again later (a queue message is deferred, not failed). */
export class SourceBusyError extends SourceError {
  constructor(
    readonly source: string,
    readonly maxConnections: number,
    detail = '',
  ) {
    super(`source ${source} is busy: all ${maxConnections} of its connection slots (maxConnections) are held${detail}`);
    this.name = 'SourceBusyError';
  }
}

export interface SourceRegistryOptions {
  logger: Logger;
  /** Opens an adapter for an endpoint (tests may wrap it); default createSource. */
  connect?: (endpoint: SourceEndpoint, maxConnections: number) => Source | Promise<Source>;
  /** Pause between tries while waiting for a slot (default 1-3 s, jittered). */
  waitPollMs?: () => number;
}

/**
 * The sources of the catalog, by name: one app serves many databases. Sessions open lazily, each
 * under a connection slot of its source (SourceSlots: `maxConnections` lease entities shared by
 * every instance), so however many instances and messages run, a source never sees more sessions
 * than its cap. `close()` (app shutdown) closes the sessions still open and gives their slots back.
 */
export class SourceRegistry {
  private readonly byName: Map<string, SourceEndpoint>;
  private readonly held = new Set<HeldSource>();
  private readonly unslotted = new Map<string, Promise<Source>>();
  private readonly connect: (endpoint: SourceEndpoint, maxConnections: number) => Promise<Source>;

  constructor(
    endpoints: SourceEndpoint[],
    private readonly slots: SourceSlots,
    private readonly options: SourceRegistryOptions,
  ) {
    this.byName = new Map(endpoints.map((e) => [e.name, e]));
    const connect = options.connect ?? ((e, n) => createSource(e, { maxConnections: n }));
    this.connect = async (e, n) => connect(e, n);
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** Whether `name` is a source of the registry (a SQL source, read under connection slots); http and rest sources are not. */
  slotted(name: string): boolean {
    return this.byName.has(name);
  }

  endpoint(name: string): SourceEndpoint {
    const e = this.byName.get(name);
    if (!e) throw new SourceError(`unknown source ${JSON.stringify(name)} (sources: ${this.names.join(', ')})`);
    return e;
  }

  /**
   * Take a connection slot of `name` for `owner` and a session under it, or null when every slot
   * is held. `purpose` is written on the slot (`ingest fact_streams, run ...`) for whoever looks.
   * The slot is renewed while held; if it is lost anyway, the session stops at its next call.
   */
  async open(name: string, owner: string, purpose: string): Promise<HeldSource | null> {
    const endpoint = this.endpoint(name);
    const lease = await this.slots.acquire(name, endpoint.maxConnections, owner, purpose);
    if (!lease) return null;
    let session: Source;
    try {
      session = await this.connect(endpoint, 1);
      session.warm?.();
    } catch (err) {
      await this.slots.release(lease).catch(() => undefined);
      throw err;
    }
    return this.hold(endpoint, lease, purpose, session);
  }

  /** Who holds the slots of `name` now (the console; tests). */
  slotHolders(name: string): Promise<SlotHolder[]> {
    return this.slots.holders(this.endpoint(name).name);
  }

  /** `open`, waiting for a slot until `deadline` (epoch ms): for in-process runs that have no queue to defer to. */
  async openWaiting(name: string, owner: string, purpose: string, deadline: number): Promise<HeldSource> {
    for (;;) {
      const held = await this.open(name, owner, purpose);
      if (held) return held;
      const pause = this.options.waitPollMs?.() ?? 1_000 + Math.floor(Math.random() * 2_000);
      if (Date.now() + pause > deadline) throw new SourceBusyError(name, this.endpoint(name).maxConnections, ' (waited until the deadline)');
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** Run `fn` with a session of `name` under a slot taken now; SourceBusyError when none is free. */
  async use<T>(name: string, owner: string, purpose: string, fn: (source: Source) => Promise<T>): Promise<T> {
    const held = await this.open(name, owner, purpose);
    if (!held) throw new SourceBusyError(name, this.endpoint(name).maxConnections);
    try {
      return await fn(held.source);
    } finally {
      await held.release();
    }
  }

  /**
   * A pool of `name` outside the slots, sized to the source's cap: for tools and tests that read
   * the source directly. The extraction paths never use it.
   */
  unslottedSource(name: string): Promise<Source> {
    let s = this.unslotted.get(name);
    if (!s) {
      const endpoint = this.endpoint(name);
      s = this.connect(endpoint, endpoint.maxConnections);
      this.unslotted.set(name, s);
    }
    return s;
  }

  /** `session`: an adapter of one connection, which it opens on first use (the pools are lazy). */
  private hold(endpoint: SourceEndpoint, first: SlotLease, purpose: string, session: Source): HeldSource {
    const log = this.options.logger.child({ source: endpoint.name, slot: first.slot });
    let lease = first;
    let lost: SlotLostError | null = null;
    let closing: Promise<void> | null = null;
    let released: Promise<void> | null = null;
    const closeSession = (): Promise<void> => (closing ??= session.close());
    const usable = (): void => {
      if (lost) throw lost;
      if (released || closing) throw new SourceError(`source ${endpoint.name}: the session of slot ${first.slot} was used after its release`);
    };
    // Renewed at a third of the lease, so two renewals may fail (a storage hiccup) before it lapses.
    let renewing: Promise<void> | null = null;
    const timer = setInterval(() => {
      if (renewing) return;
      renewing = this.slots.renew(lease, purpose).then(
        (next) => {
          lease = next;
        },
        (err: unknown) => {
          if (err instanceof SlotLostError) {
            lost = err;
            clearInterval(timer);
            log.error({ err }, err.message);
            // Idle connections close now; a read in progress stops at its next batch (guarded below).
            closeSession().catch(() => undefined);
          } else log.warn({ err }, `could not renew connection slot ${lease.slot} of source ${endpoint.name}; trying again`);
        },
      ).finally(() => {
        renewing = null;
      });
    }, Math.max(1_000, Math.floor(this.slots.leaseMs / 3)));
    timer.unref();

    const held: HeldSource = {
      slot: first.slot,
      source: guarded(session, usable),
      release: () => {
        released ??= (async () => {
          clearInterval(timer);
          this.held.delete(held);
          // A renewal in flight changes the slot's ETag: give back the slot as it ends up.
          await renewing;
          // The session closes before the slot is given back: a slot is never free while its session lives.
          try {
            await closeSession();
          } finally {
            if (!lost) await this.slots.release(lease).catch((err: unknown) => log.warn({ err }, `could not give back connection slot ${lease.slot}; it expires on its own`));
          }
        })();
        return released;
      },
    };
    this.held.add(held);
    return held;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.held].map((h) => h.release()));
    await Promise.allSettled([...this.unslotted.values()].map(async (s) => (await s).close()));
    this.unslotted.clear();
  }
}

/**
 * The session's Source, refusing every call once the slot is lost (or the session released), and
 * stopping a read in progress at its next batch. The optional fast paths (columnar reads, key
 * splits) are offered exactly when the adapter has them.
 */
function guarded(session: Source, usable: () => void): Source {
  const { readColumns, splitKeys, estimateRows } = session;
  return {
    kind: session.kind,
    ...(session.snapshot ? { snapshot: session.snapshot } : {}),
    describe: async (table: TableRef, held?: ColumnSnapshot[] | null): Promise<SourceColumn[]> => (usable(), session.describe(table, held)),
    safeUpperBound: async (table: TableRef, watermark: WatermarkSpec, lagSeconds: number): Promise<string | null> => (usable(), session.safeUpperBound(table, watermark, lagSeconds)),
    hasRows: async (table: TableRef, watermark: WatermarkSpec, bounds: SliceBounds): Promise<boolean> => (usable(), session.hasRows(table, watermark, bounds)),
    read: async function* (request: ReadRequest): AsyncGenerator<RowBatch> {
      usable();
      for await (const batch of session.read(request)) {
        usable();
        yield batch;
      }
    },
    ...(readColumns
      ? {
          readColumns: async function* (request: ColumnarReadRequest): AsyncGenerator<ColumnSegment> {
            usable();
            for await (const segment of readColumns.call(session, request)) {
              usable();
              yield segment;
            }
          },
        }
      : {}),
    ...(splitKeys ? { splitKeys: async (table: TableRef, primaryKey: string[], ranges: number): Promise<KeySplit> => (usable(), splitKeys.call(session, table, primaryKey, ranges)) } : {}),
    ...(estimateRows ? { estimateRows: async (table: TableRef, watermark: WatermarkSpec, windows: SliceBounds[]): Promise<RowEstimate> => (usable(), estimateRows.call(session, table, watermark, windows)) } : {}),
    // The session is closed by release(), after the work: closing it here would only reopen it.
    close: async () => undefined,
  };
}
