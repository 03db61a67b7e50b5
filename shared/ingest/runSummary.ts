import type { TableRunResult } from '../extract/ingestTable.js';
import type { Notice, Notifier } from '../notify/notifier.js';
import type { TableOutcome } from '../state/runCompletion.js';
import type { RunLedger, RunStatus } from '../state/runLedger.js';

/** A table's outcome in a run; from the ledger it may also be `abandoned` (its process died, another run took over). */
type Outcome = Pick<TableRunResult, 'table' | 'rows' | 'files'> & { status: Exclude<RunStatus, 'running'> };

/** The optional success notice of a run: one line per table (channels send it only when ALERT_ON_SUCCESS is on). */
export function summaryNotice(runId: string, trigger: string, outcomes: Outcome[]): Notice {
  const failed = outcomes.filter((o) => o.status === 'failed' || o.status === 'abandoned').length;
  const rows = outcomes.reduce((n, o) => n + o.rows, 0);
  return {
    kind: 'run-summary',
    severity: failed > 0 ? 'warning' : 'info',
    runId,
    subject: '_runs',
    title: `run ${runId} (${trigger}): ${outcomes.length} tables, ${rows} rows${failed ? `, ${failed} failed` : ''}`,
    detail: outcomes.map((o) => `${o.table}: ${o.status}, ${o.rows} rows, ${o.files} files`).join('\n'),
    lookAt: `run ledger, run ${runId}`,
    key: `summary:${runId}`,
  };
}

/**
 * Under the Functions host no single invocation sees a whole run: each table finishes in its own.
 * Each counts its table's outcome in the run's own partition (RunCompletion), no scan; the one
 * whose count completes the plan sends the summary. A message retried after that finds the run
 * complete and sends it only if it never went out (the notice key lets the throttle keep one).
 * Returns whether this call sent the summary.
 */
export async function countTableOutcome(deps: { ledger: RunLedger; notifier: Notifier }, runId: string, outcome: TableOutcome): Promise<boolean> {
  const completion = deps.ledger.completion;
  const { complete, tally } = await completion.count(runId, outcome);
  if (!complete || !tally || tally.summarisedAt) return false;
  const outcomes = await completion.outcomes(runId);
  await deps.notifier.notify(summaryNotice(runId, tally.trigger, outcomes));
  await completion.summarised(runId);
  return true;
}
