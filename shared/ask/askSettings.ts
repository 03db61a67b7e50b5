import { z } from 'zod';
import { SettingsError } from '../config/settingsError.js';

/**
 * Settings of the question box, from environment variables (app settings in Azure). Kept apart
 * from ingestion settings: ingestion never needs an LLM or a warehouse. Secrets (the LLM key,
 * a Databricks PAT) arrive here and are never logged.
 */
export type AskEndpointSettings =
  | { kind: 'local'; host: string; port: number; schema: string }
  | { kind: 'databricks'; host: string; token?: string; warehouseId: string; catalog: string; schema: string; timeoutMs: number; maxRetries: number };

export interface LlmSettings {
  baseUrl: string;
  model: string;
  apiKey?: string;
  keyHeader: 'authorization' | 'api-key';
  timeoutMs: number;
  maxRetries: number;
}

export interface AskSettings {
  endpoint: AskEndpointSettings;
  /** Absent: no LLM; only the SQL mode works. */
  llm?: LlmSettings;
  maxRows: number;
  statementTimeoutMs: number;
  /** Model answers tried per question (the error of one goes into the prompt of the next). */
  maxAttempts: number;
  /** Everything for one question (model calls, retries, statements) ends within this. */
  deadlineMs: number;
  hiddenColumns: string[];
  /** The table catalog (soundlake.yaml) the deployment's gold is built from: says which conditional gold tables exist. */
  catalogPath: string;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  ASK_ENDPOINT: z.enum(['local', 'databricks']).default('local'),
  SQL_ENDPOINT_HOST: z.enum(['127.0.0.1', 'localhost', '::1']).default('127.0.0.1'),
  SQL_ENDPOINT_PORT: int(1, 65_535).default(10_009),
  DATABRICKS_HOST: z.string().min(1).optional(),
  DATABRICKS_TOKEN: z.string().min(1).optional(),
  DATABRICKS_WAREHOUSE_ID: z.string().regex(/^[A-Za-z0-9-]{4,64}$/, 'must be a SQL warehouse id').optional(),
  DATABRICKS_CATALOG: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, 'must be a Unity Catalog catalog name').default('soundlake'),
  // The bundle's dev target (development mode) renames schemas to dev_<user>_gold: the deployment
  // passes the name `bundle summary` reports (resources.schemas.gold.name).
  DATABRICKS_GOLD_SCHEMA: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, 'must be a Unity Catalog schema name').default('gold'),
  DATABRICKS_TIMEOUT_SECONDS: int(1, 300).default(30),
  DATABRICKS_MAX_RETRIES: int(0, 10).default(5),
  ASK_LLM_BASE_URL: z.string().url('must be a URL such as https://api.openai.com/v1').optional(),
  ASK_LLM_MODEL: z.string().min(1).optional(),
  ASK_LLM_API_KEY: z.string().min(1).optional(),
  ASK_LLM_KEY_HEADER: z.enum(['authorization', 'api-key']).default('authorization'),
  ASK_LLM_TIMEOUT_SECONDS: int(1, 120).default(30),
  ASK_LLM_MAX_RETRIES: int(0, 10).default(3),
  ASK_MAX_ROWS: int(1, 10_000).default(200),
  // Capped so a question (model call + statement) ends inside the Functions HTTP limit (230 s).
  ASK_STATEMENT_TIMEOUT_SECONDS: int(5, 150).default(60),
  ASK_MAX_ATTEMPTS: int(1, 3).default(2),
  // The whole question, below the 230 s that Azure's front end allows an HTTP request.
  ASK_DEADLINE_SECONDS: int(10, 220).default(200),
  ASK_HIDDEN_COLUMNS: z.string().default('dim_user.user_name'),
  // The catalog ingestion reads (shared/config/settings.ts): gold is built from the same file.
  SOUNDLAKE_CONFIG: z.string().min(1).default('soundlake.yaml'),
});

export function loadAskSettings(env: NodeJS.ProcessEnv = process.env): AskSettings {
  // An app setting left empty ("" in the environment) counts as not set.
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) throw new SettingsError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  const problems: string[] = [];
  let endpoint: AskEndpointSettings;
  if (e.ASK_ENDPOINT === 'databricks') {
    if (!e.DATABRICKS_HOST) problems.push('DATABRICKS_HOST: required when ASK_ENDPOINT is databricks');
    if (!e.DATABRICKS_WAREHOUSE_ID) problems.push('DATABRICKS_WAREHOUSE_ID: required when ASK_ENDPOINT is databricks');
    endpoint = {
      kind: 'databricks',
      host: e.DATABRICKS_HOST ?? '',
      ...(e.DATABRICKS_TOKEN ? { token: e.DATABRICKS_TOKEN } : {}),
      warehouseId: e.DATABRICKS_WAREHOUSE_ID ?? '',
      catalog: e.DATABRICKS_CATALOG,
      schema: e.DATABRICKS_GOLD_SCHEMA,
      timeoutMs: e.DATABRICKS_TIMEOUT_SECONDS * 1000,
      maxRetries: e.DATABRICKS_MAX_RETRIES,
    };
  } else {
    endpoint = { kind: 'local', host: e.SQL_ENDPOINT_HOST, port: e.SQL_ENDPOINT_PORT, schema: 'gold' };
  }
  const llmParts = [e.ASK_LLM_BASE_URL, e.ASK_LLM_MODEL].filter(Boolean).length;
  if (llmParts === 1) problems.push('ASK_LLM_BASE_URL and ASK_LLM_MODEL: set both (or neither, for the SQL-only mode)');
  if (problems.length) throw new SettingsError(problems);
  return {
    endpoint,
    ...(e.ASK_LLM_BASE_URL && e.ASK_LLM_MODEL
      ? { llm: { baseUrl: e.ASK_LLM_BASE_URL, model: e.ASK_LLM_MODEL, ...(e.ASK_LLM_API_KEY ? { apiKey: e.ASK_LLM_API_KEY } : {}), keyHeader: e.ASK_LLM_KEY_HEADER, timeoutMs: e.ASK_LLM_TIMEOUT_SECONDS * 1000, maxRetries: e.ASK_LLM_MAX_RETRIES } }
      : {}),
    maxRows: e.ASK_MAX_ROWS,
    statementTimeoutMs: e.ASK_STATEMENT_TIMEOUT_SECONDS * 1000,
    maxAttempts: e.ASK_MAX_ATTEMPTS,
    deadlineMs: e.ASK_DEADLINE_SECONDS * 1000,
    hiddenColumns: e.ASK_HIDDEN_COLUMNS.split(',').map((s) => s.trim()).filter(Boolean),
    catalogPath: e.SOUNDLAKE_CONFIG,
  };
}
