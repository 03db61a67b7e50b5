import type { TokenCredential } from '@azure/core-auth';
import { azureCredential } from '../azure/credential.js';
import type { StorageAccess } from '../azure/storageClients.js';
import { queueClient, tableClient } from '../azure/storageClients.js';
import { entraAuth, patAuth } from '../databricks/databricksAuth.js';
import { DatabricksClient } from '../databricks/databricksClient.js';
import type { Logger } from '../logging/logger.js';
import type { Notice, Notifier } from '../notify/notifier.js';
import { reportPoison } from '../queue/reportPoison.js';
import type { RunLedger } from '../state/runLedger.js';
import { classify, describeInvalid, parseDelivery } from './blobCreatedEvent.js';
import { Debouncer, type RecordOutcome } from './debouncer.js';
import type { EventSettings } from './eventSettings.js';
import { DATABRICKS_SUBJECT, type KickOutcome, Kicker } from './kicker.js';
import { KickQueue, kickMessageSchema, parseKickMessage } from './kickQueue.js';
import { KickStore } from './kickStore.js';

export interface EventDepsInput {
  settings: EventSettings;
  storage: StorageAccess;
  ledger: RunLedger;
  notifier: Notifier;
  logger: Logger;
  /** Used when DATABRICKS_TOKEN is not set (default: the process-wide DefaultAzureCredential). */
  credential?: TokenCredential;
  /** Replaces the client built from settings (tests). */
  databricks?: DatabricksClient;
  now?: () => Date;
}

export interface AcceptedFile {
  eventId: string;
  path: string;
  table: string;
  outcome: RecordOutcome['outcome'];
  windowId: string;
}

export interface BlobCreatedResult {
  accepted: AcceptedFile[];
  ignored: { eventId: string; reason: string }[];
  /** Events that are not storage events, one line each (logged and dropped: a retry cannot fix them; the others go on). */
  invalid: string[];
}

/** The BlobCreated -> Databricks path, built once from settings: what the two functions call. */
export interface EventDeps {
  settings: EventSettings;
  store: KickStore;
  kickQueue: KickQueue;
  databricks: DatabricksClient;
  debouncer: Debouncer;
  kicker: Kicker;
  /** Handle one Event Grid delivery (one event, an array, or JSON text). Throws only when storage fails. */
  onBlobCreated(payload: unknown): Promise<BlobCreatedResult>;
  /** Handle one kick-queue message. Throws when the kick failed (after notifying), so the host retries. */
  onKickMessage(payload: unknown): Promise<KickOutcome>;
  /** Report a kick-queue message the host gave up on (the kick poison queue) after `attempts` deliveries. */
  onKickPoison(payload: unknown, meta: { attempts: number }): Promise<Notice>;
}

/** The longest Retry-After a kick waits for inside its invocation. */
export const IN_INVOCATION_RETRY_AFTER_MS = 30_000;

export function databricksClientFrom(settings: EventSettings, logger: Logger, credential?: TokenCredential): DatabricksClient {
  const { host, token, timeoutMs, maxRetries } = settings.databricks;
  // A 429 asking for more than this is not waited for inside the invocation (its retries would
  // near the function timeout): the kicker re-schedules the message after the Retry-After instead.
  const maxRetryAfterMs = Math.min(IN_INVOCATION_RETRY_AFTER_MS, settings.maxRetryAfterSeconds * 1000);
  return new DatabricksClient({ host, auth: token ? patAuth(token) : entraAuth(credential ?? azureCredential()), timeoutMs, maxRetries, maxRetryAfterMs, logger });
}

export async function createEventDeps(input: EventDepsInput): Promise<EventDeps> {
  const { settings, storage, ledger, notifier } = input;
  const logger = input.logger.child({ component: 'events' });
  const store = new KickStore(tableClient(storage, settings.kickTable));
  const kickQueue = new KickQueue(queueClient(storage, settings.kickQueue));
  await Promise.all([store.ensure(), kickQueue.ensure(), ledger.ensure()]);
  const databricks = input.databricks ?? databricksClientFrom(settings, logger, input.credential);
  const clock = input.now ? { now: input.now } : {};
  const debouncer = new Debouncer(store, kickQueue, { windowMs: settings.windowMs, logger, ...clock });
  const kicker = new Kicker(
    { store, queue: kickQueue, databricks, ledger, notifier },
    {
      jobId: settings.databricks.jobId,
      retentionMs: settings.retentionDays * 86_400_000,
      maxRetryAfterSeconds: settings.maxRetryAfterSeconds,
      maxDeferrals: settings.maxDeferrals,
      logger,
      ...clock,
    },
  );
  const filter = { container: settings.bronzeContainer, apis: settings.apis };

  return {
    settings,
    store,
    kickQueue,
    databricks,
    debouncer,
    kicker,
    onBlobCreated: async (payload) => {
      const result: BlobCreatedResult = { accepted: [], ignored: [], invalid: [] };
      const { events, invalid } = parseDelivery(payload);
      for (const bad of invalid) {
        const line = describeInvalid(bad);
        logger.error({ eventId: bad.eventId, index: bad.index, problems: bad.problems }, `dropped ${line}`);
        result.invalid.push(line);
      }
      for (const event of events) {
        const verdict = classify(event, filter);
        if (!verdict.accepted) {
          logger.debug({ eventId: event.id, reason: verdict.reason }, `ignored event ${event.id}: ${verdict.reason}`);
          result.ignored.push({ eventId: event.id, reason: verdict.reason });
          continue;
        }
        const { path } = verdict.event;
        const recorded = await debouncer.record({ eventId: event.id, eventTime: event.time, path, table: verdict.table });
        logger.debug({ runId: recorded.windowId, eventId: event.id, path }, `${path}: ${recorded.outcome} window ${recorded.windowId}`);
        result.accepted.push({ eventId: event.id, path, table: verdict.table, outcome: recorded.outcome, windowId: recorded.windowId });
      }
      return result;
    },
    onKickMessage: async (payload) => kicker.handle(parseKickMessage(payload)),
    onKickPoison: async (payload, meta) => {
      const { notice } = await reportPoison(
        { notifier, ledger, logger },
        {
          queue: 'kick',
          schema: kickMessageSchema,
          describe: async (m, attempts) => ({
            runId: m.windowId,
            subject: DATABRICKS_SUBJECT,
            title: `Databricks start for window ${m.windowId} failed ${attempts} and was given up`,
            detail: await kicker.giveUp(m),
            lookAt: `run ledger: subject ${DATABRICKS_SUBJECT}, run ${m.windowId}; logs filtered on runId=${m.windowId}`,
            // Every given-up window is heard, not only the first of the throttle period.
            key: `poison:kick:${m.windowId}`,
          }),
        },
        payload,
        meta,
      );
      return notice;
    },
  };
}
