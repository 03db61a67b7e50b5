import '../functions/index.js';
import { setApp } from '../shared/app/appSingleton.js';
import { loadAskSettings } from '../shared/ask/askSettings.js';
import { createAskService, setAskService } from '../shared/ask/createAskService.js';
import type { SqlEndpoint } from '../shared/ask/sqlEndpoint.js';
import { createApp, type SoundlakeApp } from '../shared/app/soundlakeApp.js';
import { registeredFunctions } from '../shared/azure/functionRegistry.js';
import { queueClient } from '../shared/azure/storageClients.js';
import { MAX_DEQUEUE_COUNT_SETTING } from '../shared/queue/maxDequeueCount.js';
import type { PipelineConfig } from '../shared/config/pipelineConfig.js';
import { ingestSettingDefaults, loadSettings } from '../shared/config/settings.js';
import type { EventDeps } from '../shared/events/eventDeps.js';
import { createEventDeps } from '../shared/events/eventDeps.js';
import { setEventDeps } from '../shared/events/eventDepsSingleton.js';
import { eventSettingDefaults, loadEventSettings } from '../shared/events/eventSettings.js';
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
  /** Pause between polls of an empty queue (default 500 ms). */
  pollIntervalMs?: number;
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
 * The Functions app on one machine: every function functions/index.ts registers, served by a
 * small stand-in for the host (HTTP on localhost, the timer, queue triggers with retries and
 * poison queues on the queues their `%SETTING%` expressions name), a Databricks REST stand-in,
 * and a BlobCreated event for every bronze commit delivered to the Event Grid function, since
 * Azurite has no Event Grid.
 */
export async function startLocalRunner(options: LocalRunnerOptions): Promise<LocalRunner> {
  const databricks = await startDatabricksStandIn({ token: LOCAL_DATABRICKS_TOKEN, jobs: [1], ...(options.onDatabricksRun ? { onRun: options.onDatabricksRun } : {}) });
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    DATABRICKS_HOST: databricks.url,
    DATABRICKS_TOKEN: LOCAL_DATABRICKS_TOKEN,
    DATABRICKS_JOB_ID: '1',
    KICK_WINDOW_SECONDS: String(options.kickWindowSeconds ?? options.env.KICK_WINDOW_SECONDS ?? 10),
    // Like an app setting overriding host.json: the host stand-in and the poison reports read the same number.
    ...(options.maxDequeueCount ? { [MAX_DEQUEUE_COUNT_SETTING]: String(options.maxDequeueCount) } : {}),
    ...(options.schedule ? { INGEST_SCHEDULE: options.schedule } : {}),
  };
  const settings = loadSettings(env);
  const eventSettings = loadEventSettings(env);
  const host = new LocalHost({
    logger: options.logger,
    maxDequeueCount: settings.maxDequeueCount,
    ...(options.retryDelaySeconds !== undefined ? { retryDelaySeconds: options.retryDelaySeconds } : {}),
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.functionKey ? { functionKey: options.functionKey } : {}),
  });
  const app = await createApp(settings, {
    logger: options.logger,
    ...(options.notifier ? { notifier: options.notifier } : {}),
    ...(options.config ? { config: options.config } : {}),
    // Every committed bronze file goes to the app's Event Grid function, as the subscription in Azure sends it.
    wrapLake: (lake) => lakeWithBlobEvents(lake, { container: settings.bronzeContainer, deliver: (event) => host.publish(event) }),
  });
  const events = await createEventDeps({ settings: eventSettings, storage: settings.storage, ledger: app.ledger, notifier: app.notifier, logger: options.logger });
  setApp(app);
  setEventDeps(events);
  // The question box talks to the local SQL endpoint (SQL_ENDPOINT_PORT) and, when set, an LLM.
  setAskService(await createAskService(loadAskSettings(env), options.logger, options.askEndpoint ? { endpoint: options.askEndpoint } : {}));

  // `%SETTING%` in a binding reads the same settings as the app: the variable, else the app's default for it.
  const defaults = { ...ingestSettingDefaults(), ...eventSettingDefaults() };
  host.serveFunctions(registeredFunctions(), {
    setting: (name) => env[name]?.trim() || defaults[name],
    queue: (connection, name) => {
      if (connection !== 'SOUNDLAKE_STORAGE') throw new Error(`queue ${name}: connection ${connection} is not the app's storage (SOUNDLAKE_STORAGE)`);
      return queueClient(settings.storage, name);
    },
    timers: Boolean(options.schedule),
  });
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
