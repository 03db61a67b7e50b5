import type { Logger } from '../logging/logger.js';
import { SourceBusyError } from '../source/sourceRegistry.js';
import type { JsonQueue } from './jsonQueue.js';

/**
 * A queue message whose source has no free connection slot is not failed: it is sent again with
 * a visibility delay and the delivery in hand completes, so the host's dequeue count (and with
 * it the poison queue) only ever counts real failures. Waiting inside the invocation instead
 * would hold one of the instance's concurrent messages (host.json batchSize + newBatchThreshold)
 * doing nothing, under the function timeout.
 */
export interface BusyPolicy {
  /** Delay of the first deferral, in seconds; it doubles with each one, up to MAX_BUSY_DELAY_SECONDS. */
  retrySeconds: number;
  /** Deferrals of one message; past them it fails like any failure (retried by the host, then poisoned and alerted). */
  maxDeferrals: number;
}

export const MAX_BUSY_DELAY_SECONDS = 600;

/** Seconds until the `deferrals`-th deferral comes back: doubling from `retrySeconds`, plus up to a fifth of jitter so deferred messages spread out. */
export function busyDelaySeconds(deferrals: number, policy: BusyPolicy, random: () => number = Math.random): number {
  const base = Math.min(MAX_BUSY_DELAY_SECONDS, policy.retrySeconds * 2 ** Math.max(0, deferrals - 1));
  return Math.min(MAX_BUSY_DELAY_SECONDS, Math.max(1, Math.round(base * (1 + random() / 5))));
}

/**
 * Send `message` back to `queue` for a later try, one deferral more; past `maxDeferrals` throw
 * SourceBusyError instead, so the message fails like any failure. Returns what to log and report.
 */
export async function deferForBusySource<M extends { deferrals?: number }>(
  queue: JsonQueue<M>,
  message: M,
  context: { source: string; maxConnections: number; policy: BusyPolicy; what: string; runId: string; logger: Logger },
): Promise<{ deferrals: number; delaySeconds: number; message: string }> {
  const { source, maxConnections, policy, what } = context;
  const deferrals = (message.deferrals ?? 0) + 1;
  if (deferrals > policy.maxDeferrals) throw new SourceBusyError(source, maxConnections, ` after ${deferrals - 1} deferrals of ${what}`);
  const delaySeconds = busyDelaySeconds(deferrals, policy);
  await queue.send({ ...message, deferrals }, { visibilityTimeoutSeconds: delaySeconds });
  const text = `source ${source} has all ${maxConnections} connection slots in use: ${what} comes back in ${delaySeconds} s (deferral ${deferrals} of at most ${policy.maxDeferrals})`;
  context.logger.info({ runId: context.runId, source, deferrals, delaySeconds }, text);
  return { deferrals, delaySeconds, message: text };
}
