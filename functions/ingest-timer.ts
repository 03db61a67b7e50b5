import type { InvocationContext, Timer, TimerFunctionOptions } from '@azure/functions';
import { register } from '../shared/azure/functionRegistry.js';
import { getApp } from '../shared/app/appSingleton.js';
import { planRun } from '../shared/ingest/planRun.js';
import { applyRetention } from '../shared/ingest/retention.js';
import { loggingToInvocation } from '../shared/logging/invocationScope.js';

/** Every INGEST_SCHEDULE tick: a new run id and one queue message per enabled table; then old run history and kick state go. */
export const ingestTimer = loggingToInvocation(async (timer: Timer, context: InvocationContext): Promise<void> => {
  const soundlake = await getApp();
  const run = await planRun(soundlake, { trigger: timer.isPastDue ? 'schedule(past-due)' : 'schedule' });
  context.log(`run ${run.runId}: queued ${run.tables.length} tables`);
  await applyRetention(soundlake, run.runId);
});

/** NCRONTAB from the setting INGEST_SCHEDULE. The local runner serves the same registration (its --schedule sets it). */
export const ingestTimerTrigger = { schedule: '%INGEST_SCHEDULE%', runOnStartup: false, handler: ingestTimer } satisfies TimerFunctionOptions;

register.timer('ingest-timer', ingestTimerTrigger);
