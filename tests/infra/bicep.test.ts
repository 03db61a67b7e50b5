/**
 * Infrastructure as code, checked without the Bicep compiler (it cannot be installed here) and
 * without network: the templates are read by a small Bicep reader (tests/infra/bicep.ts) and each
 * check (tests/infra/checks.ts) runs twice, on the real files (no problem) and on a copy with one
 * deliberate mistake (the problem is reported), so no check passes vacuously.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queueClient } from '../../shared/azure/storageClients.js';
import { loadAskSettings } from '../../shared/ask/askSettings.js';
import { loadSettings } from '../../shared/config/settings.js';
import type { Value } from './bicep.js';
import { at, decl, evaluate, parseBicep, Unsupported } from './bicep.js';
import type { BlobEvent, Repo } from './checks.js';
import {
  altered,
  appSettingsDecl,
  bicep,
  checkAppSettings,
  checkCiJobs,
  checkLakeNames,
  checkModuleParams,
  checkNoSecrets,
  checkParamFiles,
  checkParamsUsed,
  checkReferences,
  checkRoleIds,
  checkSecretSettings,
  checkSourceSettings,
  checkWorkflows,
  delivers,
  eventGridFilter,
  EVENT_GRID,
  FUNCTION_APP,
  lakeResources,
  loadRepo,
  MAIN,
  moduleScope,
  once,
  REPO_ROOT,
  RBAC,
  rbacGrants,
  rbacWiring,
  ROLES,
  settingsReadByCode,
  templateScope,
} from './checks.js';

const repo: Repo = loadRepo();


/** The Function App's settings as infra sets them, main.bicep's parameters from `main` (prod-like samples otherwise). */
function appEnv(main: Record<string, unknown> = {}, r: Repo = repo): Record<string, string> {
  const scope = moduleScope(
    r,
    FUNCTION_APP,
    {
      sourceSqlServer: 'sql-soundlake-prod.database.windows.net',
      sourceSqlDatabase: 'soundlake',
      alertEmailTo: 'data-team@example.com',
      medallionJobId: '123456789012',
      sqlWarehouseId: '0123456789abcdef',
      databricksCatalog: 'soundlake',
      ...main,
    },
    {
      hostStorageName: 'stsoundlakefuncprod1a2b3',
      lakeStorageName: 'stsoundlakelakeprod1a2b3',
      appInsightsConnectionString: 'IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/',
      acsEndpoint: 'https://acs-soundlake-prod-1a2b3.europe.communication.azure.com',
      alertEmailFrom: 'DoNotReply@00000000-0000-0000-0000-000000000000.azurecomm.net',
      databricksHost: 'https://adb-1234567890123456.7.azuredatabricks.net',
      keyVaultUri: 'https://kv-soundlake-prod-1a2b3.vault.azure.net/',
    },
  );
  return Object.fromEntries([...appSettingsDecl(r)].map(([k, v]) => [k, String(evaluate(v, scope))]));
}

describe('bicep reader', () => {
  it('reads params, decorators, modules, loops, conditions and interpolated strings', () => {
    const file = parseBicep(
      'x.bicep',
      [
        "import { a } from 'lib.bicep'",
        '@description(\'d\')',
        '@allowed([',
        "  'x'",
        '])',
        'param p string',
        'param q int = 2 // trailing comment',
        'param r object?',
        "var v = '${p}-${string(q)}'",
        "module m 'mod.bicep' = if (q > 1) {",
        "  name: 'm'",
        '  params: {',
        '    one: p',
        '    two: [',
        "      'a'",
        "      '${p}b'",
        '    ]',
        '  }',
        '}',
        "resource rs 'T@1' = [for i in range(0, 2): {",
        "  name: 'n${i}'",
        '}]',
      ].join('\n'),
    );
    expect(file.decls.map((d) => `${d.kind}:${d.name}`)).toEqual(['import:{a}', 'param:p', 'param:q', 'param:r', 'var:v', 'module:m', 'resource:rs']);
    expect(decl(file, 'param', 'p')).toMatchObject({ hasDefault: false, type: 'string', decorators: ['description', 'allowed'] });
    expect(decl(file, 'param', 'q')).toMatchObject({ hasDefault: true });
    expect(decl(file, 'param', 'r').type).toBe('object?');
    const scope = (n: string): unknown => ({ p: 'P', q: 2 })[n];
    expect(evaluate(decl(file, 'var', 'v').value!, scope)).toBe('P-2');
    const m = decl(file, 'module', 'm');
    expect(m.type).toBe('mod.bicep');
    expect(m.value?.kind).toBe('if');
    expect(decl(file, 'resource', 'rs').value?.kind).toBe('for');
  });
});

describe('templates', () => {
  it('every module and import path resolves to a local template', () => {
    expect(checkReferences(repo)).toEqual([]);
    const missing = altered(repo, 'infra/bicep/modules/databricks.bicep', () => undefined);
    expect(checkReferences(missing)).toEqual([expect.stringContaining("module 'databricks' refers to missing infra/bicep/modules/databricks.bicep")]);
    const registry = altered(repo, MAIN, once("module databricks 'modules/databricks.bicep'", "module databricks 'br/public:avm/res/databricks/workspace:0.1.0'"));
    expect(checkReferences(registry)).toEqual([expect.stringContaining('comes from a registry')]);
  });

  it('main passes every required parameter of each module, and only parameters the module declares', () => {
    expect(checkModuleParams(repo)).toEqual([]);
    const dropped = altered(repo, MAIN, once('    sourceSqlDatabase: sourceSqlDatabase\n', ''));
    expect(checkModuleParams(dropped)).toEqual([expect.stringContaining("does not pass required parameter 'sourceSqlDatabase'")]);
    const unknown = altered(repo, MAIN, once('    functionPrincipalId: functionApp.outputs.principalId\n', '    functionPrincipalId: functionApp.outputs.principalId\n    extra: 1\n'));
    expect(checkModuleParams(unknown)).toEqual([expect.stringContaining("passes 'extra'")]);
    const newRequired = altered(repo, 'infra/bicep/modules/communication.bicep', once('param tags object = {}', 'param tags object = {}\n\nparam senderName string'));
    expect(checkModuleParams(newRequired)).toEqual([expect.stringContaining("does not pass required parameter 'senderName'")]);
  });

  it('every declared parameter is used', () => {
    expect(checkParamsUsed(repo)).toEqual([]);
    const unused = altered(repo, 'infra/bicep/modules/monitoring.bicep', once('param tags object = {}', 'param tags object = {}\n\nparam unusedKnob int = 1'));
    expect(checkParamsUsed(unused)).toEqual([expect.stringContaining("'unusedKnob' is never used")]);
  });

  it('main.dev.bicepparam and main.prod.bicepparam set every required parameter of main.bicep', () => {
    expect(checkParamFiles(repo)).toEqual([]);
    const missing = altered(repo, 'infra/bicep/main.prod.bicepparam', once(/^param alertEmailTo = .*\n/m, ''));
    expect(checkParamFiles(missing)).toEqual([expect.stringContaining("main.prod.bicepparam: does not set required parameter 'alertEmailTo'")]);
    const unknown = altered(repo, 'infra/bicep/main.dev.bicepparam', once("param environmentName = 'dev'", "param environmentName = 'dev'\nparam colour = 'blue'"));
    expect(checkParamFiles(unknown)).toEqual([expect.stringContaining("sets 'colour'")]);
  });
});

describe('Function App settings', () => {
  it('set every setting the code reads, identity-based, none that Flex Consumption rejects', () => {
    const { names, connections } = settingsReadByCode(repo);
    // The reader really sees the code: settings.ts keys, binding expressions, connections.
    // ... and every settings loader's schema, whatever the schema constant is called (askSettings.ts: `schema`).
    for (const n of ['SOURCE_KIND', 'SOURCE_URL', 'BRONZE_CONTAINER', 'WATERMARK_TABLE', 'LEDGER_TABLE', 'INGEST_QUEUE', 'SOUNDLAKE_STORAGE__queueServiceUri', 'SOUNDLAKE_STORAGE__blobServiceUri', 'SOUNDLAKE_STORAGE__tableServiceUri', 'INGEST_SCHEDULE', 'ASK_ENDPOINT', 'DATABRICKS_WAREHOUSE_ID', 'DATABRICKS_CATALOG', 'ASK_LLM_API_KEY', 'ALERT_EMAIL_TO', 'KICK_QUEUE']) {
      expect(names.has(n), n).toBe(true);
    }
    expect([...connections]).toContain('SOUNDLAKE_STORAGE');
    expect(settingsReadByCode(repo).connectionServices.get('SOUNDLAKE_STORAGE')).toEqual(new Set(['queue']));
    expect(checkAppSettings(repo)).toEqual([]);
  });

  it('a setting the code reads but infra does not set fails the check', () => {
    const dropped = altered(repo, FUNCTION_APP, once('  LEDGER_TABLE: lake.ledgerTable\n', ''));
    expect(checkAppSettings(dropped)).toEqual([expect.stringContaining('app setting LEDGER_TABLE (read by the code) is not set')]);
    const newSetting = altered(repo, 'shared/config/settings.ts', once("  LOG_LEVEL: z.enum(", "  SPOTIFY_MARKET: z.string().default('SE'),\n  LOG_LEVEL: z.enum("));
    expect(checkAppSettings(newSetting)).toEqual([expect.stringContaining('SPOTIFY_MARKET')]);
    const newBinding = altered(repo, 'functions/ingest-timer.ts', once("'%INGEST_SCHEDULE%'", "'%NIGHTLY_SCHEDULE%'"));
    expect(checkAppSettings(newBinding)).toEqual([expect.stringContaining('NIGHTLY_SCHEDULE')]);
    const flex = altered(repo, FUNCTION_APP, once("  SOUNDLAKE_CONFIG: 'soundlake.yaml'\n", "  SOUNDLAKE_CONFIG: 'soundlake.yaml'\n  FUNCTIONS_WORKER_RUNTIME: 'node'\n"));
    expect(checkAppSettings(flex)).toEqual([expect.stringContaining('FUNCTIONS_WORKER_RUNTIME must not be set')]);
    const keyed = altered(repo, FUNCTION_APP, once('  AzureWebJobsStorage__accountName: hostStorageName\n', ''));
    expect(checkAppSettings(keyed)).toEqual([expect.stringContaining('AzureWebJobsStorage__accountName')]);
    // Queue triggers on the lake read SOUNDLAKE_STORAGE__queueServiceUri; an account name alone does not serve them.
    const accountName = altered(repo, FUNCTION_APP, once(/^  SOUNDLAKE_STORAGE__queueServiceUri: .*\n/m, '  SOUNDLAKE_STORAGE__accountName: lakeStorageName\n'));
    expect(checkAppSettings(accountName)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('has no identity-based SOUNDLAKE_STORAGE__queueServiceUri setting'),
        expect.stringContaining('SOUNDLAKE_STORAGE__accountName is set'),
      ]),
    );
  });

  it('the values infra sets pass every settings loader of the app', async () => {
    const env = appEnv();
    const settings = loadSettings(env);
    expect(settings.storage).toEqual({
      blobServiceUri: 'https://stsoundlakelakeprod1a2b3.blob.core.windows.net',
      queueServiceUri: 'https://stsoundlakelakeprod1a2b3.queue.core.windows.net',
      tableServiceUri: 'https://stsoundlakelakeprod1a2b3.table.core.windows.net',
    });
    // The triggers' connection and the app's own queue client address the same queue.
    expect(queueClient(settings.storage, settings.ingestQueue).url).toBe(`${env.SOUNDLAKE_STORAGE__queueServiceUri}/soundlake-ingest`);
    expect(settings.source).toEqual({ kind: 'mssql', url: 'mssql://sql-soundlake-prod.database.windows.net/soundlake', maxConnections: 8 });
    expect(settings).toMatchObject({ bronzeContainer: 'bronze', watermarkTable: 'soundlakewatermarks', ledgerTable: 'soundlakeruns', ingestQueue: 'soundlake-ingest' });
    expect(settings.backfill).toMatchObject({ table: 'soundlakebackfills', queue: 'soundlake-backfill' });
    expect(env).toMatchObject({ INGEST_SCHEDULE: '0 */15 * * * *', KICK_QUEUE: 'soundlake-kick', KICK_TABLE: 'soundlakekicks', ALERT_THROTTLE_TABLE: 'soundlakealerts', KICK_APIS: 'PutBlob,PutBlockList,FlushWithClose' });

    // Every `export function load...Settings(env...)` in shared/ accepts these values as they are.
    const loaders = [...repo].flatMap(([path, text]) => (path.startsWith('shared/') ? [...text.matchAll(/export function (load\w*Settings)\(env/g)].map((m) => [path, m[1]!] as const) : []));
    expect(loaders.map(([, name]) => name)).toEqual(expect.arrayContaining(['loadSettings', 'loadAskSettings']));
    const withLlm = appEnv({ askLlmBaseUrl: 'https://soundlake-openai.openai.azure.com/openai/v1', askLlmModel: 'gpt-4.1-mini', askLlmKeyHeader: 'api-key' });
    for (const [path, name] of loaders) {
      const module = (await import(join(REPO_ROOT, path))) as Record<string, (env: NodeJS.ProcessEnv) => unknown>;
      expect(() => module[name]!(env), `${path} ${name}`).not.toThrow();
      expect(() => module[name]!(withLlm), `${path} ${name} with an LLM`).not.toThrow();
    }
  });

  it('the question box reads gold through the bundle\'s warehouse; the LLM key is a Key Vault reference, set only with an LLM', () => {
    // SQL-only (no LLM parameters): the Databricks endpoint, no LLM, no key setting at all.
    const sqlOnly = loadAskSettings(appEnv());
    expect(sqlOnly.endpoint).toMatchObject({ kind: 'databricks', host: 'https://adb-1234567890123456.7.azuredatabricks.net', warehouseId: '0123456789abcdef', catalog: 'soundlake', schema: 'gold' });
    expect(sqlOnly.endpoint).not.toHaveProperty('token'); // the managed identity's Entra token, never a PAT
    expect(sqlOnly.llm).toBeUndefined();
    expect(appEnv().ASK_LLM_API_KEY).toBe('');

    // With an LLM: the key is the versionless reference to the vault's secret, resolved by the platform.
    const env = appEnv({ askLlmBaseUrl: 'https://soundlake-openai.openai.azure.com/openai/v1', askLlmModel: 'gpt-4.1-mini', askLlmKeyHeader: 'api-key' });
    expect(env.ASK_LLM_API_KEY).toBe('@Microsoft.KeyVault(SecretUri=https://kv-soundlake-prod-1a2b3.vault.azure.net/secrets/ask-llm-api-key/)');
    const main = bicep(repo, MAIN);
    expect(evaluate(decl(main, 'var', 'keyVaultSecrets').value!, () => undefined)).toEqual({ askLlmApiKey: 'ask-llm-api-key', spotifyClientIdName: 'spotify-client-id', spotifyClientSecretName: 'spotify-client-secret' });
    // The Spotify preset's credentials: versionless Key Vault references, never values.
    expect(env.SPOTIFY_CLIENT_ID).toBe('@Microsoft.KeyVault(SecretUri=https://kv-soundlake-prod-1a2b3.vault.azure.net/secrets/spotify-client-id/)');
    expect(env.SPOTIFY_CLIENT_SECRET).toBe('@Microsoft.KeyVault(SecretUri=https://kv-soundlake-prod-1a2b3.vault.azure.net/secrets/spotify-client-secret/)');
    expect(loadAskSettings(env).llm).toMatchObject({ baseUrl: 'https://soundlake-openai.openai.azure.com/openai/v1', model: 'gpt-4.1-mini', keyHeader: 'api-key', apiKey: env.ASK_LLM_API_KEY });

    // Before the bundle's first deploy there is no warehouse id: a question fails, naming the setting.
    expect(() => loadAskSettings(appEnv({ sqlWarehouseId: '' }))).toThrow(/DATABRICKS_WAREHOUSE_ID: required/);
    // The catalog follows the environment's parameter file, which must agree with the bundle's target.
    expect(loadAskSettings(appEnv({ databricksCatalog: 'soundlake_dev' })).endpoint).toMatchObject({ catalog: 'soundlake_dev' });

    // A key as a plain value would be a secret in the template: the check finds it.
    const plain = altered(repo, FUNCTION_APP, once(/^  ASK_LLM_API_KEY: .*$/m, '  ASK_LLM_API_KEY: askLlmModel'));
    expect(checkSecretSettings(plain)).toEqual([expect.stringContaining('ASK_LLM_API_KEY is not a Key Vault reference')]);
    expect(checkSecretSettings(repo)).toEqual([]);
  });

  it("every app setting a catalog source names is set in each environment, as a Key Vault reference", () => {
    expect(checkSourceSettings(repo)).toEqual([]);
    const withSource = altered(repo, 'soundlake.yaml', once(/^tables:/m, "sources:\n  - { name: streaming_db, kind: postgres, url: { setting: STREAMING_DB_URL }, maxConnections: 8 }\n  - { name: default, kind: mssql, url: { setting: SOURCE_URL }, maxConnections: 4 }\ntables:"));
    expect(checkSourceSettings(withSource)).toEqual([
      "soundlake.yaml: source streaming_db reads app setting STREAMING_DB_URL, which main.dev.bicepparam does not set (sourceSecrets: [{ setting: 'STREAMING_DB_URL', secretName: '...' }])",
      "soundlake.yaml: source streaming_db reads app setting STREAMING_DB_URL, which main.prod.bicepparam does not set (sourceSecrets: [{ setting: 'STREAMING_DB_URL', secretName: '...' }])",
    ]);
    let both = withSource;
    for (const env of ['dev', 'prod']) {
      both = altered(both, `infra/bicep/main.${env}.bicepparam`, (t) => `${t}param sourceSecrets = [\n  { setting: 'STREAMING_DB_URL', secretName: 'streaming-db-url' }\n]\n`);
    }
    expect(checkSourceSettings(both)).toEqual([]);
    const plain = altered(repo, FUNCTION_APP, once(/'@Microsoft\.KeyVault\(SecretUri=\$\{keyVaultUri\}secrets\/\$\{s\.secretName\}\/\)'/, 's.value'));
    expect(checkSourceSettings(plain)).toEqual([expect.stringContaining('var sourceSettings must make each source setting a Key Vault reference')]);
  });

  it('every container, queue and table a setting names is created in the lake, and matches databricks.yml', () => {
    expect(checkLakeNames(repo)).toEqual([]);
    const noQueue = altered(repo, MAIN, once('      lake.kickQueue\n', ''));
    expect(checkLakeNames(noQueue)).toEqual([expect.stringContaining("KICK_QUEUE names queue 'soundlake-kick'")]);
    const noPoison = altered(repo, MAIN, once("      '${lake.ingestQueue}-poison'\n", ''));
    expect(checkLakeNames(noPoison)).toEqual([expect.stringContaining("no poison queue 'soundlake-ingest-poison'")]);
    const renamed = altered(repo, MAIN, once("  lakeContainer: 'lake'", "  lakeContainer: 'silver-gold'"));
    expect(checkLakeNames(renamed)).toEqual([expect.stringContaining('lake_location container is lake')]);
  });
});

describe('lifecycle', () => {
  it('ages out the dead letters and old bronze, by parameter, in containers that exist', () => {
    const main = bicep(repo, MAIN);
    const rulesOf = (r: Repo, module: string, values: Record<string, unknown>): { name: string; prefix: string; coolAfterDays: number; deleteAfterDays: number }[] => {
      const file = bicep(r, MAIN);
      const scope = templateScope(file, () => { throw new Unsupported('main.bicep has no caller'); }, values);
      return evaluate(at(decl(file, 'module', module).value, 'params', 'lifecycleRules')!, scope) as never;
    };
    const containersOf = (module: string): string[] => evaluate(at(decl(main, 'module', module).value, 'params', 'containers')!, templateScope(main, () => { throw new Unsupported('x'); })) as string[];
    const values = { bronzeCoolAfterDays: 30, bronzeRetentionDays: 400, deadLetterRetentionDays: 14 };
    expect(rulesOf(repo, 'lakeStorage', values)).toEqual([{ name: 'bronze-age', prefix: 'bronze/', coolAfterDays: 30, deleteAfterDays: 400 }]);
    expect(rulesOf(repo, 'hostStorage', values)).toEqual([{ name: 'dead-letter-expiry', prefix: 'eventgrid-deadletter/', coolAfterDays: 0, deleteAfterDays: 14 }]);
    for (const module of ['lakeStorage', 'hostStorage']) {
      for (const rule of rulesOf(repo, module, values)) expect(containersOf(module)).toContain(rule.prefix.split('/')[0]);
    }
    // The dead letters are always deleted in the end; prod keeps bronze (its replay source).
    expect(decl(main, 'param', 'deadLetterRetentionDays').decorators).toContain('minValue');
    expect(repo.get('infra/bicep/main.prod.bicepparam')).toMatch(/^param bronzeRetentionDays = 0$/m);
    // The module writes a management policy from exactly these rules.
    const policy = decl(bicep(repo, 'infra/bicep/modules/storage-account.bicep'), 'resource', 'lifecycle');
    expect(policy.type).toBe('Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01');
    expect(policy.value?.kind).toBe('if');
  });
});

describe('identity and access', () => {
  it('role GUIDs are the documented built-in ids, kept in lib/roles.bicep only', () => {
    expect(checkRoleIds(repo)).toEqual([]);
    const typo = altered(repo, ROLES, once('ba92f5b4-2d11-453d-a403-e96b0029c9fe', 'ba92f5b4-2d11-453d-a403-e96b0029c9ff'));
    expect(checkRoleIds(typo)).toEqual([expect.stringContaining('StorageBlobDataContributor is ba92f5b4-2d11-453d-a403-e96b0029c9ff')]);
    // Owner (8e3af657-...) is a documented built-in role, but not one soundlake may hand out.
    const owner = altered(repo, ROLES, once('var builtInRoleIds = {', "var builtInRoleIds = {\n  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'"));
    expect(checkRoleIds(owner)).toEqual([expect.stringContaining('Owner is not a documented built-in role here')]);
    const inline = altered(repo, RBAC, once("    role: 'MonitoringMetricsPublisher'", "    role: 'MonitoringMetricsPublisher' // 3913510d-42f4-4e42-8a64-420c390055eb"));
    expect(checkRoleIds(inline)).toEqual([expect.stringContaining('outside infra/bicep/lib/roles.bicep')]);
  });

  it('the RBAC map grants exactly what each identity needs, each on the narrowest resource', () => {
    const map = (r: Repo): string[] => rbacGrants(r).map((g) => `${g.scope} | ${g.principal} | ${g.role}`).sort();
    const expected = [
      // Function App identity in the lake: the bronze container, its queues (with their poison
      // queues) and its tables, one by one; nothing else in the account.
      'container bronze | functionPrincipalId | StorageBlobDataContributor',
      ...['soundlake-ingest', 'soundlake-backfill', 'soundlake-kick'].flatMap((q) => [`queue ${q} | functionPrincipalId | StorageQueueDataContributor`, `queue ${q}-poison | functionPrincipalId | StorageQueueDataContributor`]),
      ...['soundlakewatermarks', 'soundlakeruns', 'soundlakebackfills', 'soundlakealerts', 'soundlakekicks', 'soundlakesourceslots'].map((t) => `table ${t} | functionPrincipalId | StorageTableDataContributor`),
      // Databricks Access Connector: reads bronze, writes only the lake container (Unity Catalog).
      'container bronze | accessConnectorPrincipalId | StorageBlobDataReader',
      'container lake | accessConnectorPrincipalId | StorageBlobDataContributor',
      // Function App identity on its host storage (AzureWebJobsStorage, deployment package).
      'hostStorage | functionPrincipalId | StorageBlobDataOwner',
      'hostStorage | functionPrincipalId | StorageQueueDataContributor',
      'hostStorage | functionPrincipalId | StorageTableDataContributor',
      // Telemetry and alert e-mail with Entra auth.
      'appInsights | functionPrincipalId | MonitoringMetricsPublisher',
      'communication | functionPrincipalId | CommunicationAndEmailServiceOwner',
      // The app settings' Key Vault references (the question box's LLM key).
      'keyVault | functionPrincipalId | KeyVaultSecretsUser',
    ].sort();
    expect(map(repo)).toEqual(expected);

    // Every queue, table and container granted is one main.bicep creates in the lake, and every
    // queue and table the lake has is granted (a new one without a role would fail in Azure only).
    const created = lakeResources(repo);
    const granted = rbacGrants(repo);
    for (const kind of ['container', 'queue', 'table'] as const) {
      const names = granted.filter((g) => g.scope.startsWith(`${kind} `)).map((g) => g.scope.slice(kind.length + 1));
      expect(created[`${kind}s`], kind).toEqual(expect.arrayContaining(names));
      if (kind !== 'container') expect(new Set(names), kind).toEqual(new Set(created[`${kind}s`]));
    }

    // Each single-resource scope is the existing resource named by the parameter main.bicep fills from the right module.
    const rbac = bicep(repo, RBAC);
    const scopes: [string, string, string][] = [
      ['hostStorage', 'Microsoft.Storage/storageAccounts', 'hostStorageName'],
      ['appInsights', 'Microsoft.Insights/components', 'appInsightsName'],
      ['communication', 'Microsoft.Communication/communicationServices', 'communicationServiceName'],
      ['keyVault', 'Microsoft.KeyVault/vaults', 'keyVaultName'],
    ];
    for (const [symbol, type, param] of scopes) {
      const target = decl(rbac, 'resource', symbol);
      expect(target.existing, symbol).toBe(true);
      expect(target.type?.split('@')[0], symbol).toBe(type);
      expect(evaluate(target.value!, (n) => `<${n}>`), symbol).toEqual({ name: `<${param}>` });
    }
    // The loop scopes are children of the lake account.
    for (const [symbol, type] of [
      ['lakeContainers', 'Microsoft.Storage/storageAccounts/blobServices/containers'],
      ['lakeQueues', 'Microsoft.Storage/storageAccounts/queueServices/queues'],
      ['lakeTables', 'Microsoft.Storage/storageAccounts/tableServices/tables'],
    ] as const) {
      const target = decl(rbac, 'resource', symbol);
      expect(target.existing, symbol).toBe(true);
      expect(target.type?.split('@')[0], symbol).toBe(type);
      const name = at(target.value, 'name');
      expect(name?.kind === 'string' && name.parts[0], symbol).toEqual({ expr: 'lakeStorageName' });
    }
    expect(rbacWiring(repo)).toEqual({
      lakeStorageName: 'lakeStorage.outputs.name',
      lake: 'lake',
      hostStorageName: 'hostStorage.outputs.name',
      appInsightsName: 'monitoring.outputs.appInsightsName',
      communicationServiceName: 'communication.outputs.name',
      keyVaultName: 'keyVault.outputs.name',
      functionPrincipalId: 'functionApp.outputs.principalId',
      accessConnectorPrincipalId: 'databricks.outputs.accessConnectorPrincipalId',
    });

    // The connector allowed to write bronze changes the map; a table without its role is caught.
    const writer = altered(repo, RBAC, once("    principalId: accessConnectorPrincipalId\n    role: 'StorageBlobDataReader'", "    principalId: accessConnectorPrincipalId\n    role: 'StorageBlobDataContributor'"));
    expect(map(writer)).toContain('container bronze | accessConnectorPrincipalId | StorageBlobDataContributor');
    expect(map(writer)).not.toEqual(expected);
    const dropped = altered(repo, RBAC, once("  lake.kickTable\n", ''));
    expect(() => {
      const names = rbacGrants(dropped).filter((g) => g.scope.startsWith('table ')).map((g) => g.scope.slice(6));
      expect(new Set(names)).toEqual(new Set(lakeResources(dropped).tables));
    }).toThrow();
  });

  it('no key, SAS, password or secure default anywhere; keys are switched off where a service has them', () => {
    expect(checkNoSecrets(repo)).toEqual([]);
    const listKeys = altered(repo, 'infra/bicep/modules/communication.bicep', once("output name string = communication.name", 'output name string = communication.listKeys().primaryConnectionString'));
    expect(checkNoSecrets(listKeys)).toEqual([expect.stringContaining('listKeys()')]);
    const sharedKey = altered(repo, 'infra/bicep/modules/storage-account.bicep', once('allowSharedKeyAccess: false', 'allowSharedKeyAccess: true'));
    expect(checkNoSecrets(sharedKey)).toEqual([expect.stringContaining('without allowSharedKeyAccess: false')]);
    const acsKeys = altered(repo, 'infra/bicep/modules/communication.bicep', once('disableLocalAuth: true', 'disableLocalAuth: false'));
    expect(checkNoSecrets(acsKeys)).toEqual([expect.stringContaining('Communication Services with access keys enabled')]);
    const secureDefault = altered(repo, 'infra/bicep/modules/monitoring.bicep', once('param tags object = {}', "param tags object = {}\n\n@secure()\nparam token string = 'abc'"));
    expect(checkNoSecrets(secureDefault)).toEqual([expect.stringContaining("secure parameter 'token' has a default")]);
    const sqlPassword = altered(repo, FUNCTION_APP, once("'mssql://${sourceSqlServer}/${sourceSqlDatabase}'", "'mssql://etl:${sourceSqlDatabase}@${sourceSqlServer}/${sourceSqlDatabase}'"));
    expect(checkNoSecrets(sqlPassword)).toEqual([expect.stringContaining('SOURCE_URL must be an mssql:// URL without user or password')]);
    const literalSecret = altered(repo, FUNCTION_APP, once("  SPOTIFY_CLIENT_SECRET: '@Microsoft.KeyVault(", "  SPOTIFY_CLIENT_SECRET: 'abc'\n  X: '@Microsoft.KeyVault("));
    expect(checkNoSecrets(literalSecret)).toEqual([expect.stringContaining('a client secret')]);
    const accountKey = altered(repo, '.github/workflows/deploy-environment.yml', once('          set -euo pipefail\n          npm ci', "          set -euo pipefail\n          export CS='AccountKey=abc'\n          npm ci"));
    expect(checkNoSecrets(accountKey)).toEqual([expect.stringContaining('an account key')]);
  });
});

describe('Event Grid', () => {
  const prefix = '/blobServices/default/containers/bronze/blobs/';
  const created = (path: string, api = 'PutBlockList', container = 'bronze'): BlobEvent => ({
    eventType: 'Microsoft.Storage.BlobCreated',
    subject: `/blobServices/default/containers/${container}/blobs/${path}`,
    data: { api },
  });
  const dataFile = 'dim_users/load_date=2026-11-25/dim_users__s0000000003__p00000.parquet';

  it('delivers committed bronze data files only: never _manifests/, _ folders, other containers or other events', () => {
    const filter = eventGridFilter(repo);
    expect(filter.subjectBeginsWith).toBe(prefix);
    expect(delivers(filter, created(dataFile))).toBe(true);
    expect(delivers(filter, created(dataFile, 'PutBlob'))).toBe(true);
    expect(delivers(filter, created(dataFile, 'FlushWithClose'))).toBe(true);
    expect(delivers(filter, created('fact_streams/load_date=2026-11-25/fact_streams__bab12cd34ef56-c00003__p00012.parquet'))).toBe(true);

    expect(delivers(filter, created('_manifests/dim_users/s0000000003.json', 'PutBlob'))).toBe(false);
    expect(delivers(filter, created('_manifests/dim_users/s0000000003.parquet', 'PutBlob'))).toBe(false);
    expect(delivers(filter, created('_MANIFESTS/dim_users/s0000000003.parquet'))).toBe(false);
    expect(delivers(filter, created('_backfills/ab12cd34ef56/plan.parquet'))).toBe(false);
    expect(delivers(filter, created('dim_users/_staging/dim_users__s0000000003__p00000.parquet'))).toBe(false);
    expect(delivers(filter, created(dataFile, 'PutBlockList', 'lake'))).toBe(false);
    expect(delivers(filter, created(dataFile, 'PutBlockList', 'bronze-archive'))).toBe(false);
    expect(delivers(filter, created(dataFile, 'CreateFile'))).toBe(false); // DFS create: an empty file, the flush follows
    expect(delivers(filter, created(dataFile, 'CopyBlob'))).toBe(false);
    expect(delivers(filter, { ...created(dataFile), eventType: 'Microsoft.Storage.BlobDeleted' })).toBe(false);
  });

  it('a subscription without the _ exclusions would deliver manifests (the check bites)', () => {
    const loose = altered(repo, EVENT_GRID, once("            '${bronzeSubjectPrefix}_'", "            '${bronzeSubjectPrefix}_tmp/'"));
    const noDeep = altered(loose, EVENT_GRID, once("            '/_'", "            '/__none__'"));
    const filter = eventGridFilter(noDeep);
    expect(delivers(filter, created('_manifests/dim_users/s0000000003.parquet'))).toBe(true);
  });

  it('is created only once the app can serve it: code published and the medallion job id set', () => {
    // Before the bundle has produced a job id, the function cannot start Databricks; a subscription
    // then would fail every BlobCreated 30 times and dead-letter it.
    const created = (r: Repo, mainValues: Record<string, unknown>): unknown => {
      const scope = moduleScope(r, EVENT_GRID, mainValues, {});
      const sub = decl(bicep(r, EVENT_GRID), 'resource', 'bronzeBlobCreated').value as Extract<Value, { kind: 'if' }>;
      return evaluate({ kind: 'expr', text: sub.cond.replace(/^\(|\)$/g, ''), line: sub.line }, scope);
    };
    expect(created(repo, { medallionJobId: '', deployEventSubscription: true })).toBe(false);
    expect(created(repo, { medallionJobId: '123456789012', deployEventSubscription: false })).toBe(false);
    expect(created(repo, { medallionJobId: '123456789012', deployEventSubscription: true })).toBe(true);
    const unguarded = altered(repo, MAIN, once('deployEventSubscription: deployEventSubscription && !empty(medallionJobId)', 'deployEventSubscription: deployEventSubscription'));
    expect(created(unguarded, { medallionJobId: '', deployEventSubscription: true })).toBe(true);
  });

  it('targets the bronze-blob-created function with retries and a dead-letter container', () => {
    const file = bicep(repo, EVENT_GRID);
    const sub = decl(file, 'resource', 'bronzeBlobCreated');
    const scope = moduleScope(repo, EVENT_GRID, {}, { functionAppName: 'func-soundlake-dev-1a2b3' });
    const resources: Record<string, unknown> = { functionApp: { id: '/sites/func' }, deadLetterStorage: { id: '/storage/host' }, systemTopic: {}, deadLetterWriter: {} };
    expect(sub.value?.kind).toBe('if');
    const props = evaluate((sub.value as Extract<Value, { kind: 'if' }>).body, (n) => (n in resources ? resources[n] : scope(n))) as {
      properties: {
        destination: { endpointType: string; properties: { resourceId: string; maxEventsPerBatch: number; preferredBatchSizeInKilobytes: number } };
        retryPolicy: { maxDeliveryAttempts: number; eventTimeToLiveInMinutes: number };
        deadLetterWithResourceIdentity: { identity: { type: string }; deadLetterDestination: { endpointType: string; properties: { blobContainerName: string } } };
        filter: { includedEventTypes: string[] };
      };
    };
    expect(props.properties.destination.endpointType).toBe('AzureFunction');
    expect(props.properties.destination.properties.resourceId).toBe('/sites/func/functions/bronze-blob-created');
    // Batched deliveries at volume (docs/scale.md); the function takes arrays (tests/events/functions.test.ts).
    expect(props.properties.destination.properties).toMatchObject({ maxEventsPerBatch: 50, preferredBatchSizeInKilobytes: 64 });
    expect(props.properties.filter.includedEventTypes).toEqual(['Microsoft.Storage.BlobCreated']);
    expect(props.properties.retryPolicy.maxDeliveryAttempts).toBeGreaterThan(1);
    expect(props.properties.deadLetterWithResourceIdentity.identity.type).toBe('SystemAssigned');
    expect(props.properties.deadLetterWithResourceIdentity.deadLetterDestination).toMatchObject({ endpointType: 'StorageBlob', properties: { blobContainerName: 'eventgrid-deadletter' } });
  });
});

describe('CI/CD workflows', () => {
  it('ci runs .ci/run; deploy uses OIDC, environments, both parameter files, the Functions package and the bundle', () => {
    expect(checkWorkflows(repo)).toEqual([]);
    const creds = altered(repo, '.github/workflows/deploy-environment.yml', (t) => t.replaceAll('          client-id: ${{ secrets.AZURE_CLIENT_ID }}\n', '          creds: ${{ secrets.AZURE_CREDENTIALS }}\n'));
    expect(checkWorkflows(creds)).toEqual(expect.arrayContaining([expect.stringContaining('client-id does not come from a secret'), expect.stringContaining('stored credential')]));
    const noEnv = altered(repo, '.github/workflows/deploy-environment.yml', once('    environment: ${{ inputs.environment }}\n', ''));
    expect(checkWorkflows(noEnv)).toEqual([expect.stringContaining('does not run in a GitHub environment')]);
    const noCi = altered(repo, '.github/workflows/ci.yml', once('        run: bash .ci/run', '        run: npm test'));
    expect(checkWorkflows(noCi)).toEqual(['ci.yml: does not run `bash .ci/run`']);
    const wrongParams = altered(repo, '.github/workflows/deploy-environment.yml', once('      PARAMETERS: infra/bicep/main.${{ inputs.environment }}.bicepparam', '      PARAMETERS: infra/bicep/main.staging.bicepparam'));
    expect(checkWorkflows(wrongParams)).toEqual([expect.stringContaining('missing infra/bicep/main.staging.bicepparam')]);
  });
});

describe('CI compiles what cannot be compiled here', () => {
  const ci = '.github/workflows/ci.yml';
  const deploy = '.github/workflows/deploy-environment.yml';

  it('ci.yml builds and lints every template and both parameter files, validates the bundle for both targets, and tests on Node 22', () => {
    expect(checkCiJobs(repo)).toEqual([]);
    expect(checkCiJobs(altered(repo, ci, once('            az bicep lint --file "$file" || failed=1\n', '')))).toEqual(['ci.yml: the templates are not linted']);
    expect(checkCiJobs(altered(repo, ci, once('for env in dev prod; do', 'for env in dev; do')))).toEqual(['ci.yml: the dev and prod parameter files are not built']);
    expect(checkCiJobs(altered(repo, ci, once("      SOUNDLAKE_ALERT_EMAIL_TO: data-team@example.com\n", '')))).toEqual([expect.stringContaining('SOUNDLAKE_ALERT_EMAIL_TO (read by a .bicepparam without a default) has no placeholder')]);
    expect(checkCiJobs(altered(repo, ci, once('for target in dev prod; do', 'for target in dev; do')))).toEqual(['ci.yml: the bundle is not validated for both dev and prod']);
    expect(checkCiJobs(altered(repo, ci, once("    if: github.event_name == 'push' || github.event.pull_request.head.repo.full_name == github.repository\n", '')))).toEqual(['ci.yml: bundle validate is not skipped for pull requests from forks']);
    expect(checkCiJobs(altered(repo, ci, once('        uses: databricks/setup-cli@v1.13.0\n        with:\n          version: 1.13.0\n', '        uses: databricks/setup-cli@main\n')))).toEqual([expect.stringContaining('databricks/setup-cli@main is not pinned')]);
    expect(checkCiJobs(altered(repo, ci, once("          node-version: '22'\n          cache: npm\n      - run: npm ci", "          node-version: '20'\n          cache: npm\n      - run: npm ci")))).toEqual(['ci.yml: no job runs the TypeScript tests on Node 22']);
  });

  it('deploy pins the Databricks CLI and engine, signs in again right before the bundle, and builds with the runtime\'s Node', () => {
    expect(checkWorkflows(repo)).toEqual([]);
    const unpinned = altered(repo, deploy, once('        uses: databricks/setup-cli@v1.13.0\n        with:\n          version: 1.13.0\n', '        uses: databricks/setup-cli@main\n'));
    expect(checkWorkflows(unpinned)).toEqual([expect.stringContaining('databricks/setup-cli@main is not pinned')]);
    const terraform = altered(repo, deploy, once('          DATABRICKS_BUNDLE_ENGINE: direct\n', ''));
    expect(checkWorkflows(terraform)).toEqual([expect.stringContaining('engine is not pinned to direct')]);
    const oneLogin = altered(repo, deploy, once(/      - name: Azure sign-in again[\s\S]*?subscription-id: \$\{\{ secrets\.AZURE_SUBSCRIPTION_ID \}\}\n/, ''));
    expect(checkWorkflows(oneLogin)).toEqual([expect.stringContaining('no azure/login right before the Databricks bundle step')]);
    const node20 = altered(repo, deploy, once("          node-version: '22'", "          node-version: '20'"));
    expect(checkWorkflows(node20)).toEqual(['deploy: builds with Node 20, the Function App runs Node 22']);
  });
});

describe('host.json and the deployed package', () => {
  it('the function timeout fits the invocation budget infra sets', () => {
    const host = JSON.parse(repo.get('host.json')!) as { functionTimeout?: string };
    const [h, m, s] = (host.functionTimeout ?? '00:30:00').split(':').map(Number);
    const timeoutSeconds = h! * 3600 + m! * 60 + s!;
    const budget = appSettingsDecl(repo).get('INVOCATION_BUDGET_SECONDS');
    expect(budget?.kind).toBe('string');
    expect(Number(evaluate(budget!, () => undefined))).toBeLessThan(timeoutSeconds);
  });

  it('the Function App runs Node 22 on Flex Consumption with a system-assigned identity reading its package', () => {
    const site = decl(bicep(repo, FUNCTION_APP), 'resource', 'site');
    const config = at(site.value, 'properties', 'functionAppConfig');
    const literal = (...path: string[]): unknown => evaluate(at(config, ...path)!, () => undefined);
    expect(literal('runtime')).toEqual({ name: 'node', version: '22' });
    // ftpsState is deprecated on Flex Consumption (no FTP there); publishing credentials are off instead.
    expect(at(site.value, 'properties', 'siteConfig', 'ftpsState')).toBeUndefined();
    expect(literal('deployment', 'storage', 'authentication')).toEqual({ type: 'SystemAssignedIdentity' });
    expect(evaluate(at(site.value, 'identity')!, () => undefined)).toEqual({ type: 'SystemAssigned' });
    const plan = decl(bicep(repo, FUNCTION_APP), 'resource', 'plan');
    expect(evaluate(at(plan.value, 'sku')!, () => undefined)).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    const pkg = JSON.parse(repo.get('package.json')!) as { main: string; engines: { node: string } };
    expect(pkg.main).toMatch(/^dist\//);
    // package.json admits the runtime's major (and 20, which CI's main job still runs).
    expect(pkg.engines.node.split('||').map((r) => r.trim().replace(/^\^(\d+)\..*$/, '$1'))).toEqual(['20', '22']);
  });
});
