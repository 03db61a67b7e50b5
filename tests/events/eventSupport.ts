import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { startDatabricksStandIn, type DatabricksStandIn, type DatabricksStandInOptions } from '../../local/databricksStandIn.js';
import { queueClient, tableClient } from '../../shared/azure/storageClients.js';
import { patAuth } from '../../shared/databricks/databricksAuth.js';
import { DatabricksClient } from '../../shared/databricks/databricksClient.js';
import { createEventDeps, type EventDeps } from '../../shared/events/eventDeps.js';
import { loadEventSettings } from '../../shared/events/eventSettings.js';
import { processVisibleKicks } from './kickPump.js';
import type { KickOutcome } from '../../shared/events/kicker.js';
import { createLogger } from '../../shared/logging/logger.js';
import { RunLedger } from '../../shared/state/runLedger.js';
import type { Notifier } from '../../shared/notify/notifier.js';
import { RecordingNotifier, testId } from '../support/harness.js';
import { waitFor } from '../support/waitFor.js';

export const FIXTURES = ['blob-created.eventgrid', 'blob-created.cloudevents', 'adls-blob-created.eventgrid', 'adls-blob-created.cloudevents'] as const;
export type FixtureName = (typeof FIXTURES)[number];

/** One of Microsoft's published sample deliveries (an array with one event), parsed fresh. */
export function fixture(name: FixtureName): Record<string, unknown>[] {
  return JSON.parse(readFileSync(new URL(`../fixtures/eventgrid/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>[];
}

export interface EventChanges {
  container?: string;
  path?: string;
  api?: string;
  id?: string;
  time?: string;
  type?: string;
}

/** A published sample event moved to another blob (subject and data.url), api, id, time or type. */
export function sampleEvent(name: FixtureName, changes: EventChanges = {}): Record<string, unknown> {
  const event = fixture(name)[0]!;
  const data = event.data as Record<string, unknown>;
  const cloud = 'specversion' in event;
  if (changes.path !== undefined || changes.container !== undefined) {
    const m = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/.exec(event.subject as string)!;
    const container = changes.container ?? m[1]!;
    const path = changes.path ?? m[2]!;
    event.subject = `/blobServices/default/containers/${container}/blobs/${path}`;
    const url = new URL(data.url as string);
    data.url = `${url.origin}/${container}/${path.split('/').map(encodeURIComponent).join('/')}`;
  }
  if (changes.api !== undefined) data.api = changes.api;
  if (changes.id !== undefined) event.id = changes.id;
  if (changes.time !== undefined) event[cloud ? 'time' : 'eventTime'] = changes.time;
  if (changes.type !== undefined) event[cloud ? 'type' : 'eventType'] = changes.type;
  return event;
}

// Built at run time so no token-shaped literal sits in the repository (secret scanners).
export const PAT = `dapi${'0123456789abcdef'.repeat(2)}`;
export const JOB_ID = 4242;

export interface EventHarness {
  id: string;
  container: string;
  standIn: DatabricksStandIn;
  deps: EventDeps;
  ledger: RunLedger;
  notifier: RecordingNotifier;
  /**
   * Stop the event clock at the current time (deliveries then all fall in the window they open,
   * however slow the machine), or let it run again. Queue delays stay in real time.
   */
  freeze(frozen: boolean): void;
  /** Fresh dependencies over the same table, queue and stand-in, like a second Function instance. */
  another(): Promise<EventDeps>;
  /** Handle kick messages as they become visible until `count` outcomes matched `until`, or the timeout. */
  kicks(until: (o: KickOutcome) => boolean, count?: number, timeoutMs?: number): Promise<KickOutcome[]>;
  /** Handle kick messages as they become visible until one outcome matches `match`; that outcome. */
  firstKick(match: (o: KickOutcome) => boolean, timeoutMs?: number): Promise<KickOutcome>;
  /** Handle the kick messages visible now. */
  drain(): Promise<KickOutcome[]>;
  /**
   * Wait until `windowId` has closed as the host sees it: its delayed kick message is visible in
   * the queue (not taken). The window's length is real time on the queue's clock, so this is
   * the event a test waits for instead of sleeping past it.
   */
  windowClosed(windowId: string, timeoutMs?: number): Promise<void>;
  /**
   * Handle kick messages as they become visible until the kick queue holds none at all, visible
   * or delayed: after this nothing more can start a run. Fails on a failed kick.
   */
  settle(timeoutMs?: number): Promise<KickOutcome[]>;
  /**
   * Wait until the kick message of `windowId` arrives and take it off the queue unhandled, as the
   * host does when it moves a message to the poison queue; other messages are left alone.
   */
  takeKickMessage(windowId: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function createEventHarness(options: { env?: NodeJS.ProcessEnv; standIn?: DatabricksStandInOptions; notifyThrough?: Notifier } = {}): Promise<EventHarness> {
  const id = testId();
  const standIn = await startDatabricksStandIn({ token: PAT, ...options.standIn });
  const container = `bronze-${id}`;
  const storage = { connectionString: inject('storageConnectionString') };
  const settings = loadEventSettings({
    BRONZE_CONTAINER: container,
    KICK_WINDOW_SECONDS: '2',
    KICK_TABLE: `kicks${id}`,
    KICK_QUEUE: `kick-${id}`,
    DATABRICKS_HOST: standIn.url,
    DATABRICKS_TOKEN: PAT,
    DATABRICKS_JOB_ID: String(JOB_ID),
    ...options.env,
  });
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', fd: 2 });
  const ledger = new RunLedger(tableClient(storage, `runs${id}`));
  const notifier = new RecordingNotifier();
  let frozenAt: Date | undefined;
  const now = (): Date => frozenAt ?? new Date();
  // Short backoff so retry tests stay fast; everything else as configured.
  const build = (): Promise<EventDeps> =>
    createEventDeps({
      settings,
      storage,
      ledger,
      // Every notice is recorded; with notifyThrough it also goes out as the app sends it (throttle, channels).
      notifier: options.notifyThrough ? { notify: async (n) => (await notifier.notify(n), await options.notifyThrough!.notify(n)) } : notifier,
      logger,
      now,
      databricks: new DatabricksClient({ host: standIn.url, auth: patAuth(PAT), baseDelayMs: 5, maxDelayMs: 20, maxRetries: 2, timeoutMs: 5_000, logger }),
    });
  const deps = await build();
  // The same queue, read without taking messages: what is visible now, and how many wait in all.
  const rawQueue = queueClient(storage, settings.kickQueue);
  const kicks = async (until: (o: KickOutcome) => boolean, count = 1, timeoutMs = 20_000): Promise<KickOutcome[]> => {
    const seen: KickOutcome[] = [];
    await waitFor(
      `${count} kick outcomes`,
      async () => {
        const { outcomes, failures } = await processVisibleKicks(deps, { visibilityTimeoutSeconds: 5 });
        if (failures.length > 0) throw failures[0];
        seen.push(...outcomes);
        return seen.filter(until).length >= count;
      },
      timeoutMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; saw ${JSON.stringify(seen)}`);
    });
    return seen;
  };
  return {
    id,
    container,
    standIn,
    deps,
    ledger,
    notifier,
    another: build,
    freeze: (frozen) => {
      frozenAt = frozen ? new Date() : undefined;
    },
    kicks,
    firstKick: async (match, timeoutMs) => (await kicks(match, 1, timeoutMs)).find(match)!,
    takeKickMessage: async (windowId, timeoutMs = 20_000) => {
      await waitFor(
        `the kick message of ${windowId}`,
        async () => {
          // A short visibility: messages of other windows are back almost at once.
          const items = await deps.kickQueue.receive(32, 1);
          const mine = items.find((i) => (i.message as { windowId?: string }).windowId === windowId);
          if (mine) await deps.kickQueue.delete(mine);
          return mine !== undefined;
        },
        timeoutMs,
      );
    },
    drain: async () => {
      const { outcomes, failures } = await processVisibleKicks(deps, { visibilityTimeoutSeconds: 5 });
      if (failures.length > 0) throw failures[0];
      return outcomes;
    },
    windowClosed: async (windowId, timeoutMs = 20_000) => {
      await waitFor(
        `the kick message of ${windowId}`,
        async () => {
          const { peekedMessageItems } = await rawQueue.peekMessages({ numberOfMessages: 32 });
          return peekedMessageItems.some((m) => (JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as { windowId?: string }).windowId === windowId);
        },
        timeoutMs,
      );
    },
    settle: async (timeoutMs = 20_000) => {
      const seen: KickOutcome[] = [];
      await waitFor(
        'the kick queue to empty',
        async () => {
          const { outcomes, failures } = await processVisibleKicks(deps, { visibilityTimeoutSeconds: 5 });
          if (failures.length > 0) throw failures[0];
          seen.push(...outcomes);
          return (await rawQueue.getProperties()).approximateMessagesCount === 0;
        },
        timeoutMs,
      );
      return seen;
    },
    close: async () => {
      await standIn.close();
    },
  };
}

/** A bronze data path as the writer names it (docs/bronze-layout.md). */
export function dataPath(table: string, seq: number, part = 0, loadDate = '2026-11-25'): string {
  const slice = `s${String(seq).padStart(10, '0')}`;
  return `${table}/load_date=${loadDate}/${table}__${slice}__p${String(part).padStart(5, '0')}.parquet`;
}
