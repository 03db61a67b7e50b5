import { randomUUID } from 'node:crypto';
import type { Logger } from '../logging/logger.js';
import type { Alert, AlertChannel } from './alertChannel.js';
import { describeError, redactNotice } from './alertRedact.js';
import type { AlertThrottle, ThrottleClaim } from './alertThrottle.js';
import { type DeliveryOutcome, type DeliveryPolicy, deliver, deliveryBudgetMs } from './channelDelivery.js';
import { withDeadline } from './deadline.js';
import { LogNotifier, type Notice, type Notifier } from './notifier.js';

export interface AlertNotifierOptions {
  channels: AlertChannel[];
  logger: Logger;
  /** Timeout per attempt (also bounds each throttle call), retries and backoff of every channel. */
  policy: DeliveryPolicy;
  /** Shared throttle; without one, every notice is sent. Notices without a `key` are never throttled. */
  throttle?: AlertThrottle;
  /** Send 'run-summary' notices of runs without failures (default false: they are only logged; a run's failure digest is always sent). */
  onSuccess?: boolean;
  now?: () => Date;
}

/** What became of one notice. */
export type AlertReport =
  | { sent: false; reason: 'summaries-off' | 'throttled' | 'deadline'; outcomes: DeliveryOutcome[] }
  | { sent: boolean; reason: 'delivered' | 'undelivered'; alert: Alert; outcomes: DeliveryOutcome[] };

/**
 * Logs every notice, then sends it through every channel at once, unless its key was already
 * sent within the throttle period by this or any other instance.
 *
 * It never throws and never takes longer than `budgetMs`: the throttle check and each attempt
 * of each channel have a deadline, retries are bounded, channels run side by side, and the
 * whole is raced against the budget. A channel that stays silent is dropped and logged; the
 * others still deliver. A claim whose alert reached no channel is handed back to the throttle.
 */
export class AlertNotifier implements Notifier {
  /** The longest notify() can take. */
  readonly budgetMs: number;
  private readonly log: LogNotifier;
  private readonly now: () => Date;

  constructor(private readonly options: AlertNotifierOptions) {
    this.log = new LogNotifier(options.logger);
    this.now = options.now ?? (() => new Date());
    // throttle claim + channels + handing a claim back, plus a little for the bookkeeping.
    this.budgetMs = 2 * options.policy.timeoutMs + deliveryBudgetMs(options.policy) + 250;
  }

  async notify(notice: Notice): Promise<void> {
    await this.report(notice);
  }

  /** notify(), saying what happened: for tests and the CLI. Never throws. */
  async report(notice: Notice): Promise<AlertReport> {
    try {
      return await withDeadline(this.budgetMs, () => this.run(notice));
    } catch (err) {
      this.options.logger.error({ runId: notice.runId, err: describeError(err) }, `alert ${notice.kind} for ${notice.subject} abandoned: ${describeError(err)}`);
      return { sent: false, reason: 'deadline', outcomes: [] };
    }
  }

  private async run(raw: Notice): Promise<AlertReport> {
    const { logger, policy, throttle } = this.options;
    const notice = redactNotice(raw);
    await this.log.notify(notice).catch(() => undefined);
    const log = logger.child({ runId: notice.runId, alert: notice.kind, subject: notice.subject });

    // A summary of severity error is a run's failure digest: it always goes out.
    if (notice.kind === 'run-summary' && notice.severity !== 'error' && !this.options.onSuccess) return { sent: false, reason: 'summaries-off', outcomes: [] };

    const now = this.now();
    let suppressed = 0;
    let suppressedRuns: string[] = [];
    let claim: ThrottleClaim | undefined;
    if (throttle && notice.key) {
      try {
        const decision = await withDeadline(policy.timeoutMs, (signal) => throttle.claim(notice.key!, notice.runId, now, signal));
        if (!decision.send) {
          log.info({ key: notice.key, lastSentAt: decision.lastSentAt }, `alert held back: ${notice.key} was sent at ${decision.lastSentAt}`);
          return { sent: false, reason: 'throttled', outcomes: [] };
        }
        suppressed = decision.suppressed;
        suppressedRuns = decision.suppressedRuns;
        claim = decision.claim;
      } catch (err) {
        // Better twice than never: without the shared state, send.
        log.warn({ key: notice.key, err: describeError(err) }, `alert throttle unavailable, sending anyway: ${describeError(err)}`);
      }
    }

    const alert: Alert = { id: randomUUID(), notice, at: now.toISOString(), suppressed, ...(suppressedRuns.length ? { suppressedRuns } : {}) };
    const outcomes = await Promise.all(this.options.channels.map((channel) => deliver(channel, alert, policy)));
    for (const o of outcomes) {
      if (o.delivered) {
        log.info({ channel: o.channel, attempts: o.attempts, receipt: o.receipt, failures: o.failures }, `alert sent via ${o.channel}${o.receipt.note ? ` (${o.receipt.note})` : ''}`);
      } else {
        log.error({ channel: o.channel, attempts: o.attempts, failures: o.failures }, `alert dropped by ${o.channel} after ${o.attempts} attempt(s): ${o.failures.at(-1)?.error ?? 'unknown error'}`);
      }
    }
    const sent = outcomes.some((o) => o.delivered);
    if (!sent && claim && throttle) {
      const handedBack = await withDeadline(policy.timeoutMs, (signal) => throttle.release(claim, signal)).catch(() => false);
      log.warn(
        { key: notice.key, handedBack },
        handedBack ? 'alert reached no channel; the next notice with this key will be tried again' : 'alert reached no channel; its throttle claim could not be handed back',
      );
    }
    return { sent, reason: sent ? 'delivered' : 'undelivered', alert, outcomes };
  }
}
