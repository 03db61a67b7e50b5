import { BackfillQueue } from '../backfill/backfillMessage.js';
import { BackfillService } from '../backfill/backfillService.js';
import { BackfillStore } from '../backfill/backfillStore.js';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import { loadPipelineConfig } from '../config/pipelineConfig.js';
import type { Settings } from '../config/settings.js';
import { blobService, queueClient, tableClient } from '../azure/storageClients.js';
import type { IngestDeps } from '../extract/ingestTable.js';
import type { IngestMessageDeps } from '../ingest/handleIngestMessage.js';
import { IngestQueue } from '../ingest/ingestQueue.js';
import { BlobLake } from '../lake/blobLake.js';
import { FileLake } from '../lake/fileLake.js';
import type { Lake } from '../lake/lake.js';
import type { Logger } from '../logging/logger.js';
import { createLogger } from '../logging/logger.js';
import type { Notifier } from '../notify/notifier.js';
import { createNotifier } from '../notify/createNotifier.js';
import { AlertLog, RecordedNotifier } from '../notify/alertLog.js';
import { DEFAULT_SOURCE } from '../config/catalogSchema.js';
import { createCatalogSources } from '../source/createSource.js';
import type { Source } from '../source/source.js';
import { SourceError } from '../source/source.js';
import { resolveSourceEndpoints } from '../source/sourceEndpoints.js';
import { SourceRegistry } from '../source/sourceRegistry.js';
import { SourceSlots } from '../source/sourceSlots.js';
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
  /** The catalog's sources by name; every extraction takes a connection slot and a session here. */
  sources: SourceRegistry;
  /**
   * The `default` source outside the connection slots, for tools and tests that read it directly
   * (a pool sized to its cap). The extraction paths take a slot through `sources` instead.
   */
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
  /** What the ingest queue's handler needs: the extraction, the sources and their slots, the queue. */
  ingestMessageDeps(): IngestMessageDeps;
  close(): Promise<void>;
}

export interface AppOverrides {
  logger?: Logger;
  notifier?: Notifier;
  config?: PipelineConfig;
  /** Every source's sessions read through this adapter instead (tests: a source that fails on cue). */
  source?: Source;
  /** How REST sources wait (Retry-After, backoff); tests record the waits instead. */
  sleep?: (ms: number) => Promise<void>;
  /** Wraps the bronze lake, e.g. to raise BlobCreated events locally where Azurite has no Event Grid. */
  wrapLake?: (lake: Lake) => Lake;
  /**
   * What createApp creates where missing before it returns: `all` (the default), or `extraction`:
   * the lake, watermarks, run ledger and connection slots only, for a process that extracts in
   * place and never touches the backfill table or the queues (the CLI's ingest and status). Each
   * creation is a request to storage before the run's first query.
   */
  ensure?: 'all' | 'extraction';
}

export async function createApp(settings: Settings, overrides: AppOverrides = {}): Promise<SoundlakeApp> {
  const logger = overrides.logger ?? createLogger({ level: settings.logLevel });
  const sourceSlots = new SourceSlots(tableClient(settings.storage, settings.sourceSlots.table), settings.sourceSlots.leaseMs);
  const baseLake: Lake = settings.bronzeDir
    ? new FileLake({ root: settings.bronzeDir })
    : new BlobLake({ container: blobService(settings.storage).getContainerClient(settings.bronzeContainer) });
  const lake = overrides.wrapLake ? overrides.wrapLake(baseLake) : baseLake;
  const watermarks = new WatermarkStore(tableClient(settings.storage, settings.watermarkTable));
  const ledger = new RunLedger(tableClient(settings.storage, settings.ledgerTable));
  const ingestQueue = new IngestQueue(queueClient(settings.storage, settings.ingestQueue));
  const backfills = new BackfillStore(tableClient(settings.storage, settings.backfill.table));
  const backfillQueue = new BackfillQueue(queueClient(settings.storage, settings.backfill.queue));
  // The stores need only settings: their creations go out now and are waited for last, while
  // the catalog is read and parsed (a CLI run's first storage round trip, otherwise waited for
  // alone). They only create what is missing and write no state. Whatever fails first aborts
  // them, so a bad catalog is reported at once, not after the storage SDK's retries.
  const queued = overrides.ensure === 'extraction' ? [] : [backfills, backfillQueue, ingestQueue];
  const ensuring = new AbortController();
  const ensured = Promise.all([sourceSlots, lake, watermarks, ledger, ...queued].map((store) => store.ensure({ abortSignal: ensuring.signal })));
  ensured.catch(() => undefined); // awaited below; left unawaited only when something before it throws
  try {
    const config = overrides.config ?? (await loadPipelineConfig(settings.configPath));
    const endpoints = resolveSourceEndpoints(config, settings);
    const given = overrides.source;
    const sources = new SourceRegistry(endpoints, sourceSlots, {
      logger,
      // A given adapter is shared by every session and closed once, with the app.
      ...(given ? { connect: () => unclosable(given) } : {}),
    });
    const source = given ?? (sources.slotted(DEFAULT_SOURCE) ? await sources.unslottedSource(DEFAULT_SOURCE) : noDefaultSource(sources.names));
    // Files over HTTP and REST endpoints: no database sessions, so no connection slots.
    const catalogSources = createCatalogSources(config.sources ?? [], settings.http, settings.setting, overrides.sleep ? { sleep: overrides.sleep } : {});
    const sourceFor = (table: { sourceName?: string }) => (table.sourceName ? catalogSources.get(table.sourceName) : undefined);
    // Every notice also goes to the alert log, which the console reads for a run's detail.
    const alertLog = new AlertLog(tableClient(settings.storage, settings.alerts.throttleTable));
    const notifier = new RecordedNotifier(overrides.notifier ?? createNotifier(settings.alerts, { logger, storage: settings.storage }), alertLog, logger);
    await ensured;
    const ingestDeps = (): IngestDeps => ({ source, sourceFor, sources, lake, watermarks, ledger, notifier, logger, leaseMs: settings.leaseMs, ranges: settings.ranges });
    const backfill = new BackfillService({ ...ingestDeps(), config, backfills, backfillQueue, sources, busy: settings.sourceSlots }, { ...settings.backfill, rowsPerChunk: settings.ranges.rowsPerRange });
    const app: SoundlakeApp = {
      settings,
      config,
      logger,
      sources,
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
      ingestMessageDeps: () => ({ ...ingestDeps(), config, ingestQueue, sources, busy: settings.sourceSlots }),
      close: async () => {
        await sources.close();
        await Promise.all([...(given ? [given.close()] : []), ...[...catalogSources.values()].map((s) => s.close())]);
      },
    };
    return app;
  } catch (err) {
    ensuring.abort();
    throw err;
  }
}

/** `s` with every method bound to it (the optional ones included), but a `close` that does nothing. */
function unclosable(s: Source): Source {
  return new Proxy(s, {
    get: (target, key) => {
      if (key === 'close') return async () => undefined;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** `app.source` of a catalog whose sources do not include `default`: says so on use. */
function noDefaultSource(names: string[]): Source {
  const refuse = (): never => {
    throw new SourceError(`no source is named "${DEFAULT_SOURCE}" (sources: ${names.join(', ')}): read a source through app.sources`);
  };
  return { kind: 'postgres', describe: refuse, safeUpperBound: refuse, hasRows: refuse, read: refuse, close: async () => undefined };
}
