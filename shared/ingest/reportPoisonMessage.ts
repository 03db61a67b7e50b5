import type { Logger } from '../logging/logger.js';
import type { Notice, Notifier } from '../notify/notifier.js';
import type { RunLedger } from '../state/runLedger.js';
import { ingestMessageSchema } from './ingestMessage.js';

/**
 * A message the host retried until it gave up. Tell a person which run and table, and record
 * it in the ledger; the table's pending slice (if any) is resumed by the next scheduled run.
 */
export async function reportPoisonMessage(
  deps: { notifier: Notifier; ledger: RunLedger; logger: Logger },
  payload: unknown,
  meta: { dequeueCount: number },
): Promise<Notice> {
  let value = payload;
  if (typeof payload === 'string') {
    try {
      value = JSON.parse(payload);
    } catch {
      value = payload;
    }
  }
  const parsed = ingestMessageSchema.safeParse(value);
  const runId = parsed.success ? parsed.data.runId : 'unknown-run';
  const subject = parsed.success ? parsed.data.table : '_poison';
  const raw = JSON.stringify(value).slice(0, 500);
  const notice: Notice = {
    kind: 'poison-message',
    severity: 'error',
    runId,
    subject,
    title: parsed.success
      ? `ingestion of ${subject} in run ${runId} failed ${meta.dequeueCount || 'several'} times and was given up`
      : `an unreadable ingest message was given up: ${raw}`,
    detail: parsed.success ? `message: ${raw}` : `the message does not match the ingest message schema: ${raw}`,
    lookAt: `run ledger: subject ${subject}, run ${runId}; logs filtered on runId=${runId}`,
    key: `poison:${subject}`,
  };
  const now = new Date().toISOString();
  const entry = await deps.ledger.start({ runId, subject, activity: 'poison', trigger: 'poison-queue', startedAt: now });
  await deps.ledger.finish(entry, { status: 'failed', error: notice.title, detail: notice.detail });
  deps.logger.error({ runId, table: subject }, notice.title);
  await deps.notifier.notify(notice);
  return notice;
}
