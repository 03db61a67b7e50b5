import type { Notice } from '../notify/notifier.js';
import type { PoisonDeps } from '../queue/reportPoison.js';
import { reportPoison } from '../queue/reportPoison.js';
import { ingestMessageSchema } from './ingestMessage.js';
import { countTableOutcome } from './runSummary.js';

/**
 * An ingest message the host gave up on. The table's pending slice (if any) is resumed by the
 * next scheduled run, so reporting it, and counting the table as failed in its run (a run whose
 * last table is poisoned still gets its summary), is all there is to do. A key range's message
 * counts its table failed in the message's run: that run handed the range out and waits for the
 * slice. The next scheduled run hands the range out again under its own id and is counted when
 * the slice ends; the failed run's count stays as it is (a table is counted once per run).
 */
export async function reportPoisonMessage(deps: PoisonDeps, payload: unknown, meta: { attempts: number }): Promise<Notice> {
  const { notice, message } = await reportPoison(
    deps,
    {
      queue: 'ingest',
      schema: ingestMessageSchema,
      describe: (m, attempts) => ({
        runId: m.runId,
        subject: m.table,
        title: `ingestion of ${m.table}${m.range === undefined ? '' : ` (key range ${m.range})`} in run ${m.runId} failed ${attempts} and was given up`,
        detail: `message: ${JSON.stringify(m).slice(0, 500)}; the next scheduled run resumes the table's pending slice`,
        lookAt: `run ledger: subject ${m.table}, run ${m.runId}; logs filtered on runId=${m.runId}`,
      }),
    },
    payload,
    meta,
  );
  if (message) {
    const what = message.range === undefined ? '' : `key range ${message.range} `;
    const outcome = { table: message.table, status: 'failed' as const, rows: 0, files: 0, error: `${what}given up after ${meta.attempts} attempts` };
    await countTableOutcome(deps, message.runId, outcome).catch((err: unknown) => deps.logger.warn({ err, runId: message.runId }, 'run summary failed'));
  }
  return notice;
}
