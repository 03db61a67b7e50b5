import { createHash } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { runIdStamp } from '../run/runId.js';
import { deleteRows } from '../state/runCompletion.js';
import { ensureTable, isConflict, isNotFound, isPreconditionFailed } from '../state/tableErrors.js';

/**
 * The debounce state of Databricks kicks, in one Azure Table (setting KICK_TABLE):
 *
 *   pointer / current            the window new files join while it is open (ETag-swapped)
 *   window / <windowId>          one row per window: bounds, status, what was started in Databricks
 *   member-<windowId> / <hash>   one row per file of the window (upserted: a file counts once)
 *   event-<yyyy-mm-dd> / <id>    one row per Event Grid event id, partitioned by the event's own
 *                                time, so a redelivery (same id, same time) is found and ignored
 *
 * Every write that decides something is conditional (insert-if-absent or ETag), so any number of
 * Function instances can handle events and kick messages at once.
 */
export type WindowStatus =
  | 'open'
  | 'closing'
  | 'empty'
  | 'kicked'
  /** The host gave up on the kick message: no run was started for these files yet. */
  | 'given-up'
  /** A given-up window whose files a later window's run took (`carriedBy`, and that run's id). */
  | 'carried';

export interface KickWindow {
  id: string;
  opensAt: string;
  closesAt: string;
  status: WindowStatus;
  files?: number;
  /** The window's tables, the first LISTED_TABLES of them by name when there are more (`tableCount` says how many). */
  tables?: string[];
  tableCount?: number;
  kickedAt?: string;
  /** Run of the medallion job (silver, then the gold pipeline as its task). */
  databricksRunId?: number;
  /** Status `carried`: the later window whose run took this window's files. */
  carriedBy?: string;
  error?: string;
  etag: string;
}

export interface WindowPointer {
  windowId: string;
  closesAt: string;
  etag: string;
}

export interface WindowFile {
  eventId: string;
  eventTime: string;
  path: string;
  table: string;
}

type WindowEntity = {
  partitionKey: string;
  rowKey: string;
  opensAt: string;
  closesAt: string;
  status: string;
  files?: number;
  tables?: string;
  tableCount?: number;
  kickedAt?: string;
  databricksRunId?: string;
  carriedBy?: string;
  error?: string;
};

const POINTER = { partitionKey: 'pointer', rowKey: 'current' } as const;
const WINDOW = 'window';
const memberPartition = (windowId: string): string => `member-${windowId}`;
const eventPartition = (eventTime: string): string => `event-${new Date(eventTime).toISOString().slice(0, 10)}`;
/** Window ids sort by the time they opened (w-20261125T084700Z-5f2c9a): the id of an instant sorts before every window opened at or after it. */
const windowIdAt = (at: Date): string => `w-${runIdStamp(at)}`;
/**
 * Tables a window row names. A property holds 32K characters, so a list of every table (2,000
 * names) would fail the write that records a started run, after Databricks started it; the
 * window's members hold every file and table, and `tableCount` says how many there are.
 */
export const LISTED_TABLES = 50;

/** RowKeys may not hold / \ # ? or control characters, and stay under 1 KiB. */
export function rowKeyOf(value: string): string {
  const escaped = value.replace(/[/\\#?%\u0000-\u001f\u007f-\u009f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.length <= 255 ? escaped : `h-${createHash('sha256').update(value).digest('hex')}`;
}

const pathKey = (path: string): string => createHash('sha256').update(path).digest('hex');

function fromEntity(e: WindowEntity & { etag?: string }): KickWindow {
  return {
    id: e.rowKey,
    opensAt: e.opensAt,
    closesAt: e.closesAt,
    status: e.status as WindowStatus,
    ...(e.files !== undefined ? { files: Number(e.files) } : {}),
    ...(e.tables ? { tables: JSON.parse(e.tables) as string[] } : {}),
    ...(e.tableCount !== undefined ? { tableCount: Number(e.tableCount) } : {}),
    ...(e.kickedAt ? { kickedAt: e.kickedAt } : {}),
    ...(e.databricksRunId ? { databricksRunId: Number(e.databricksRunId) } : {}),
    ...(e.carriedBy ? { carriedBy: e.carriedBy } : {}),
    ...(e.error ? { error: e.error } : {}),
    etag: e.etag!,
  };
}

export type WindowChanges = Partial<Omit<KickWindow, 'id' | 'opensAt' | 'closesAt' | 'etag'>>;

function toChanges(changes: WindowChanges): Partial<WindowEntity> {
  const out: Partial<WindowEntity> = {};
  if (changes.status !== undefined) out.status = changes.status;
  if (changes.files !== undefined) out.files = changes.files;
  if (changes.tables !== undefined) {
    out.tables = JSON.stringify(changes.tables.slice(0, LISTED_TABLES));
    out.tableCount = changes.tableCount ?? changes.tables.length;
  }
  if (changes.kickedAt !== undefined) out.kickedAt = changes.kickedAt;
  if (changes.databricksRunId !== undefined) out.databricksRunId = String(changes.databricksRunId);
  if (changes.carriedBy !== undefined) out.carriedBy = changes.carriedBy;
  if (changes.error !== undefined) out.error = changes.error;
  return out;
}

export class KickStore {
  constructor(private readonly client: TableClient) {}

  async ensure(): Promise<void> {
    await ensureTable(this.client);
  }

  async pointer(): Promise<WindowPointer | null> {
    try {
      const e = await this.client.getEntity<{ windowId: string; closesAt: string }>(POINTER.partitionKey, POINTER.rowKey);
      return { windowId: e.windowId, closesAt: e.closesAt, etag: e.etag };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Point new files at `window` if the pointer is still the one read (`etag`, or absent); false when another writer won. */
  async swapPointer(window: { id: string; closesAt: string }, etag: string | undefined): Promise<boolean> {
    const entity = { ...POINTER, windowId: window.id, closesAt: window.closesAt };
    try {
      if (etag === undefined) await this.client.createEntity(entity);
      else await this.client.updateEntity(entity, 'Replace', { etag });
      return true;
    } catch (err) {
      if (isConflict(err) || isPreconditionFailed(err) || isNotFound(err)) return false;
      throw err;
    }
  }

  async createWindow(window: { id: string; opensAt: string; closesAt: string }): Promise<void> {
    await this.client.createEntity<WindowEntity>({ partitionKey: WINDOW, rowKey: window.id, opensAt: window.opensAt, closesAt: window.closesAt, status: 'open' });
  }

  async window(id: string): Promise<KickWindow | null> {
    try {
      return fromEntity(await this.client.getEntity<WindowEntity>(WINDOW, id));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Merge changes; with `etag`, only if nobody wrote since (returns null when someone did). */
  async updateWindow(id: string, changes: WindowChanges, etag?: string): Promise<KickWindow | null> {
    try {
      await this.client.updateEntity({ partitionKey: WINDOW, rowKey: id, ...toChanges(changes) }, 'Merge', etag ? { etag } : {});
    } catch (err) {
      if (etag && isPreconditionFailed(err)) return null;
      throw err;
    }
    return this.window(id);
  }

  /** Windows the host gave up on that opened before `windowId` (ids sort by opening time), oldest first. */
  async givenUpBefore(windowId: string): Promise<KickWindow[]> {
    return this.windows(odata`PartitionKey eq ${WINDOW} and RowKey lt ${windowId} and status eq ${'given-up'}`);
  }

  /** The first window opened after `windowId` whose Databricks run was started, if any. */
  async firstStartedAfter(windowId: string): Promise<KickWindow | null> {
    const started = await this.windows(odata`PartitionKey eq ${WINDOW} and RowKey gt ${windowId} and status eq ${'kicked'}`);
    return started[0] ?? null;
  }

  /** Windows opened at or after `since`, newest first, at most `limit` (the console's list). */
  async windowsSince(since: Date, limit: number): Promise<KickWindow[]> {
    const windows = await this.windows(odata`PartitionKey eq ${WINDOW} and RowKey ge ${windowIdAt(since)}`);
    return windows.reverse().slice(0, limit);
  }

  private async windows(filter: string): Promise<KickWindow[]> {
    const out: KickWindow[] = [];
    for await (const e of this.client.listEntities<WindowEntity>({ queryOptions: { filter } })) out.push(fromEntity(e));
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Stop the window taking files: `open` becomes `closing`. A file that joined before this is
   * listed by the caller afterwards; a joiner that reads the window after this moves on to a
   * new window (Debouncer.record).
   */
  async closeWindow(id: string): Promise<KickWindow | null> {
    for (;;) {
      const w = await this.window(id);
      if (!w || w.status !== 'open') return w;
      const closed = await this.updateWindow(id, { status: 'closing' }, w.etag);
      if (closed) return closed;
    }
  }

  async addMember(windowId: string, file: WindowFile): Promise<void> {
    await this.client.upsertEntity({ partitionKey: memberPartition(windowId), rowKey: pathKey(file.path), ...file }, 'Replace');
  }

  async members(windowId: string): Promise<WindowFile[]> {
    const out: WindowFile[] = [];
    const filter = odata`PartitionKey eq ${memberPartition(windowId)}`;
    for await (const e of this.client.listEntities<WindowFile>({ queryOptions: { filter } })) {
      out.push({ eventId: e.eventId, eventTime: e.eventTime, path: e.path, table: e.table });
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** The window an event id was counted in, if it was. */
  async seen(eventId: string, eventTime: string): Promise<string | null> {
    try {
      const e = await this.client.getEntity<{ windowId: string }>(eventPartition(eventTime), rowKeyOf(eventId));
      return e.windowId;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * Forget what is older than `before`: event ids (Event Grid stops redelivering after a day),
   * and windows with their members (their Databricks runs started or were given up hours after
   * they closed). The window the pointer names stays, however old.
   */
  async purge(before: Date): Promise<{ events: number; windows: number; members: number }> {
    const pointer = await this.pointer();
    const keep = pointer ? memberPartition(pointer.windowId) : undefined;
    const oldest = windowIdAt(before);
    const events = await this.deleteWhere(odata`PartitionKey ge ${'event-'} and PartitionKey lt ${eventPartition(before.toISOString())}`);
    const members = await this.deleteWhere(odata`PartitionKey ge ${'member-w-'} and PartitionKey lt ${memberPartition(oldest)}`, (pk) => pk !== keep);
    const windows = await this.deleteWhere(odata`PartitionKey eq ${WINDOW} and RowKey lt ${oldest}`, (_pk, rk) => rk !== pointer?.windowId);
    return { events, windows, members };
  }

  private async deleteWhere(filter: string, remove: (pk: string, rk: string) => boolean = () => true): Promise<number> {
    const byPartition = new Map<string, string[]>();
    for await (const e of this.client.listEntities({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } })) {
      if (!remove(e.partitionKey!, e.rowKey!)) continue;
      const rows = byPartition.get(e.partitionKey!) ?? [];
      rows.push(e.rowKey!);
      byPartition.set(e.partitionKey!, rows);
    }
    let deleted = 0;
    for (const [partitionKey, rowKeys] of byPartition) {
      await deleteRows(this.client, partitionKey, rowKeys);
      deleted += rowKeys.length;
    }
    return deleted;
  }

  /** Remember that an event id was counted; false when it already was (a concurrent redelivery). */
  async markSeen(file: WindowFile, windowId: string): Promise<boolean> {
    try {
      await this.client.createEntity({ partitionKey: eventPartition(file.eventTime), rowKey: rowKeyOf(file.eventId), windowId, path: file.path });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}
