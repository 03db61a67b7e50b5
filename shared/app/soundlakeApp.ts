import { BackfillQueue } from '../backfill/backfillMessage.js';
import { BackfillService } from '../backfill/backfillService.js';
import { BackfillStore } from '../backfill/backfillStore.js';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import { loadPipelineConfig } from '../config/pipelineConfig.js';
import type { Settings } from '../config/settings.js';
import { blobService, queueClient, tableClient } from '../azure/storageClients.js';
import type { IngestDeps } from '../extract/ingestTable.js';
import { IngestQueue } from '../ingest/ingestQueue.js';
import { BlobLake } from '../lake/blobLake.js';
import { FileLake } from '../lake/fileLake.js';
import type { Lake } from '../lake/lake.js';
import type { Logger } from '../logging/logger.js';
import { createLogger } from '../logging/logger.js';
import type { Notifier } from '../notify/notifier.js';
import { createNotifier } from '../notify/createNotifier.js';
import { AlertLog, RecordedNotifier } from '../notify/alertLog.js';
import { createCatalogSources, createSource } from '../source/createSource.js';
import type { Source } from '../source/source.js';
import { RunLedger } from '../state/runLedger.js';
import { WatermarkStore } from '../state/watermarkStore.js';

/**
 * Every adapter the core needs, built once from settings. Functions, the CLI, the local runner
 * and the tests all go through here, so they run the same code against different endpoints.
 */
export interface SoundlakeApp {
  settings: Settings;
  config: PipelineConfig;
  logger: Logger;
  source: Source;
  lake: Lake;
  watermarks: WatermarkStore;
  ledger: RunLedger;
  notifier: Notifier;
  alertLog: AlertLog;
  ingestQueue: IngestQueue;
  backfills: BackfillStore;
  backfillQueue: BackfillQueue;
  backfill: BackfillService;
  ingestDeps(): IngestDeps;
  close(): Promise<void>;
}

export interface AppOverrides {
  logger?: Logger;
  notifier?: Notifier;
  config?: PipelineConfig;
  source?: Source;
  /** How REST sources wait (Retry-After, backoff); tests record the waits instead. */
  sleep?: (ms: number) => Promise<void>;
  /** Wraps the bronze lake, e.g. to raise BlobCreated events locally where Azurite has no Event Grid. */
  wrapLake?: (lake: Lake) => Lake;
}

export async function createApp(settings: Settings, overrides: AppOverrides = {}): Promise<SoundlakeApp> {
  const logger = overrides.logger ?? createLogger({ level: settings.logLevel });
  const config = overrides.config ?? (await loadPipelineConfig(settings.configPath));
  const source = overrides.source ?? (await createSource(settings.source));
  const catalogSources = createCatalogSources(config.sources ?? [], settings.http, settings.setting, overrides.sleep ? { sleep: overrides.sleep } : {});
  const sourceFor = (table: { sourceName?: string }) => (table.sourceName ? catalogSources.get(table.sourceName) : undefined);
  const baseLake: Lake = settings.bronzeDir
    ? new FileLake({ root: settings.bronzeDir })
    : new BlobLake({ container: blobService(settings.storage).getContainerClient(settings.bronzeContainer) });
  const lake = overrides.wrapLake ? overrides.wrapLake(baseLake) : baseLake;
  const watermarks = new WatermarkStore(tableClient(settings.storage, settings.watermarkTable));
  const ledger = new RunLedger(tableClient(settings.storage, settings.ledgerTable));
  const ingestQueue = new IngestQueue(queueClient(settings.storage, settings.ingestQueue));
  const backfills = new BackfillStore(tableClient(settings.storage, settings.backfill.table));
  const backfillQueue = new BackfillQueue(queueClient(settings.storage, settings.backfill.queue));
  // Every notice also goes to the alert log, which the console reads for a run's detail.
  const alertLog = new AlertLog(tableClient(settings.storage, settings.alerts.throttleTable));
  const notifier = new RecordedNotifier(overrides.notifier ?? createNotifier(settings.alerts, { logger, storage: settings.storage }), alertLog, logger);
  await Promise.all([lake.ensure(), watermarks.ensure(), ledger.ensure(), backfills.ensure(), backfillQueue.ensure(), ingestQueue.ensure()]);
  const ingestDeps = (): IngestDeps => ({ source, sourceFor, lake, watermarks, ledger, notifier, logger, leaseMs: settings.leaseMs, ranges: settings.ranges });
  const backfill = new BackfillService({ ...ingestDeps(), config, backfills, backfillQueue }, { ...settings.backfill });
  const app: SoundlakeApp = {
    settings,
    config,
    logger,
    source,
    lake,
    watermarks,
    ledger,
    notifier,
    alertLog,
    ingestQueue,
    backfills,
    backfillQueue,
    backfill,
    ingestDeps,
    close: async () => {
      await Promise.all([source.close(), ...[...catalogSources.values()].map((s) => s.close())]);
    },
  };
  return app;
}
