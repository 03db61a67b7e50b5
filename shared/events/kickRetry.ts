import { RequestError } from '../http/requestError.js';
import type { KickQueue } from './kickQueue.js';
import { kickMessageSchema } from './kickQueue.js';
import type { KickStore } from './kickStore.js';

/** Window states a person may start again: the host gave up on the kick, no run took the files. */
export const RETRYABLE_WINDOW_STATES: readonly string[] = ['given-up'];

/**
 * Start a given-up window's kick again: the same kick message the debouncer sends, on the same
 * queue, so the kick function does the rest exactly as the first time (Jobs run-now with the
 * window's idempotency token, ledger, alerts, and the host's retries and poison queue if it fails
 * again). A window in any other state is refused: it is open, being kicked, or its files already
 * went to a run.
 */
export async function retryKick(deps: { store: KickStore; kickQueue: KickQueue }, windowId: string): Promise<{ windowId: string; previousStatus: string }> {
  if (!kickMessageSchema.shape.windowId.safeParse(windowId).success) throw new RequestError('id', 'must be a kick window id such as w-20261125T084700Z-5f2c9a');
  const window = await deps.store.window(windowId);
  if (!window) throw new RequestError('id', `no kick window ${windowId} (it may be older than KICK_RETENTION_DAYS)`, 404);
  if (!RETRYABLE_WINDOW_STATES.includes(window.status)) {
    const why = window.databricksRunId;
    throw new RequestError('id', `window ${windowId} is ${window.status}${why !== undefined ? ` (Databricks run ${why})` : ''}; only a window whose kick was given up can be retried`, 409);
  }
  await deps.kickQueue.send({ windowId, step: 'kick' });
  return { windowId, previousStatus: window.status };
}
