import type { TableRunResult } from '../extract/ingestTable.js';
import type { Notice, Notifier } from '../notify/notifier.js';
import type { LedgerRecord, RunLedger, RunStatus } from '../state/runLedger.js';

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

const TERMINAL = new Set(['succeeded', 'nochange', 'failed', 'skipped', 'abandoned']);

/**
 * Under the Functions host no single invocation sees a whole run: each table finishes in its own.
 * Whoever finishes the last planned table sends the summary; if two finish together both try,
 * and the notice key lets the throttle keep one.
 */
export async function summariseIfRunComplete(deps: { ledger: RunLedger; notifier: Notifier }, runId: string): Promise<boolean> {
  const entries = await deps.ledger.ofRun(runId);
  const plan = entries.find((e) => e.subject === '_runs' && e.activity === 'plan');
  const planned = plan?.tables?.split(',').filter(Boolean) ?? [];
  if (!plan || planned.length === 0) return false;
  const latest = new Map<string, LedgerRecord>();
  for (const e of entries.filter((x) => x.activity === 'ingest').sort((a, b) => a.startedAt.localeCompare(b.startedAt))) latest.set(e.subject, e);
  const outcomes: Outcome[] = [];
  for (const table of planned) {
    const e = latest.get(table);
    if (!e || !TERMINAL.has(e.status)) return false;
    outcomes.push({ table, status: e.status as Outcome['status'], rows: e.rows ?? 0, files: e.files ?? 0 });
  }
  await deps.notifier.notify(summaryNotice(runId, plan.trigger, outcomes));
  return true;
}
