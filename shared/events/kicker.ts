import { type DatabricksClient, DatabricksError } from '../databricks/databricksClient.js';
import type { Logger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import { redactSecrets } from '../logging/redact.js';
import type { Notice, Notifier } from '../notify/notifier.js';
import type { LedgerRecord, RunLedger } from '../state/runLedger.js';
import type { KickMessage, KickQueue } from './kickQueue.js';
import { type KickStore, type KickWindow, LISTED_TABLES } from './kickStore.js';

/** Ledger subject of every Databricks kick. */
export const DATABRICKS_SUBJECT = '_databricks';

export interface KickerOptions {
  /** The bundle's medallion job: silver, then the gold pipeline as its task. */
  jobId: number;
  /** Kick state older than this is removed after each successful kick (absent: kept forever). */
  retentionMs?: number;
  /** A 429's Retry-After re-schedules the message by at most this many seconds (default 3600), ... */
  maxRetryAfterSeconds?: number;
  /** ... at most this many times in a row (default 10); then the call fails like any other. */
  maxDeferrals?: number;
  now?: () => Date;
  logger?: Logger;
}

export interface KickDeps {
  store: KickStore;
  queue: KickQueue;
  databricks: DatabricksClient;
  ledger: RunLedger;
  notifier: Notifier;
}

export type KickOutcome =
  | { status: 'kicked'; windowId: string; runId: number; files: number; tables: string[] }
  | { status: 'already-kicked'; windowId: string; runId: number }
  | { status: 'empty'; windowId: string }
  | { status: 'no-window'; windowId: string }
  /** Databricks answered 429: the message was sent again to arrive after its Retry-After. */
  | { status: 'deferred'; windowId: string; retryAfterSeconds: number; deferrals: number };

/** Carried windows named in one ledger detail; the rest are counted (each carried window has its own ledger entry). */
const CARRIED_NAMED = 20;

/**
 * The Databricks idempotency token of a window: the same window always asks for the same run,
 * however many kick messages arrive for it. Job ids have at most 16 digits, window ids 25
 * characters: at most 52 of the 64 characters Databricks allows.
 */
export function idempotencyToken(jobId: number, windowId: string): string {
  return `soundlake-${jobId}-${windowId}`;
}

/**
 * Handles kick messages: when a window closes, start Databricks once for all of its files, and
 * record it in the run ledger (subject `_databricks`, run id = window id, low/high = window
 * bounds). A failed call notifies ('databricks-kick-failed') and throws, so the Functions host
 * retries the message and finally poisons it.
 *
 * The run is a run-now of the bundle's medallion job, which runs silver and then the gold
 * pipeline as its own tasks: Databricks orders them, and the idempotency token keeps every
 * delivery of a window's message to that one run.
 */
export class Kicker {
  private readonly now: () => Date;
  private readonly logger: Logger;
  private readonly maxRetryAfterSeconds: number;
  private readonly maxDeferrals: number;

  constructor(
    private readonly deps: KickDeps,
    private readonly options: KickerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? silentLogger;
    this.maxRetryAfterSeconds = options.maxRetryAfterSeconds ?? 3_600;
    this.maxDeferrals = options.maxDeferrals ?? 10;
  }

  async handle(message: KickMessage): Promise<KickOutcome> {
    const outcome = await this.kick(message);
    if (outcome.status === 'kicked') await this.purge(message.windowId);
    return outcome;
  }

  /** Housekeeping rides on kicks, which come at most once per window: never fails the kick. */
  private async purge(windowId: string): Promise<void> {
    if (this.options.retentionMs === undefined) return;
    const before = new Date(this.now().getTime() - this.options.retentionMs);
    try {
      const removed = await this.deps.store.purge(before);
      if (removed.events + removed.windows + removed.members > 0) this.logger.info({ runId: windowId, ...removed }, `kick state before ${before.toISOString()} removed`);
    } catch (err) {
      this.logger.warn({ runId: windowId, err }, 'removing old kick state failed; the next kick tries again');
    }
  }

  private async kick(message: KickMessage): Promise<KickOutcome> {
    const { windowId } = message;
    const { store, databricks, ledger } = this.deps;
    const existing = await store.window(windowId);
    if (!existing) return { status: 'no-window', windowId };
    if (existing.databricksRunId !== undefined) return { status: 'already-kicked', windowId, runId: existing.databricksRunId };
    if (existing.status === 'empty') return { status: 'empty', windowId };

    const window = (await store.closeWindow(windowId))!;
    const members = await store.members(windowId);
    if (members.length === 0) {
      await store.updateWindow(windowId, { status: 'empty' });
      this.logger.debug({ runId: windowId }, `kick window ${windowId} has no files (lost an opening race): nothing to start`);
      return { status: 'empty', windowId };
    }
    const files = members.length;
    const tables = [...new Set(members.map((m) => m.table))].sort();
    const { jobId } = this.options;
    const entry = await ledger.start({
      runId: windowId,
      subject: DATABRICKS_SUBJECT,
      activity: 'kick',
      trigger: 'blob-created',
      startedAt: this.now().toISOString(),
      files,
      low: window.opensAt,
      high: window.closesAt,
    });
    try {
      const { runId } = await databricks.runNow({ jobId, idempotencyToken: idempotencyToken(jobId, windowId) });
      const kickedAt = this.now().toISOString();
      const what = `medallion job ${jobId} run ${runId}`;
      const detail = `${what}; window ${window.opensAt}..${window.closesAt}; ${files} files; tables ${tablesText(tables, ',')}`;
      await store.updateWindow(windowId, { status: 'kicked', databricksRunId: runId, files, tables, kickedAt });
      const carried = await this.carry(window, runId, what);
      await ledger.finish(entry, { status: 'succeeded', files, detail: `${detail}${carried}` });
      this.logger.info({ runId: windowId, databricksRunId: runId, files, tables }, `kick window ${windowId}: started ${what} for ${files} files`);
      return { status: 'kicked', windowId, runId, files, tables };
    } catch (err) {
      const deferred = await this.defer(message, entry, err);
      if (deferred) return deferred;
      throw await this.failed(entry, window, err, `starting Databricks for ${files} file${files === 1 ? '' : 's'} in ${tablesText(tables)}${exhausted(message)}`);
    }
  }

  /**
   * Databricks answered 429 with a Retry-After longer than the client waits in one invocation:
   * send the message again, to arrive after that delay (at most maxRetryAfterSeconds), instead of
   * failing it and burning the host's deliveries in seconds. Undefined when this is no such 429,
   * or the message was deferred maxDeferrals times already (then it fails as usual).
   */
  private async defer(message: KickMessage, entry: LedgerRecord, err: unknown): Promise<KickOutcome | undefined> {
    const after = err instanceof DatabricksError ? err.details.retryAfterMs : undefined;
    const deferrals = (message.deferrals ?? 0) + 1;
    if (after === undefined || deferrals > this.maxDeferrals) return undefined;
    const seconds = Math.min(Math.max(1, Math.ceil(after / 1000)), this.maxRetryAfterSeconds);
    // Sent before anything is recorded: a crash here leaves the host's retry and this message, and
    // the idempotency token keeps that to one run.
    await this.deps.queue.send({ ...message, deferrals }, { visibilityTimeoutSeconds: seconds });
    const detail = `Databricks answered 429 with Retry-After ${after / 1000} s: the kick message comes back in ${seconds} s (deferral ${deferrals} of at most ${this.maxDeferrals})`;
    await this.deps.ledger.finish(entry, { status: 'skipped', detail }).catch(() => undefined);
    this.logger.warn({ runId: message.windowId, retryAfterMs: after, deferrals }, `kick window ${message.windowId}: ${detail}`);
    return { status: 'deferred', windowId: message.windowId, retryAfterSeconds: seconds, deferrals };
  }

  /**
   * Windows the host gave up on that opened before `window`: their files landed before its run
   * started, so that run takes them (Auto Loader processes every file it has not seen). Each is
   * marked carried by `window` with the run's id, and gets a ledger entry; the returned text is
   * for `window`'s own ledger detail. Never fails the kick: a window left given-up is carried by
   * the next one.
   */
  private async carry(window: KickWindow, databricksRunId: number, what: string): Promise<string> {
    try {
      const carried: string[] = [];
      for (const given of await this.deps.store.givenUpBefore(window.id)) {
        const files = await this.markCarried(given, window.id, databricksRunId, what);
        if (files !== undefined) carried.push(`${given.id} (${files} file${files === 1 ? '' : 's'})`);
      }
      if (carried.length === 0) return '';
      const named = carried.slice(0, CARRIED_NAMED).join(', ');
      const more = carried.length > CARRIED_NAMED ? ` and ${carried.length - CARRIED_NAMED} more` : '';
      this.logger.info({ runId: window.id, carried: carried.length }, `kick window ${window.id}: its run also takes the files of given-up windows ${named}${more}`);
      return `; also takes the files of given-up window${carried.length === 1 ? '' : 's'} ${named}${more}`;
    } catch (err) {
      this.logger.warn({ runId: window.id, err }, 'recording the given-up windows this run takes failed; the next kick records them');
      return '';
    }
  }

  /** `given` is carried by `carrier`'s run; undefined when it changed meanwhile (its own late kick message started a run). */
  private async markCarried(given: KickWindow, carrierId: string, databricksRunId: number, what: string): Promise<number | undefined> {
    const files = given.files ?? (await this.deps.store.members(given.id)).length;
    const done = await this.deps.store.updateWindow(given.id, { status: 'carried', carriedBy: carrierId, files, databricksRunId }, given.etag);
    if (!done) return undefined;
    const at = this.now().toISOString();
    const entry = await this.deps.ledger.start({ runId: given.id, subject: DATABRICKS_SUBJECT, activity: 'carried', trigger: 'kick', startedAt: at, files, low: given.opensAt, high: given.closesAt });
    await this.deps.ledger.finish(entry, { status: 'succeeded', finishedAt: at, files, detail: `the kick was given up; ${what} of window ${carrierId}, started after these files landed, takes them` });
    return files;
  }

  /**
   * The host gave up on a kick message. The window is marked given-up, so the next window's run
   * records that it takes these files too; if a later window's run already started (after these
   * files landed), the window is carried by it at once. Returns what became of the files, for
   * the poison report.
   */
  async giveUp(message: KickMessage): Promise<string> {
    const { store } = this.deps;
    for (let attempt = 0; attempt < 3; attempt++) {
      const window = await store.window(message.windowId);
      if (!window) return 'The window is no longer in the kick table (older than KICK_RETENTION_DAYS).';
      const runId = window.databricksRunId;
      if (runId !== undefined) return `Databricks run ${runId} was started for this window${window.carriedBy ? ` (window ${window.carriedBy})` : ''}: its files are not waiting.`;
      const members = window.files === undefined ? await store.members(window.id) : undefined;
      const files = window.files ?? members!.length;
      const tables = window.tables ?? [...new Set(members!.map((m) => m.table))].sort();
      const tableCount = window.tableCount ?? tables.length;
      const given = await store.updateWindow(window.id, { status: 'given-up', files, tables, tableCount }, window.etag);
      if (!given) continue;
      const listed = tableCount > tables.length ? `${tablesText(tables)}, ...(${tableCount} tables)` : tablesText(tables);
      const what = `${files} file${files === 1 ? '' : 's'}${tables.length ? ` in ${listed}` : ''}`;
      const later = await store.firstStartedAfter(window.id);
      const laterRun = later?.databricksRunId;
      if (later && laterRun !== undefined) {
        if ((await this.markCarried(given, later.id, laterRun, `run ${laterRun}`)) !== undefined) {
          return `The window's ${what} ${files === 1 ? 'was' : 'were'} taken by Databricks run ${laterRun} of window ${later.id}, which started after ${files === 1 ? 'it' : 'they'} landed.`;
        }
        continue;
      }
      return `The window's ${what} ${files === 1 ? 'is' : 'are'} safe in bronze but not yet in silver or gold: the next window's run takes ${files === 1 ? 'it' : 'them'} too (Auto Loader processes every file it has not seen) and the run ledger records it (activity carried), or start the medallion job by hand.`;
    }
    return 'The window kept changing while it was given up; see the run ledger.';
  }

  /** Ledger, log and notice for a failed step; returns the error to throw. */
  private async failed(entry: LedgerRecord, window: KickWindow, err: unknown, doing: string): Promise<Error> {
    const message = redactSecrets(err instanceof Error ? err.message : String(err));
    const error = new Error(`kick window ${window.id}: ${doing} failed: ${message}`, { cause: err });
    await this.deps.ledger.finish(entry, { status: 'failed', error: message }).catch(() => undefined);
    this.logger.error({ runId: window.id, err: error }, error.message);
    const notice: Notice = {
      kind: 'databricks-kick-failed',
      severity: 'error',
      runId: window.id,
      subject: DATABRICKS_SUBJECT,
      title: `Databricks ${entry.activity} for window ${window.id} failed`,
      detail: `${doing} failed: ${message}\nThe window's files stay in bronze; a retry of this message, or the next window's run, picks them up.`,
      lookAt: `run ledger: subject ${DATABRICKS_SUBJECT}, run ${window.id}; logs filtered on runId=${window.id}`,
      // One alert per window and step: the host's retries of one window stay quiet, another window's failure is heard.
      key: `databricks-kick:${entry.activity}:${window.id}`,
    };
    await this.deps.notifier.notify(notice).catch((e: unknown) => this.logger.error({ runId: window.id, err: e }, 'could not send the databricks-kick-failed notice'));
    return error;
  }
}

/** `a,b,c` for a few tables, the first LISTED_TABLES and a count for many: every text about a window stays bounded. */
export function tablesText(tables: string[], separator = ', '): string {
  return tables.length <= LISTED_TABLES ? tables.join(separator) : `${tables.slice(0, LISTED_TABLES).join(separator)}${separator}...(+${tables.length - LISTED_TABLES} more)`;
}

/** For the failure text of a message that was deferred before. */
function exhausted(message: KickMessage): string {
  return message.deferrals ? ` (after ${message.deferrals} deferral${message.deferrals === 1 ? '' : 's'} for 429)` : '';
}
