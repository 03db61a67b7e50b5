import type { Logger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import { newRunId } from '../run/runId.js';
import type { KickQueue } from './kickQueue.js';
import type { KickStore, WindowFile } from './kickStore.js';

export interface DebouncerOptions {
  /** How long a window stays open after its first file (KICK_WINDOW_SECONDS). */
  windowMs: number;
  now?: () => Date;
  logger?: Logger;
}

export type RecordOutcome =
  /** The file opened a new window (and scheduled its kick). */
  | { outcome: 'opened'; windowId: string }
  /** The file joined the open window. */
  | { outcome: 'joined'; windowId: string }
  /** This event id was already counted (Event Grid delivers at least once). */
  | { outcome: 'duplicate'; windowId: string };

const ATTEMPTS = 8;

/**
 * Turns a stream of BlobCreated events into debounce windows, with no state in memory:
 *
 * 1. An event id already counted is a duplicate: nothing happens.
 * 2. While the current window is open (now < closesAt) the file joins it.
 * 3. Otherwise the file opens a window: the delayed kick message is sent first (visible when the
 *    window closes), then the window row, then the pointer is swapped with its ETag. A loser of
 *    that race leaves an empty window whose kick does nothing, and joins the winner's window.
 * 4. The file is written as a member, then the window is read again: still `open` means the kick
 *    (which closes the window before listing members) will see it; otherwise the kick already
 *    ran and the file goes to a new window. A file can so count twice in a race, never zero times.
 * 5. Last, the event id is remembered, so a redelivery finds it in step 1.
 */
export class Debouncer {
  private readonly windowMs: number;
  private readonly now: () => Date;
  private readonly logger: Logger;

  constructor(
    private readonly store: KickStore,
    private readonly queue: KickQueue,
    options: DebouncerOptions,
  ) {
    this.windowMs = options.windowMs;
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? silentLogger;
  }

  async record(file: WindowFile): Promise<RecordOutcome> {
    const seen = await this.store.seen(file.eventId, file.eventTime);
    if (seen) return { outcome: 'duplicate', windowId: seen };
    const closedUnderUs = new Set<string>();
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = this.now();
      const pointer = await this.store.pointer();
      let windowId: string;
      let opened = false;
      if (pointer && now.getTime() < Date.parse(pointer.closesAt) && !closedUnderUs.has(pointer.windowId)) {
        windowId = pointer.windowId;
      } else {
        windowId = newRunId('w', now);
        const opensAt = now.toISOString();
        const closesAt = new Date(now.getTime() + this.windowMs).toISOString();
        await this.queue.send({ windowId, step: 'kick' }, { visibilityTimeoutSeconds: Math.max(1, Math.ceil(this.windowMs / 1000)) });
        await this.store.createWindow({ id: windowId, opensAt, closesAt });
        if (!(await this.store.swapPointer({ id: windowId, closesAt }, pointer?.etag))) continue;
        opened = true;
        this.logger.info({ runId: windowId, opensAt, closesAt }, `kick window ${windowId} opened by ${file.path}; Databricks starts when it closes at ${closesAt}`);
      }
      await this.store.addMember(windowId, file);
      const window = await this.store.window(windowId);
      if (window?.status === 'open') {
        await this.store.markSeen(file, windowId);
        return { outcome: opened ? 'opened' : 'joined', windowId };
      }
      closedUnderUs.add(windowId);
    }
    throw new Error(`${file.path}: could not join a kick window in ${ATTEMPTS} attempts (heavy contention on the kick table)`);
  }
}
