import type { z } from 'zod';
import type { Logger } from '../logging/logger.js';
import type { Notice, Notifier } from '../notify/notifier.js';
import type { RunLedger } from '../state/runLedger.js';

export interface PoisonDeps {
  notifier: Notifier;
  ledger: RunLedger;
  logger: Logger;
}

/** What a person needs to hear about one given-up message of a known shape. */
export interface PoisonDescription {
  runId: string;
  subject: string;
  title: string;
  detail: string;
  lookAt: string;
  /** Throttle key (default `poison:<queue>:<subject>`: one alert per subject and throttle period). */
  key?: string;
}

export interface PoisonSpec<T> {
  /** The queue's purpose, for messages: `ingest`, `backfill`, `kick`. */
  queue: string;
  schema: z.ZodType<T>;
  describe(message: T, attempts: string): Promise<PoisonDescription> | PoisonDescription;
}

/**
 * A message the host retried until it gave up. Whatever its queue: tell a person which run and
 * subject and how many attempts were made (`attempts`: the host's maxDequeueCount, see
 * maxDequeueCount.ts), and record it in the run ledger. A message that does not even parse is
 * reported with its first 500 characters.
 */
export async function reportPoison<T>(
  deps: PoisonDeps,
  spec: PoisonSpec<T>,
  payload: unknown,
  meta: { attempts: number },
): Promise<{ notice: Notice; message: T | undefined }> {
  let value = payload;
  if (typeof payload === 'string') {
    try {
      value = JSON.parse(payload);
    } catch {
      value = payload;
    }
  }
  const raw = JSON.stringify(value).slice(0, 500);
  const parsed = spec.schema.safeParse(value);
  const described: PoisonDescription = parsed.success
    ? await spec.describe(parsed.data, meta.attempts === 1 ? 'once' : `${meta.attempts} times`)
    : {
        runId: 'unknown-run',
        subject: '_poison',
        title: `an unreadable ${spec.queue} message was given up after ${meta.attempts === 1 ? 'one attempt' : `${meta.attempts} attempts`}: ${raw}`,
        detail: `the message does not match the ${spec.queue} message schema: ${raw}`,
        lookAt: `the ${spec.queue} poison queue`,
      };
  const notice: Notice = { kind: 'poison-message', severity: 'error', ...described, key: described.key ?? `poison:${spec.queue}:${described.subject}` };
  const entry = await deps.ledger.start({ runId: notice.runId, subject: notice.subject, activity: 'poison', trigger: 'poison-queue', startedAt: new Date().toISOString() });
  await deps.ledger.finish(entry, { status: 'failed', error: notice.title, detail: notice.detail });
  deps.logger.error({ runId: notice.runId, subject: notice.subject, queue: spec.queue }, notice.title);
  await deps.notifier.notify(notice);
  return { notice, message: parsed.success ? parsed.data : undefined };
}
