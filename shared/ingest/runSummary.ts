import type { TableRunResult } from '../extract/ingestTable.js';
import type { Notice, Notifier } from '../notify/notifier.js';
import type { TableOutcome } from '../state/runCompletion.js';
import type { RunLedger, RunStatus } from '../state/runLedger.js';

/** A table's outcome in a run; from the ledger it may also be `abandoned` (its process died, another run took over). */
type Outcome = Pick<TableRunResult, 'table' | 'rows' | 'files'> & { status: Exclude<RunStatus, 'running'>; error?: string };

/** Tables named per line of a digest; the rest are counted (the ledger and the console have them all). */
const NAMED_PER_LINE = 20;
/** Lines of a summary that lists each table: past this, tables are counted by status instead. */
const LISTED_OUTCOMES = 50;

const named = (tables: string[]): string =>
  tables.length <= NAMED_PER_LINE ? tables.join(', ') : `${tables.slice(0, NAMED_PER_LINE).join(', ')} and ${tables.length - NAMED_PER_LINE} more`;

/** Failed tables grouped by their error, largest group first: a 500-table outage of one source is one line. */
function failureLines(failed: Outcome[]): string[] {
  const byError = new Map<string, string[]>();
  for (const o of failed) {
    // Table names inside an error would split one outage into as many groups as tables.
    const error = (o.error ?? o.status).replaceAll(o.table, '<table>');
    byError.set(error, [...(byError.get(error) ?? []), o.table]);
  }
  return [...byError.entries()].sort((a, b) => b[1].length - a[1].length).map(([error, tables]) => `${tables.length} failed: ${error}\n  tables: ${named(tables.sort())}`);
}

/**
 * The notice a run ends with. Without failures (or for a run of one table, whose failure alerted
 * on its own) it is the optional summary, sent only with ALERT_ON_SUCCESS. A run of several
 * tables with failures ends in its failure digest, always sent: the failed
 * tables grouped by error, so an outage of one source with 500 tables is one message, then the
 * counts by status. Its key is the same for every run (`digest:ingest`), so during a long outage
 * one digest goes out per throttle period and names the runs it held back: the mails stay within
 * the e-mail domain's limits and no run goes unnamed.
 */
export function summaryNotice(runId: string, trigger: string, outcomes: Outcome[]): Notice {
  const failed = outcomes.filter((o) => o.status === 'failed' || o.status === 'abandoned');
  const rows = outcomes.reduce((n, o) => n + o.rows, 0);
  const byStatus = new Map<string, number>();
  for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
  const counts = [...byStatus.entries()].map(([status, n]) => `${n} ${status}`).join(', ');
  const perTable = outcomes.length <= LISTED_OUTCOMES ? outcomes.map((o) => `${o.table}: ${o.status}, ${o.rows} rows, ${o.files} files`) : [`${counts}`];
  // A run of one table has nothing to digest: that table's own alert said it all.
  const digest = failed.length > 0 && outcomes.length > 1;
  return {
    kind: 'run-summary',
    severity: digest ? 'error' : failed.length > 0 ? 'warning' : 'info',
    runId,
    subject: '_runs',
    title: `run ${runId} (${trigger}): ${outcomes.length} tables, ${rows} rows${failed.length ? `, ${failed.length} failed` : ''}`,
    detail: (failed.length ? [...failureLines(failed), '', ...perTable] : perTable).join('\n'),
    lookAt: `run ledger, run ${runId}${failed.length ? `; the console's Runs page filtered on status failed` : ''}`,
    key: digest ? 'digest:ingest' : `summary:${runId}`,
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
