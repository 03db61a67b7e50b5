import { z } from 'zod';
import type { StorageAccess } from '../azure/storageClients.js';
import { azureEvidence, runsInAzure } from '../azure/hosting.js';
import { azuriteConnectionString, isDevelopmentStorage } from '../azure/storageClients.js';
import type { SourceKind } from '../source/source.js';
import type { AlertSettings } from '../notify/alertSettings.js';
import { loadAlertSettings } from '../notify/alertSettings.js';
import { loadKickState } from '../events/eventSettings.js';
import { settingDefaults } from './settingDefaults.js';
import { SettingsError } from './settingsError.js';
import { loadMaxDequeueCount } from '../queue/maxDequeueCount.js';
import { parseIsoDuration } from '../time/isoDuration.js';
import { loadHttpSettings, type HttpSettings } from '../source/http/httpSettings.js';

export { SettingsError } from './settingsError.js';

/**
 * Process settings from environment variables (app settings in Azure, local.settings.json or
 * the shell locally). Secrets arrive here and nowhere else; nothing in this object is logged.
 */
export interface Settings {
  configPath: string;
  /**
   * The source named `default` when the catalog has no `sources:` block: SOURCE_KIND, SOURCE_URL
   * (null when unset in Azure; locally the embedded source) and SOURCE_MAX_CONNECTIONS.
   */
  source: { kind: SourceKind; url: string | null; maxConnections: number };
  /** Why the app believes it runs in Azure (WEBSITE_* settings), or null on a developer's machine. */
  azure: string | null;
  /** Connection slots per source (Table Storage) and what a message does when none is free. */
  sourceSlots: {
    table: string;
    leaseMs: number;
    /** First delay of a message deferred because its source has no free slot (doubles, at most 10 minutes). */
    retrySeconds: number;
    /** Deferrals of one message before it fails like any failure (retried, then poisoned and alerted). */
    maxDeferrals: number;
  };
  storage: StorageAccess;
  bronzeContainer: string;
  /** Bronze in this local folder instead of the container (FileLake): local runs and benchmarks only. */
  bronzeDir?: string;
  watermarkTable: string;
  ledgerTable: string;
  ingestQueue: string;
  leaseMs: number;
  /** Work per Functions invocation before a slice hands over to a continuation message. */
  invocationBudgetMs: number;
  /** Initial loads estimated above `rowsPerRange` rows run in key ranges, at most `maxRanges` (0 rows: never). */
  ranges: { rowsPerRange: number; maxRanges: number };
  concurrency: number;
  /** Deliveries of a queue message before the host poisons it (host.json, or its app-setting override). */
  maxDequeueCount: number;
  logLevel: string;
  alerts: AlertSettings;
  /** Fetching over HTTP for http and rest sources: allow-list, size cap, redirects, timeouts. */
  http: HttpSettings;
  /** The value of the app setting a catalog names (`{ setting: NAME }`); never logged. */
  setting: (name: string) => string | undefined;
  /** How long run history and kick state are kept; the ingest timer purges what is older. */
  retention: { ledgerDays: number; kickTable: string; kickDays: number };
  backfill: {
    table: string;
    queue: string;
    maxWindowDays: number;
    defaultChunk: string;
    maxChunks: number;
    concurrency: number;
  };
}

export const EMBEDDED_SOURCE_URL = 'postgres://postgres@127.0.0.1:5433/postgres';

const intFromEnv = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const azureName = (pattern: RegExp, rule: string) => z.string().regex(pattern, rule);
const serviceUri = (service: 'blob' | 'queue' | 'table') =>
  z
    .string()
    .regex(/^https:\/\/[^/?#\s]+\/?$/, `must be the account's ${service} endpoint, e.g. https://<account>.${service}.core.windows.net`)
    .transform((uri) => uri.replace(/\/$/, ''));

const envSchema = z.object({
  SOUNDLAKE_CONFIG: z.string().min(1).default('soundlake.yaml'),
  SOURCE_KIND: z.enum(['postgres', 'mssql']).default('postgres'),
  SOURCE_URL: z.string().min(1).optional(),
  SOURCE_MAX_CONNECTIONS: intFromEnv(1, 1000).default(8),
  SOURCE_SLOT_TABLE: azureName(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a table name (3-63 letters and digits)').default('soundlakesourceslots'),
  SOURCE_SLOT_SECONDS: intFromEnv(10, 3_600).default(120),
  SOURCE_BUSY_RETRY_SECONDS: intFromEnv(1, 600).default(30),
  SOURCE_BUSY_MAX_DEFERRALS: intFromEnv(0, 1_000).default(40),
  SOUNDLAKE_STORAGE: z.string().min(1).optional(),
  // Identity-based: the service URIs the Functions storage extensions read for a connection other
  // than AzureWebJobsStorage; the app's own clients read the same three.
  SOUNDLAKE_STORAGE__blobServiceUri: serviceUri('blob').optional(),
  SOUNDLAKE_STORAGE__queueServiceUri: serviceUri('queue').optional(),
  SOUNDLAKE_STORAGE__tableServiceUri: serviceUri('table').optional(),
  SOUNDLAKE_STORAGE__accountName: z.string().optional(),
  BRONZE_CONTAINER: azureName(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a container name (3-63 lower-case letters, digits, hyphens)').default('bronze'),
  BRONZE_DIR: z.string().min(1).optional(),
  WATERMARK_TABLE: azureName(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a table name (3-63 letters and digits)').default('soundlakewatermarks'),
  LEDGER_TABLE: azureName(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a table name (3-63 letters and digits)').default('soundlakeruns'),
  INGEST_QUEUE: azureName(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a queue name (3-63 lower-case letters, digits, hyphens)').default('soundlake-ingest'),
  LEASE_SECONDS: intFromEnv(10, 86_400).default(900),
  INVOCATION_BUDGET_SECONDS: intFromEnv(10, 3_600).default(480),
  INGEST_RANGE_ROWS: intFromEnv(0, 1_000_000_000_000).default(50_000_000),
  INGEST_MAX_RANGES: intFromEnv(2, 256).default(32),
  INGEST_CONCURRENCY: intFromEnv(1, 64).default(2),
  BACKFILL_TABLE: azureName(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a table name (3-63 letters and digits)').default('soundlakebackfills'),
  BACKFILL_QUEUE: azureName(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a queue name (3-63 lower-case letters, digits, hyphens)').default('soundlake-backfill'),
  BACKFILL_MAX_DAYS: intFromEnv(1, 36_500).default(366),
  // "auto": chunks of about INGEST_RANGE_ROWS rows by the source's row estimates; else a fixed ISO-8601 duration.
  BACKFILL_DEFAULT_CHUNK: z
    .string()
    .default('auto')
    .superRefine((text, ctx) => {
      if (text === 'auto') return;
      const parsed = parseIsoDuration(text);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem });
    }),
  BACKFILL_MAX_CHUNKS: intFromEnv(1, 100_000).default(1000),
  BACKFILL_CONCURRENCY: intFromEnv(1, 64).default(2),
  // Ledger entries (and run tallies) older than this leave the ledger, from the ingest timer.
  LEDGER_RETENTION_DAYS: intFromEnv(1, 36_500).default(90),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});


/** Ingestion settings as app-setting text when they are not set (the `%INGEST_QUEUE%` a binding names, for one). */
export const ingestSettingDefaults = (): Record<string, string> => settingDefaults(envSchema);

function kickRetention(env: NodeJS.ProcessEnv): { kickTable: string; kickDays: number } {
  const { kickTable, retentionDays } = loadKickState(env);
  return { kickTable, kickDays: retentionDays };
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new SettingsError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.SOURCE_KIND === 'mssql' && !e.SOURCE_URL) throw new SettingsError(['SOURCE_URL: required when SOURCE_KIND is mssql']);
  // In Azure there is no Azurite and no embedded source: a missing setting must stop the app, not point it at 127.0.0.1.
  if (runsInAzure(env)) {
    const problems = [
      ...(!e.SOUNDLAKE_STORAGE && !e.SOUNDLAKE_STORAGE__blobServiceUri && !e.SOUNDLAKE_STORAGE__queueServiceUri && !e.SOUNDLAKE_STORAGE__tableServiceUri
        ? [`SOUNDLAKE_STORAGE__blobServiceUri: required when ${azureEvidence(env)} (with __queueServiceUri and __tableServiceUri): the storage account, reached with the managed identity; Azurite's development account exists only on a developer's machine`]
        : []),
      ...(e.SOUNDLAKE_STORAGE && isDevelopmentStorage(e.SOUNDLAKE_STORAGE) ? [`SOUNDLAKE_STORAGE: Azurite's development account cannot be used when ${azureEvidence(env)}; set SOUNDLAKE_STORAGE__blobServiceUri, __queueServiceUri and __tableServiceUri instead`] : []),
      ...(e.BRONZE_DIR ? [`BRONZE_DIR: a local bronze folder cannot be used when ${azureEvidence(env)}: bronze goes to the storage account's container`] : []),
    ];
    if (problems.length > 0) throw new SettingsError(problems);
  }
  let storage: StorageAccess;
  if (e.SOUNDLAKE_STORAGE) {
    storage = { connectionString: e.SOUNDLAKE_STORAGE === 'UseDevelopmentStorage=true' ? azuriteConnectionString() : e.SOUNDLAKE_STORAGE };
  } else if (e.SOUNDLAKE_STORAGE__blobServiceUri || e.SOUNDLAKE_STORAGE__queueServiceUri || e.SOUNDLAKE_STORAGE__tableServiceUri) {
    storage = storageServiceUris(e);
  } else if (e.SOUNDLAKE_STORAGE__accountName) {
    // The form earlier releases read: refuse it rather than fall through to another account.
    throw new SettingsError(['SOUNDLAKE_STORAGE__accountName: no longer read; set SOUNDLAKE_STORAGE__blobServiceUri, __queueServiceUri and __tableServiceUri (the identity-based connection the queue triggers use)']);
  } else {
    storage = { connectionString: azuriteConnectionString() };
  }
  return {
    configPath: e.SOUNDLAKE_CONFIG,
    // In Azure an unset SOURCE_URL stays unset: the source registry refuses it when a table reads `default`.
    source: { kind: e.SOURCE_KIND, url: e.SOURCE_URL ?? (runsInAzure(env) ? null : EMBEDDED_SOURCE_URL), maxConnections: e.SOURCE_MAX_CONNECTIONS },
    azure: runsInAzure(env) ? azureEvidence(env) : null,
    sourceSlots: {
      table: e.SOURCE_SLOT_TABLE,
      leaseMs: e.SOURCE_SLOT_SECONDS * 1000,
      retrySeconds: e.SOURCE_BUSY_RETRY_SECONDS,
      maxDeferrals: e.SOURCE_BUSY_MAX_DEFERRALS,
    },
    storage,
    bronzeContainer: e.BRONZE_CONTAINER,
    ...(e.BRONZE_DIR ? { bronzeDir: e.BRONZE_DIR } : {}),
    watermarkTable: e.WATERMARK_TABLE,
    ledgerTable: e.LEDGER_TABLE,
    ingestQueue: e.INGEST_QUEUE,
    leaseMs: e.LEASE_SECONDS * 1000,
    invocationBudgetMs: e.INVOCATION_BUDGET_SECONDS * 1000,
    ranges: { rowsPerRange: e.INGEST_RANGE_ROWS, maxRanges: e.INGEST_MAX_RANGES },
    concurrency: e.INGEST_CONCURRENCY,
    maxDequeueCount: loadMaxDequeueCount(env),
    logLevel: e.LOG_LEVEL,
    alerts: loadAlertSettings(env),
    http: loadHttpSettings(env),
    setting: (name) => (env[name]?.trim() ? env[name] : undefined),
    retention: { ledgerDays: e.LEDGER_RETENTION_DAYS, ...kickRetention(env) },
    backfill: {
      table: e.BACKFILL_TABLE,
      queue: e.BACKFILL_QUEUE,
      maxWindowDays: e.BACKFILL_MAX_DAYS,
      defaultChunk: e.BACKFILL_DEFAULT_CHUNK,
      maxChunks: e.BACKFILL_MAX_CHUNKS,
      concurrency: e.BACKFILL_CONCURRENCY,
    },
  };
}

/** The app reads blobs, queues and tables: with identity-based storage all three URIs are needed. */
function storageServiceUris(e: z.infer<typeof envSchema>): StorageAccess {
  const uris = { blob: e.SOUNDLAKE_STORAGE__blobServiceUri, queue: e.SOUNDLAKE_STORAGE__queueServiceUri, table: e.SOUNDLAKE_STORAGE__tableServiceUri };
  const missing = Object.entries(uris).filter(([, uri]) => !uri).map(([service]) => `SOUNDLAKE_STORAGE__${service}ServiceUri: required with the other SOUNDLAKE_STORAGE__*ServiceUri settings (the app uses blobs, queues and tables)`);
  if (missing.length > 0) throw new SettingsError(missing);
  return { blobServiceUri: uris.blob!, queueServiceUri: uris.queue!, tableServiceUri: uris.table! };
}
