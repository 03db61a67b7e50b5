import type { DatabricksClient } from '../databricks/databricksClient.js';
import type { Logger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import { redactSecrets } from '../logging/redact.js';
import type { Notice, Notifier } from '../notify/notifier.js';
import type { LedgerRecord, RunLedger } from '../state/runLedger.js';
import type { KickMode } from './eventSettings.js';
import type { KickMessage, KickQueue } from './kickQueue.js';
import type { KickStore, KickWindow } from './kickStore.js';

/** Ledger subject of every Databricks kick. */
export const DATABRICKS_SUBJECT = '_databricks';

/** A gold claim older than this is taken to belong to a crashed invocation. */
const GOLD_CLAIM_MS = 10 * 60_000;

export interface KickerOptions {
  mode: KickMode;
  /** Mode job-then-pipeline: delay between polls of the silver run, and the most polls. */
  pollSeconds: number;
  maxPolls: number;
  /** Kick state older than this is removed after each successful kick (absent: kept forever). */
  retentionMs?: number;
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
  | { status: 'silver-started'; windowId: string; runId: number; files: number; tables: string[] }
  | { status: 'gold-started'; windowId: string; updateId: string }
  | { status: 'already-kicked'; windowId: string; runId?: number; updateId?: string }
  | { status: 'empty'; windowId: string }
  | { status: 'no-window'; windowId: string }
  | { status: 'waiting-for-silver'; windowId: string; runId: number; poll: number }
  | { status: 'silver-failed'; windowId: string; runId: number }
  | { status: 'gave-up'; windowId: string; runId: number }
  | { status: 'claimed-elsewhere'; windowId: string };

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
 * Mode `job` (default): run-now of the medallion job (silver, then the gold pipeline as its task).
 * Mode `job-then-pipeline`: run-now of the silver job, then `gold` messages poll it and, once it
 * succeeded, start one update of the gold pipeline (claimed with an ETag first, because the
 * Pipelines API has no idempotency token).
 */
export class Kicker {
  private readonly now: () => Date;
  private readonly logger: Logger;

  constructor(
    private readonly deps: KickDeps,
    private readonly options: KickerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? silentLogger;
  }

  async handle(message: KickMessage, context: { owner: string }): Promise<KickOutcome> {
    const outcome = message.step === 'kick' ? await this.kick(message.windowId) : await this.gold(message.windowId, message.poll ?? 0, context.owner);
    if (outcome.status === 'kicked' || outcome.status === 'silver-started') await this.purge(message.windowId);
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

  private async kick(windowId: string): Promise<KickOutcome> {
    const { store, databricks, ledger, queue } = this.deps;
    const existing = await store.window(windowId);
    if (!existing) return { status: 'no-window', windowId };
    const started = existing.databricksRunId ?? existing.silverRunId;
    if (started !== undefined) return { status: 'already-kicked', windowId, runId: started };
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
    const mode = this.options.mode;
    const jobId = mode.kind === 'job' ? mode.jobId : mode.silverJobId;
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
      const what = `${mode.kind === 'job' ? 'medallion' : 'silver'} job ${jobId} run ${runId}`;
      const detail = `${what}; window ${window.opensAt}..${window.closesAt}; ${files} files; tables ${tables.join(',')}`;
      if (mode.kind === 'job') {
        await store.updateWindow(windowId, { status: 'kicked', databricksRunId: runId, files, tables, kickedAt });
        await ledger.finish(entry, { status: 'succeeded', files, detail });
        this.logger.info({ runId: windowId, databricksRunId: runId, files, tables }, `kick window ${windowId}: started ${what} for ${files} files`);
        return { status: 'kicked', windowId, runId, files, tables };
      }
      // The poll message goes out before the window records the run: a crash in between repeats
      // run-now (same token, same run) and sends another poll (the gold claim keeps it to one update).
      await queue.send({ windowId, step: 'gold', poll: 0 }, { visibilityTimeoutSeconds: this.options.pollSeconds });
      await store.updateWindow(windowId, { status: 'silver-started', silverRunId: runId, files, tables, kickedAt });
      await ledger.finish(entry, { status: 'succeeded', files, detail: `${detail}; gold pipeline ${mode.pipelineId} starts when the run succeeds` });
      this.logger.info({ runId: windowId, databricksRunId: runId, files, tables }, `kick window ${windowId}: started ${what} for ${files} files`);
      return { status: 'silver-started', windowId, runId, files, tables };
    } catch (err) {
      throw await this.failed(entry, window, err, `starting Databricks for ${files} file${files === 1 ? '' : 's'} in ${tables.join(', ')}`);
    }
  }

  private async gold(windowId: string, poll: number, owner: string): Promise<KickOutcome> {
    const { store, databricks, ledger, queue } = this.deps;
    const mode = this.options.mode;
    if (mode.kind !== 'job-then-pipeline') throw new Error(`gold message for ${windowId}, but DATABRICKS_KICK_MODE is ${mode.kind}`);
    const window = await store.window(windowId);
    if (!window || window.silverRunId === undefined) return { status: 'no-window', windowId };
    if (window.pipelineUpdateId) return { status: 'already-kicked', windowId, updateId: window.pipelineUpdateId };
    if (window.status === 'silver-failed' || window.status === 'gave-up') return { status: window.status, windowId, runId: window.silverRunId };
    const silverRunId = window.silverRunId;

    let run;
    try {
      run = await databricks.getRun(silverRunId);
    } catch (err) {
      throw await this.failed(await this.goldEntry(window), window, err, `reading silver run ${silverRunId}`);
    }
    if (!run.terminated) {
      if (poll + 1 >= this.options.maxPolls) {
        await store.updateWindow(windowId, { status: 'gave-up', error: `silver run ${silverRunId} still ${run.lifeCycleState} after ${poll + 1} polls` });
        const entry = await this.goldEntry(window);
        await this.failed(entry, window, new Error(`silver run ${silverRunId} still ${run.lifeCycleState} after ${poll + 1} polls`), 'waiting for the silver run');
        return { status: 'gave-up', windowId, runId: silverRunId };
      }
      await queue.send({ windowId, step: 'gold', poll: poll + 1 }, { visibilityTimeoutSeconds: this.options.pollSeconds });
      return { status: 'waiting-for-silver', windowId, runId: silverRunId, poll: poll + 1 };
    }
    if (!run.succeeded) {
      const reason = `silver run ${silverRunId} ended ${run.resultState ?? run.lifeCycleState}${run.stateMessage ? `: ${run.stateMessage}` : ''}`;
      await store.updateWindow(windowId, { status: 'silver-failed', error: reason });
      const entry = await this.goldEntry(window);
      await this.failed(entry, window, new Error(`${reason}; gold pipeline ${mode.pipelineId} not started`), 'the silver run');
      return { status: 'silver-failed', windowId, runId: silverRunId };
    }

    const claimed = await this.claimGold(window, owner);
    if (!claimed) return { status: 'claimed-elsewhere', windowId };
    const entry = await this.goldEntry(claimed);
    try {
      const { updateId } = await databricks.startPipelineUpdate(mode.pipelineId);
      await store.updateWindow(windowId, { status: 'kicked', pipelineUpdateId: updateId });
      await ledger.finish(entry, { status: 'succeeded', detail: `pipeline ${mode.pipelineId} update ${updateId} after silver run ${silverRunId}; window ${window.opensAt}..${window.closesAt}` });
      this.logger.info({ runId: windowId, pipelineUpdateId: updateId }, `kick window ${windowId}: started gold pipeline update ${updateId}`);
      return { status: 'gold-started', windowId, updateId };
    } catch (err) {
      // Let the retry claim again at once.
      await store.updateWindow(windowId, { goldClaim: null }).catch(() => undefined);
      throw await this.failed(entry, window, err, `starting gold pipeline ${mode.pipelineId}`);
    }
  }

  /** Only one invocation starts the pipeline update of a window (unless its claim went stale). */
  private async claimGold(window: KickWindow, owner: string): Promise<KickWindow | null> {
    let current: KickWindow | null = window;
    for (let i = 0; i < 5 && current; i++) {
      if (current.pipelineUpdateId) return null;
      const claim = current.goldClaim;
      if (claim?.owner && claim.owner !== owner && this.now().getTime() - Date.parse(claim.at) < GOLD_CLAIM_MS) return null;
      const won = await this.deps.store.updateWindow(current.id, { goldClaim: { owner, at: this.now().toISOString() } }, current.etag);
      if (won) return won;
      current = await this.deps.store.window(current.id);
    }
    return null;
  }

  private goldEntry(window: KickWindow): Promise<LedgerRecord> {
    return this.deps.ledger.start({
      runId: window.id,
      subject: DATABRICKS_SUBJECT,
      activity: 'gold',
      trigger: 'kick-queue',
      startedAt: this.now().toISOString(),
      ...(window.files !== undefined ? { files: window.files } : {}),
      low: window.opensAt,
      high: window.closesAt,
    });
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
      key: `databricks-kick:${entry.activity}`,
    };
    await this.deps.notifier.notify(notice).catch((e: unknown) => this.logger.error({ runId: window.id, err: e }, 'could not send the databricks-kick-failed notice'));
    return error;
  }
}
