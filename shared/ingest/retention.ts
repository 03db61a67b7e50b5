import { tableClient } from '../azure/storageClients.js';
import type { Settings } from '../config/settings.js';
import { KickStore } from '../events/kickStore.js';
import type { Logger } from '../logging/logger.js';
import type { RunLedger } from '../state/runLedger.js';
import { isNotFound } from '../state/tableErrors.js';

const DAY_MS = 86_400_000;
/** Days before the cut-off a purge looks at: a timer that stopped for a while catches up over its next runs. */
const DAYS_PER_PURGE = 3;

/**
 * Retention that rides on the ingest timer, which runs whatever becomes of Databricks kicks: the
 * ledger's entries (and run tallies) older than LEDGER_RETENTION_DAYS, and kick state (event ids,
 * windows, their files) older than KICK_RETENTION_DAYS. Each part costs a few key reads and what
 * it deletes. Never fails the timer: a failure is logged and the next tick tries again.
 */
export async function applyRetention(deps: { settings: Settings; ledger: RunLedger; logger: Logger }, runId: string, now = new Date()): Promise<void> {
  const { retention, storage } = deps.settings;
  const ledgerBefore = new Date(now.getTime() - retention.ledgerDays * DAY_MS);
  const kickBefore = new Date(now.getTime() - retention.kickDays * DAY_MS);
  await Promise.all([
    deps.ledger.purge(ledgerBefore, DAYS_PER_PURGE).then(
      (r) => r.entries > 0 && deps.logger.info({ runId, ...r }, `ledger entries before ${ledgerBefore.toISOString().slice(0, 10)} removed`),
      (err: unknown) => deps.logger.warn({ runId, err }, 'removing old ledger entries failed; the next run tries again'),
    ),
    new KickStore(tableClient(storage, retention.kickTable)).purge(kickBefore).then(
      (r) => r.events + r.windows + r.members > 0 && deps.logger.info({ runId, ...r }, `kick state before ${kickBefore.toISOString()} removed`),
      // No kick table: events are not set up here.
      (err: unknown) => isNotFound(err) || deps.logger.warn({ runId, err }, 'removing old kick state failed; the next run tries again'),
    ),
  ]);
}
