import { setTimeout as sleep } from 'node:timers/promises';
import { type Alert, type AlertChannel, ChannelError, type DeliveryReceipt } from './alertChannel.js';
import { describeError } from './alertRedact.js';
import { withDeadline } from './deadline.js';

export interface DeliveryPolicy {
  /** Deadline of one attempt. */
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  /** Pause before the first retry, doubled before each next one. */
  backoffMs: number;
}

export interface AttemptFailure {
  attempt: number;
  error: string;
  retryable: boolean;
}

export type DeliveryOutcome =
  | { channel: string; delivered: true; attempts: number; receipt: DeliveryReceipt; failures: AttemptFailure[] }
  | { channel: string; delivered: false; attempts: number; failures: AttemptFailure[] };

const MAX_PAUSE_MS = 30_000;
/** After its deadline, how long an attempt may take to wind down and say how far it got. */
export const GRACE_MS = 100;

/** Pause after failed attempt `n` (1-based): backoffMs, doubled each time, at most 30 s. */
const pauseMs = (policy: DeliveryPolicy, n: number): number => Math.min(policy.backoffMs * 2 ** (n - 1), Math.max(policy.backoffMs, MAX_PAUSE_MS));

/** The longest one channel can take under the policy: every attempt timing out, every pause taken. */
export function deliveryBudgetMs(policy: DeliveryPolicy): number {
  let pauses = 0;
  for (let n = 1; n <= policy.retries; n++) pauses += pauseMs(policy, n);
  return (policy.retries + 1) * (policy.timeoutMs + GRACE_MS) + pauses;
}

/**
 * Send an alert through one channel: each attempt bounded by the timeout, failed attempts
 * retried with doubling pauses while they are worth retrying. Never throws; says what happened.
 */
export async function deliver(channel: AlertChannel, alert: Alert, policy: DeliveryPolicy): Promise<DeliveryOutcome> {
  const failures: AttemptFailure[] = [];
  for (let attempt = 1; attempt <= policy.retries + 1; attempt++) {
    try {
      const receipt = await withDeadline(policy.timeoutMs, (signal) => channel.send(alert, signal), GRACE_MS);
      return { channel: channel.name, delivered: true, attempts: attempt, receipt, failures };
    } catch (err) {
      const retryable = !(err instanceof ChannelError) || err.retryable;
      failures.push({ attempt, error: describeError(err), retryable });
      if (!retryable || attempt > policy.retries) break;
      await sleep(pauseMs(policy, attempt));
    }
  }
  return { channel: channel.name, delivered: false, attempts: failures.length, failures };
}
