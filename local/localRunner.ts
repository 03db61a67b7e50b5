import { askPostHttp } from '../functions/ask-post.js';
import { backfillGetHttp } from '../functions/backfill-get.js';
import { backfillPostHttp } from '../functions/backfill-post.js';
import { backfillsGetHttp } from '../functions/backfills-get.js';
import { consoleAssetGetHttp } from '../functions/console-asset-get.js';
import { consoleGetHttp } from '../functions/console-get.js';
import { ingestPostHttp } from '../functions/ingest-post.js';
import { kickRetryPostHttp } from '../functions/kick-retry-post.js';
import { kicksGetHttp } from '../functions/kicks-get.js';
import { runGetHttp } from '../functions/run-get.js';
import { runsGetHttp } from '../functions/runs-get.js';
import { tablesGetHttp } from '../functions/tables-get.js';
import { backfillQueue } from '../functions/backfill-queue.js';
import { backfillPoison } from '../functions/backfill-poison.js';
import { databricksKickPoison } from '../functions/databricks-kick-poison.js';
import { databricksKick } from '../functions/databricks-kick.js';
import { ingestPoison } from '../functions/ingest-poison.js';
import { ingestQueue } from '../functions/ingest-queue.js';
import { ingestTimer } from '../functions/ingest-timer.js';
import { setApp } from '../shared/app/appSingleton.js';
import { loadAskSettings } from '../shared/ask/askSettings.js';
import { createAskService, setAskService } from '../shared/ask/createAskService.js';
import type { SqlEndpoint } from '../shared/ask/sqlEndpoint.js';
import { createApp, type SoundlakeApp } from '../shared/app/soundlakeApp.js';
import { queueClient } from '../shared/azure/storageClients.js';
import { MAX_DEQUEUE_COUNT_SETTING } from '../shared/queue/maxDequeueCount.js';
import type { PipelineConfig } from '../shared/config/pipelineConfig.js';
import { loadSettings } from '../shared/config/settings.js';
import type { EventDeps } from '../shared/events/eventDeps.js';
import { createEventDeps } from '../shared/events/eventDeps.js';
import { setEventDeps } from '../shared/events/eventDepsSingleton.js';
import { loadEventSettings } from '../shared/events/eventSettings.js';
import { lakeWithBlobEvents } from '../shared/events/localDelivery.js';
import type { Logger } from '../shared/logging/logger.js';
import type { Notifier } from '../shared/notify/notifier.js';
import { startDatabricksStandIn, type DatabricksStandIn, type StandInRun } from './databricksStandIn.js';
import { LocalHost } from './localHost.js';

export interface LocalRunnerOptions {
  /** Settings as the Functions would read them (storage, source, queues, alerts ...). */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  config?: PipelineConfig;
  notifier?: Notifier;
  /** HTTP port for /api (0: any free port). */
  port?: number;
  /** NCRONTAB of the ingest timer; null: no timer (trigger runs by hand). */
  schedule?: string | null;
  kickWindowSeconds?: number;
  /** Called for every Databricks run the stand-in accepts (the local runner runs the medallion). */
  onDatabricksRun?: (run: StandInRun) => Promise<void>;
  /** Deliveries before a message is poisoned (default: host.json's maxDequeueCount). */
  maxDequeueCount?: number;
  retryDelaySeconds?: number;
  /** Routes that are not anonymous need this key (x-functions-key or ?code=), as in Azure; unset: no key. */
  functionKey?: string;
  /** Replaces the question box's SQL endpoint (the local Thrift server by default). */
  askEndpoint?: SqlEndpoint;
}

export interface LocalRunner {
  url: string;
  app: SoundlakeApp;
  events: EventDeps;
  databricks: DatabricksStandIn;
  host: LocalHost;
  stop(): Promise<void>;
}

const LOCAL_DATABRICKS_TOKEN = 'local-stand-in-token';

/**
 * The Functions app on one machine: the same handlers behind a small stand-in for the host
 * (HTTP on localhost, the timer, queue triggers with retries and poison queues), a Databricks
 * REST stand-in, and BlobCreated delivered after every bronze commit, since Azurite has no
 * Event Grid.
 */
export async function startLocalRunner(options: LocalRunnerOptions): Promise<LocalRunner> {
  const databricks = await startDatabricksStandIn({ token: LOCAL_DATABRICKS_TOKEN, jobs: [1], ...(options.onDatabricksRun ? { onRun: options.onDatabricksRun } : {}) });
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    DATABRICKS_HOST: databricks.url,
    DATABRICKS_TOKEN: LOCAL_DATABRICKS_TOKEN,
    DATABRICKS_KICK_MODE: 'job',
    DATABRICKS_JOB_ID: '1',
    KICK_WINDOW_SECONDS: String(options.kickWindowSeconds ?? options.env.KICK_WINDOW_SECONDS ?? 10),
    // Like an app setting overriding host.json: the host stand-in and the poison reports read the same number.
    ...(options.maxDequeueCount ? { [MAX_DEQUEUE_COUNT_SETTING]: String(options.maxDequeueCount) } : {}),
  };
  const settings = loadSettings(env);
  const eventSettings = loadEventSettings(env);
  // The lake is wrapped before the events exist; they are filled in before the first upload.
  let events: EventDeps | undefined;
  const lazyEvents = new Proxy({} as EventDeps, {
    get: (_, key) => {
      if (!events) throw new Error('BlobCreated delivery used before the event pipeline started');
      return events[key as keyof EventDeps];
    },
  });
  const app = await createApp(settings, {
    logger: options.logger,
    ...(options.notifier ? { notifier: options.notifier } : {}),
    ...(options.config ? { config: options.config } : {}),
    wrapLake: (lake) => lakeWithBlobEvents(lake, lazyEvents),
  });
  events = await createEventDeps({ settings: eventSettings, storage: settings.storage, ledger: app.ledger, notifier: app.notifier, logger: options.logger });
  setApp(app);
  setEventDeps(events);
  // The question box talks to the local SQL endpoint (SQL_ENDPOINT_PORT) and, when set, an LLM.
  setAskService(await createAskService(loadAskSettings(env), options.logger, options.askEndpoint ? { endpoint: options.askEndpoint } : {}));

  const host = new LocalHost({
    logger: options.logger,
    maxDequeueCount: settings.maxDequeueCount,
    ...(options.retryDelaySeconds !== undefined ? { retryDelaySeconds: options.retryDelaySeconds } : {}),
    ...(options.functionKey ? { functionKey: options.functionKey } : {}),
  });
  const q = (name: string) => queueClient(settings.storage, name);
  host.http('backfill-post', backfillPostHttp);
  host.http('backfill-get', backfillGetHttp);
  host.http('ask-post', askPostHttp);
  host.http('ingest-post', ingestPostHttp);
  host.http('tables-get', tablesGetHttp);
  host.http('runs-get', runsGetHttp);
  host.http('run-get', runGetHttp);
  host.http('backfills-get', backfillsGetHttp);
  host.http('kicks-get', kicksGetHttp);
  host.http('kick-retry-post', kickRetryPostHttp);
  host.http('console-get', consoleGetHttp);
  host.http('console-asset-get', consoleAssetGetHttp);
  host.queue('ingest-queue', q(settings.ingestQueue), q(`${settings.ingestQueue}-poison`), ingestQueue);
  host.queue('ingest-poison', q(`${settings.ingestQueue}-poison`), q(`${settings.ingestQueue}-poison-poison`), ingestPoison);
  host.queue('backfill-queue', q(settings.backfill.queue), q(`${settings.backfill.queue}-poison`), backfillQueue);
  host.queue('backfill-poison', q(`${settings.backfill.queue}-poison`), q(`${settings.backfill.queue}-poison-poison`), backfillPoison);
  host.queue('databricks-kick', q(eventSettings.kickQueue), q(`${eventSettings.kickQueue}-poison`), databricksKick);
  host.queue('databricks-kick-poison', q(`${eventSettings.kickQueue}-poison`), q(`${eventSettings.kickQueue}-poison-poison`), databricksKickPoison);
  if (options.schedule) host.timer('ingest-timer', options.schedule, ingestTimer);
  const url = await host.listen(options.port ?? 7071);
  return {
    url,
    app,
    events,
    databricks,
    host,
    stop: async () => {
      await host.stop();
      await databricks.idle();
      await databricks.close();
      setApp(undefined);
      setEventDeps(undefined);
      setAskService(undefined);
      await app.close();
    },
  };
}
