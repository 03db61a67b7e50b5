import { z } from 'zod';
import { settingDefaults } from '../config/settingDefaults.js';
import { SettingsError } from '../config/settingsError.js';
import { loadMaxDequeueCount } from '../queue/maxDequeueCount.js';
import { COMPLETING_APIS, KNOWN_COMPLETING_APIS } from './blobCreatedEvent.js';

/**
 * Settings of the BlobCreated -> Databricks path, from environment variables. Kept apart from
 * the ingestion settings so ingestion never depends on Databricks being configured.
 */
export interface DatabricksSettings {
  /** Workspace URL (or a local stand-in). */
  host: string;
  /** Personal access token; when absent, a Microsoft Entra token (DefaultAzureCredential). Never logged. */
  token?: string;
  /** The bundle's medallion job (silver, then the gold pipeline as its task): each closed window is one run-now of it. */
  jobId: number;
  timeoutMs: number;
  maxRetries: number;
}

export interface EventSettings {
  bronzeContainer: string;
  /** Debounce window: files within this time of the first file lead to one run. */
  windowMs: number;
  kickTable: string;
  kickQueue: string;
  /** data.api values that count as a completed file. */
  apis: string[];
  /** How long event ids, windows and their files are kept in the kick table. */
  retentionDays: number;
  /** Deliveries of a kick message before the host poisons it (host.json, or its app-setting override). */
  maxDequeueCount: number;
  /**
   * A 429 whose Retry-After is longer than the client waits in one invocation re-schedules the
   * kick message that far ahead, at most this many seconds, at most `maxDeferrals` times in a
   * row; after that the kick fails like any other failure.
   */
  maxRetryAfterSeconds: number;
  maxDeferrals: number;
  databricks: DatabricksSettings;
}

const containerName = z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a container name (3-63 lower-case letters, digits, hyphens)');
const queueName = z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a queue name (3-63 lower-case letters, digits, hyphens)');
const tableName = z.string().regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a table name (3-63 letters and digits)');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const jobId = z
  .string()
  .refine((s) => /^\d{1,16}$/.test(s) && Number(s) <= Number.MAX_SAFE_INTEGER, 'must be a Databricks job id (digits)')
  .transform(Number);
const blank = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** Where kick state lives and how long it is kept: also read by the ingest timer, which purges it whatever becomes of kicks. */
const kickStateSchema = z.object({
  KICK_TABLE: tableName.default('soundlakekicks'),
  // Event Grid redelivers for up to a day: two days is the least that still drops duplicates.
  KICK_RETENTION_DAYS: int(2, 3_650).default(14),
});

export function loadKickState(env: NodeJS.ProcessEnv = process.env): { kickTable: string; retentionDays: number } {
  const parsed = kickStateSchema.safeParse(env);
  if (!parsed.success) throw new SettingsError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return { kickTable: parsed.data.KICK_TABLE, retentionDays: parsed.data.KICK_RETENTION_DAYS };
}

const envSchema = kickStateSchema.extend({
  BRONZE_CONTAINER: containerName.default('bronze'),
  KICK_WINDOW_SECONDS: int(1, 3_600).default(120),
  KICK_QUEUE: queueName.default('soundlake-kick'),
  KICK_APIS: z
    .string()
    .default(COMPLETING_APIS.join(','))
    .transform((s) => s.split(',').map((a) => a.trim()).filter(Boolean))
    .refine((list) => list.length > 0 && list.every((a) => (KNOWN_COMPLETING_APIS as readonly string[]).includes(a)), `must list some of ${KNOWN_COMPLETING_APIS.join(', ')}`),
  // Seven days is the longest a Storage queue message can stay invisible.
  KICK_MAX_RETRY_AFTER_SECONDS: int(1, 604_800).default(3_600),
  KICK_MAX_DEFERRALS: int(0, 1_000).default(10),
  DATABRICKS_HOST: z.preprocess(blank, z.string({ error: 'required: the workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net' }).min(1)),
  DATABRICKS_TOKEN: z.preprocess(blank, z.string().optional()),
  DATABRICKS_JOB_ID: z.preprocess(blank, jobId.optional()),
  DATABRICKS_TIMEOUT_SECONDS: int(1, 300).default(30),
  DATABRICKS_MAX_RETRIES: int(0, 10).default(5),
});

/** Event settings as app-setting text when they are not set (the `%KICK_QUEUE%` a binding names, for one). */
export const eventSettingDefaults = (): Record<string, string> => settingDefaults(envSchema);

export function loadEventSettings(env: NodeJS.ProcessEnv = process.env): EventSettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new SettingsError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  try {
    new URL(/^https?:\/\//i.test(e.DATABRICKS_HOST) ? e.DATABRICKS_HOST : `https://${e.DATABRICKS_HOST}`);
  } catch {
    throw new SettingsError([`DATABRICKS_HOST: not a URL: ${e.DATABRICKS_HOST}`]);
  }
  if (e.DATABRICKS_JOB_ID === undefined) throw new SettingsError(['DATABRICKS_JOB_ID: required: the id of the medallion job of the bundle (silver, then gold)']);
  return {
    bronzeContainer: e.BRONZE_CONTAINER,
    windowMs: e.KICK_WINDOW_SECONDS * 1000,
    kickTable: e.KICK_TABLE,
    kickQueue: e.KICK_QUEUE,
    apis: e.KICK_APIS,
    retentionDays: e.KICK_RETENTION_DAYS,
    maxDequeueCount: loadMaxDequeueCount(env),
    maxRetryAfterSeconds: e.KICK_MAX_RETRY_AFTER_SECONDS,
    maxDeferrals: e.KICK_MAX_DEFERRALS,
    databricks: {
      host: e.DATABRICKS_HOST,
      ...(e.DATABRICKS_TOKEN ? { token: e.DATABRICKS_TOKEN } : {}),
      jobId: e.DATABRICKS_JOB_ID,
      timeoutMs: e.DATABRICKS_TIMEOUT_SECONDS * 1000,
      maxRetries: e.DATABRICKS_MAX_RETRIES,
    },
  };
}
