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
