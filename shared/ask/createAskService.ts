import { entraAuth, patAuth } from '../databricks/databricksAuth.js';
import { DatabricksClient } from '../databricks/databricksClient.js';
import { azureCredential } from '../azure/credential.js';
import type { Logger } from '../logging/logger.js';
import type { AskSettings } from './askSettings.js';
import { AskService } from './askService.js';
import { ChatClient } from './chatClient.js';
import { loadPipelineConfig } from '../config/pipelineConfig.js';
import { allowList, deployedCatalog, goldCatalog, type GoldCatalog } from './goldCatalog.js';
import type { SqlEndpoint } from './sqlEndpoint.js';
import { prepareGuard } from './sqlGuard.js';
import { createStatementExecutionEndpoint } from './statementExecutionEndpoint.js';
import { createThriftSqlEndpoint } from './thriftSqlEndpoint.js';

/** Which SQL endpoint and LLM the question box uses is decided here, once, from settings. */
export function createSqlEndpoint(settings: AskSettings, logger: Logger): SqlEndpoint {
  const e = settings.endpoint;
  if (e.kind === 'local') return createThriftSqlEndpoint({ host: e.host, port: e.port, schema: e.schema });
  const client = new DatabricksClient({ host: e.host, auth: e.token ? patAuth(e.token) : entraAuth(azureCredential()), timeoutMs: e.timeoutMs, maxRetries: e.maxRetries, logger });
  return createStatementExecutionEndpoint({ client, warehouseId: e.warehouseId, catalog: e.catalog, schema: e.schema });
}

/**
 * The gold tables of the deployment whose table catalog is `catalogPath`. Gold's conditional
 * tables (the Spotify facts) are built where that catalog has their silver input (the bundle's
 * catalog mutator reads the same file), so the prompt and the guard offer only what exists.
 */
export async function deploymentCatalog(catalogPath: string): Promise<GoldCatalog> {
  const silverTables = new Set((await loadPipelineConfig(catalogPath)).tables.map((t) => t.silverName));
  return deployedCatalog(goldCatalog, silverTables);
}

export async function createAskService(settings: AskSettings, logger: Logger, overrides: { endpoint?: SqlEndpoint } = {}): Promise<AskService> {
  await prepareGuard();
  // The prompt, the guard and the statement's default schema all name the schema the endpoint
  // really has (dev_<user>_gold in a development-mode bundle), not the catalogue's `gold`.
  const catalogue = { ...(await deploymentCatalog(settings.catalogPath)), schema: settings.endpoint.schema };
  const allow = allowList(catalogue, settings.hiddenColumns);
  const catalog = settings.endpoint.kind === 'databricks' ? settings.endpoint.catalog : 'spark_catalog';
  const chat = settings.llm
    ? new ChatClient({ baseUrl: settings.llm.baseUrl, model: settings.llm.model, keyHeader: settings.llm.keyHeader, timeoutMs: settings.llm.timeoutMs, maxRetries: settings.llm.maxRetries, logger, ...(settings.llm.apiKey ? { apiKey: settings.llm.apiKey } : {}) })
    : undefined;
  return new AskService({
    catalog: catalogue,
    allow,
    policy: { allow, catalog, maxRows: settings.maxRows },
    endpoint: overrides.endpoint ?? createSqlEndpoint(settings, logger),
    ...(chat ? { chat } : {}),
    logger: logger.child({ component: 'ask' }),
    statementTimeoutMs: settings.statementTimeoutMs,
    maxAttempts: settings.maxAttempts,
    deadlineMs: settings.deadlineMs,
  });
}

let service: Promise<AskService> | undefined;

/** The process-wide question box for function handlers, built from app settings on first use. */
export function getAskService(logger: () => Logger): Promise<AskService> {
  service ??= (async () => {
    const { loadAskSettings } = await import('./askSettings.js');
    return createAskService(loadAskSettings(), logger());
  })().catch((err: unknown) => {
    service = undefined;
    throw err;
  });
  return service;
}

/** For tests and the local runner. */
export function setAskService(instance: AskService | undefined): void {
  service = instance ? Promise.resolve(instance) : undefined;
}
