import { randomBytes } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { rowKeyOf } from '../events/kickStore.js';
import type { Logger } from '../logging/logger.js';
import { ensureTable } from '../state/tableErrors.js';
import type { AlertView } from '../../console/src/consoleTypes.js';
import { AlertNotifier, type AlertReport } from './alertNotifier.js';
import { redactNotice } from './alertRedact.js';
import { withDeadline } from './deadline.js';
import type { Notice, Notifier } from './notifier.js';

/** Recording an alert waits at most this long (the Table write); the pipeline never waits longer for it. */
const RECORD_TIMEOUT_MS = 5_000;

export type AlertRecord = AlertView & { runId: string };

type Entity = Omit<AlertRecord, 'channels'> & { partitionKey: string; rowKey: string; channels: string };

/** Partitions of the alert table that hold sent alerts, one per run (the throttle's rows live in partition `alert`). */
const partitionOf = (runId: string): string => `run-${rowKeyOf(runId)}`;

/**
 * What the notifier did with each notice, per run: sent through which channel, held back by the
 * throttle, or only logged because no channel is configured. Kept in the alert table
 * (ALERT_THROTTLE_TABLE) beside the throttle's rows, one partition per run id, so a run's
 * alerts are one partition read. Texts are redacted before they are stored.
 */
export class AlertLog {
  private ensured: Promise<void> | undefined;

  constructor(private readonly client: TableClient) {}

  private ensure(): Promise<void> {
    // Once per instance; a failed attempt is tried again next time.
    this.ensured ??= ensureTable(this.client).catch((err: unknown) => {
      this.ensured = undefined;
      throw err;
    });
    return this.ensured;
  }

  async record(raw: Notice, outcome: string, channels: AlertView['channels'], at = new Date()): Promise<void> {
    await this.ensure();
    const notice = redactNotice(raw);
    const iso = at.toISOString();
    await this.client.createEntity<Entity>({
      partitionKey: partitionOf(notice.runId),
      rowKey: `${iso}-${randomBytes(4).toString('hex')}`,
      at: iso,
      runId: notice.runId,
      kind: notice.kind,
      severity: notice.severity,
      subject: notice.subject,
      title: notice.title.slice(0, 2_000),
      detail: notice.detail.slice(0, 8_000),
      outcome,
      channels: JSON.stringify(channels),
    });
  }

  /** The alerts of one run, oldest first. */
  async ofRun(runId: string): Promise<AlertRecord[]> {
    const out: AlertRecord[] = [];
    try {
      for await (const e of this.client.listEntities<Entity>({ queryOptions: { filter: odata`PartitionKey eq ${partitionOf(runId)}` } })) {
        out.push({ at: e.at, runId: e.runId, kind: e.kind, severity: e.severity, subject: e.subject, title: e.title, detail: e.detail, outcome: e.outcome, channels: JSON.parse(e.channels) as AlertView['channels'] });
      }
    } catch (err) {
      // No alert was ever recorded: the table does not exist yet.
      if ((err as { statusCode?: number }).statusCode === 404) return [];
      throw err;
    }
    return out.sort((a, b) => a.at.localeCompare(b.at));
  }
}

function describe(report: AlertReport): { outcome: string; channels: AlertView['channels'] } {
  return {
    outcome: report.reason,
    channels: report.outcomes.map((o) => ({ channel: o.channel, delivered: o.delivered, attempts: o.attempts, ...(o.failures.length ? { error: o.failures.at(-1)!.error } : {}) })),
  };
}

/**
 * A notifier that also records, in the alert log, what became of each notice: the console shows
 * a run's alerts from there. Recording never fails or delays the pipeline beyond one Table write:
 * a failure to record is logged and dropped. Run summaries that were not sent are not recorded.
 */
export class RecordedNotifier implements Notifier {
  constructor(
    readonly inner: Notifier,
    private readonly log: AlertLog,
    private readonly logger: Logger,
  ) {}

  async notify(notice: Notice): Promise<void> {
    let described: { outcome: string; channels: AlertView['channels'] } | undefined;
    if (this.inner instanceof AlertNotifier) {
      const report = await this.inner.report(notice);
      if (report.reason !== 'summaries-off') described = describe(report);
    } else {
      await this.inner.notify(notice);
      if (notice.kind !== 'run-summary') described = { outcome: 'logged', channels: [] };
    }
    if (!described) return;
    const outcome = described;
    await withDeadline(RECORD_TIMEOUT_MS, () => this.log.record(notice, outcome.outcome, outcome.channels)).catch((err: unknown) => {
      this.logger.warn({ runId: notice.runId, err }, `recording the ${notice.kind} alert in the alert log failed; it was ${outcome.outcome}`);
    });
  }
}
