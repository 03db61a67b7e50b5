import type { Logger } from '../logging/logger.js';

/**
 * Something went wrong (or right) that a person should hear about. Every notice carries the
 * run id and a place to look. Channels (email, webhook) come with the alerts issue; the core
 * only depends on this interface.
 */
export type NoticeKind = 'ingestion-failed' | 'poison-message' | 'schema-drift' | 'backfill-chunk-failed' | 'databricks-kick-failed' | 'run-summary';

export interface Notice {
  kind: NoticeKind;
  severity: 'error' | 'warning' | 'info';
  runId: string;
  subject: string;
  title: string;
  detail: string;
  /** Where to look: ledger query, log filter, status URL. */
  lookAt?: string;
  /** Failures with the same key are throttled together. */
  key?: string;
}

export interface Notifier {
  notify(notice: Notice): Promise<void>;
}

/** Writes notices to the log: the default until real channels are configured. */
export class LogNotifier implements Notifier {
  constructor(private readonly logger: Logger) {}

  async notify(notice: Notice): Promise<void> {
    const level = notice.severity === 'error' ? 'error' : notice.severity === 'warning' ? 'warn' : 'info';
    this.logger[level]({ runId: notice.runId, notice }, `${notice.kind}: ${notice.title}`);
  }
}
