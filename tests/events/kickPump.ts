import type { Logger } from '../../shared/logging/logger.js';
import { silentLogger } from '../../shared/logging/logger.js';
import type { EventDeps } from '../../shared/events/eventDeps.js';
import type { KickOutcome } from '../../shared/events/kicker.js';

export interface KickPumpOptions {
  /** Give up on a message after this many failed deliveries, like host.json maxDequeueCount (default 5). */
  maxDequeueCount?: number;
  /** How long a received message stays hidden; a failed one comes back after it (default 30 s). */
  visibilityTimeoutSeconds?: number;
  logger?: Logger;
}

/**
 * The kick queue played the way the Functions host plays it, for tests (the local runner plays
 * every queue through local/localHost.ts): every visible message is handled, deleted on success,
 * left to reappear on failure, and dropped after maxDequeueCount failures.
 */
export async function processVisibleKicks(deps: EventDeps, options: KickPumpOptions = {}): Promise<{ outcomes: KickOutcome[]; failures: Error[] }> {
  const max = options.maxDequeueCount ?? 5;
  const logger = options.logger ?? silentLogger;
  const outcomes: KickOutcome[] = [];
  const failures: Error[] = [];
  for (;;) {
    const items = await deps.kickQueue.receive(16, options.visibilityTimeoutSeconds ?? 30);
    if (items.length === 0) return { outcomes, failures };
    for (const item of items) {
      try {
        outcomes.push(await deps.onKickMessage(item.message));
        await deps.kickQueue.delete(item);
      } catch (err) {
        failures.push(err as Error);
        if (item.dequeueCount >= max) {
          logger.error({ err }, `kick message given up after ${item.dequeueCount} attempts: ${JSON.stringify(item.message)}`);
          await deps.kickQueue.delete(item);
        }
      }
    }
  }
}
