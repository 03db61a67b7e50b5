import type { Logger } from '../logging/logger.js';
import type { LedgerRef, RunLedger } from './runLedger.js';

/**
 * The run that held the work before this one stopped without closing its ledger entry (killed,
 * out of memory, or stalled past its lease): its entry becomes `abandoned`, naming this run, so
 * the ledger never shows a run as running that nobody runs. Bookkeeping only: a failure is logged.
 */
export async function closeAbandoned(deps: { ledger: RunLedger }, previous: LedgerRef, by: { runId: string; owner: string }, log: Logger): Promise<void> {
  try {
    if (await deps.ledger.abandon(previous, by)) log.warn({ abandonedRun: previous.runId }, `run ${previous.runId} stopped without finishing; its ledger entry is closed as abandoned`);
  } catch (err) {
    log.warn({ err, abandonedRun: previous.runId }, 'could not close the ledger entry of the run this one took over from');
  }
}
