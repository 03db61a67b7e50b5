// The soundlake Function App: Linux, Node 22, Flex Consumption (FC1), system-assigned identity.
//
// Why Flex Consumption and not (Linux) Consumption: Consumption keeps the app content on an
// Azure Files share reached with an account key (WEBSITE_CONTENTAZUREFILECONNECTIONSTRING), so
// the host account could not turn shared key off. Flex runs the package from a blob container
// read with the app's managed identity, so no storage key exists anywhere. Flex also scales per
// function, caps the instance count (protects the SQL source) and is where new Linux features
// land; Linux Consumption is retired for new apps.
//
// Every app setting the code reads (the env schemas in shared/, binding expressions in
// functions/*.ts) is set here; tests/infra/bicep.test.ts fails when one is missing. Connections
// are identity-based (`AzureWebJobsStorage__accountName`, `SOUNDLAKE_STORAGE__*ServiceUri`); the one
// secret, the question box's LLM key, is a Key Vault reference, never a value.

@description('Function App name (globally unique host name).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region (one that offers Flex Consumption).')
param location string

@description('Tags for every resource.')
param tags object = {}

@description('Functions host storage account (AzureWebJobsStorage): keys, leases, timers, the deployment package.')
param hostStorageName string

@description('Blob container in the host account that holds the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Lake (ADLS Gen2) storage account: bronze, queues, tables.')
param lakeStorageName string

@description('Names inside the lake account (containers, queues, tables), from main.bicep.')
param lake object

@description('Azure SQL logical server host name, e.g. sql-soundlake.database.windows.net. Read with Microsoft Entra auth (the app identity is a contained database user).')
param sourceSqlServer string

@description('Source database name.')
param sourceSqlDatabase string

@description('NCRONTAB schedule of the ingestion timer (six fields, UTC).')
param ingestSchedule string = '0 */15 * * * *'

@description('Tables extracted in parallel per instance.')
@minValue(1)
@maxValue(64)
param ingestConcurrency int = 2

@description('Log level of the soundlake logger.')
@allowed([
  'fatal'
  'error'
  'warn'
  'info'
  'debug'
  'trace'
  'silent'
])
param logLevel string = 'info'

@description('Azure Communication Services endpoint (https://<name>.communication.azure.com).')
param acsEndpoint string

@description('Sender address on the Azure managed e-mail domain.')
param alertEmailFrom string

@description('Who receives failure alerts (comma-separated addresses).')
param alertEmailTo string

@description('Databricks workspace URL (https://adb-....azuredatabricks.net).')
param databricksHost string

@description('Job id of soundlake-medallion in the workspace (from `databricks bundle summary -t <target>`); empty until the bundle is deployed.')
param medallionJobId string = ''

@description('Id of the bundle\'s serving SQL warehouse (`databricks bundle summary -t <target>`: resources.sql_warehouses.serving.id); empty until the bundle is deployed.')
param sqlWarehouseId string = ''

@description('Unity Catalog catalog that holds gold (databricks.yml: the target\'s catalog variable).')
param databricksCatalog string

@description('Gold schema as the bundle deployed it (resources.schemas.gold.name: dev_<user>_gold in a development-mode target).')
param databricksGoldSchema string = 'gold'

@description('Base URL of an OpenAI-compatible chat-completions endpoint for the question box; empty: the SQL-only mode (no LLM).')
param askLlmBaseUrl string = ''

@description('Model name for the question box; set together with askLlmBaseUrl.')
param askLlmModel string = ''

@description('How the LLM key is sent: authorization (Bearer) or api-key (Azure OpenAI keys).')
@allowed([
  'authorization'
  'api-key'
])
param askLlmKeyHeader string = 'authorization'

@description('URI of the Key Vault that holds the LLM key (https://<name>.vault.azure.net/).')
param keyVaultUri string

@description('Name of the Key Vault secret with the LLM API key (set by an operator, never by a template).')
param askLlmApiKeySecretName string

@description('Sessions the default source (SOURCE_URL) may see from all instances together.')
@minValue(1)
@maxValue(1000)
param sourceMaxConnections int = 8

@description('The catalog\'s named sources: [{ setting, secretName }]; each setting becomes a Key Vault reference to that secret.')
param sourceSecrets array = []

@description('Names of the Key Vault secrets with the Spotify app\'s client id and secret (set by an operator; read by the Spotify preset, examples/sources.soundlake.yaml).')
param spotifyClientIdSecretName string
param spotifyClientSecretSecretName string

@description('Blob API names that finish a file (data.api of BlobCreated); the Event Grid filter uses the same list.')
param completingBlobApis string[]

@description('Upper bound of instances per function group (Flex Consumption).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Instance memory (MB) of the Flex Consumption plan.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

var appSettings = {
  // Functions host: identity-based host storage and Entra-authenticated telemetry. Flex
  // Consumption takes the runtime from functionAppConfig, so FUNCTIONS_WORKER_RUNTIME,
  // FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE must not be set.
  AzureWebJobsStorage__accountName: hostStorageName
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
  // A capped heap makes V8 collect instead of growing: extraction then peaks near 250 MB RSS
  // (npm run bench measures with the same flag), well inside the instance memory.
  languageWorkers__node__arguments: '--max-old-space-size=192'

  // shared/config/settings.ts: ingestion and backfill
  SOUNDLAKE_CONFIG: 'soundlake.yaml'
  SOURCE_KIND: 'mssql'
  SOURCE_URL: 'mssql://${sourceSqlServer}/${sourceSqlDatabase}'
  // Connection slots (shared/source/sourceSlots.ts): every instance together opens at most a
  // source's maxConnections sessions; a message finding none free comes back later.
  SOURCE_MAX_CONNECTIONS: string(sourceMaxConnections)
  SOURCE_SLOT_TABLE: lake.sourceSlotTable
  SOURCE_SLOT_SECONDS: '120'
  SOURCE_BUSY_RETRY_SECONDS: '30'
  SOURCE_BUSY_MAX_DEFERRALS: '40'
  // The lake, identity-based: the queue triggers' connection 'SOUNDLAKE_STORAGE' reads the
  // service URIs (the __accountName form is only for AzureWebJobsStorage), and so do the app's
  // own blob, queue and table clients.
  SOUNDLAKE_STORAGE__blobServiceUri: 'https://${lakeStorageName}.blob.${environment().suffixes.storage}'
  SOUNDLAKE_STORAGE__queueServiceUri: 'https://${lakeStorageName}.queue.${environment().suffixes.storage}'
  SOUNDLAKE_STORAGE__tableServiceUri: 'https://${lakeStorageName}.table.${environment().suffixes.storage}'
  BRONZE_CONTAINER: lake.bronzeContainer
  WATERMARK_TABLE: lake.watermarkTable
  LEDGER_TABLE: lake.ledgerTable
  LEDGER_RETENTION_DAYS: '90'
  INGEST_QUEUE: lake.ingestQueue
  INGEST_CONCURRENCY: string(ingestConcurrency)
  LEASE_SECONDS: '900'
  INVOCATION_BUDGET_SECONDS: '480'
  INGEST_RANGE_ROWS: '50000000'
  INGEST_MAX_RANGES: '32'
  BACKFILL_TABLE: lake.backfillTable
  BACKFILL_QUEUE: lake.backfillQueue
  BACKFILL_MAX_DAYS: '366'
  BACKFILL_DEFAULT_CHUNK: 'auto'
  BACKFILL_MAX_CHUNKS: '1000'
  BACKFILL_CONCURRENCY: '2'
  LOG_LEVEL: logLevel

  // functions/ingest-timer.ts binding expression
  INGEST_SCHEDULE: ingestSchedule

  // shared/events/eventSettings.ts: a burst of bronze files (Event Grid) becomes one run of the
  // Databricks medallion job; the app calls the Jobs API with an Entra token of its identity.
  KICK_QUEUE: lake.kickQueue
  KICK_TABLE: lake.kickTable
  KICK_WINDOW_SECONDS: '120'
  KICK_APIS: join(completingBlobApis, ',')
  KICK_RETENTION_DAYS: '14'
  KICK_MAX_RETRY_AFTER_SECONDS: '3600'
  KICK_MAX_DEFERRALS: '10'
  DATABRICKS_HOST: databricksHost
  DATABRICKS_JOB_ID: medallionJobId
  DATABRICKS_TIMEOUT_SECONDS: '30'
  DATABRICKS_MAX_RETRIES: '5'

  // shared/ask/askSettings.ts: the question box (POST /api/ask) runs its checked SQL on the bundle's
  // serving warehouse through the Statement Execution API, as the app's identity (a member of the
  // BI group: read-only on gold). DATABRICKS_HOST, DATABRICKS_TIMEOUT_SECONDS and
  // DATABRICKS_MAX_RETRIES above serve it too. Until the bundle has given a warehouse id, a
  // question fails with "DATABRICKS_WAREHOUSE_ID: required"; nothing else depends on it.
  ASK_ENDPOINT: 'databricks'
  DATABRICKS_WAREHOUSE_ID: sqlWarehouseId
  DATABRICKS_CATALOG: databricksCatalog
  DATABRICKS_GOLD_SCHEMA: databricksGoldSchema
  // Empty base URL and model: the SQL-only mode. The key is a Key Vault reference resolved by the
  // platform with the app's identity (Key Vault Secrets User, rbac.bicep), versionless (trailing
  // slash) so a rotated key is picked up; it is set only with an LLM, so the SQL-only mode has no
  // unresolved reference.
  ASK_LLM_BASE_URL: askLlmBaseUrl
  ASK_LLM_MODEL: askLlmModel
  ASK_LLM_API_KEY: empty(askLlmBaseUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${askLlmApiKeySecretName}/)'
  ASK_LLM_KEY_HEADER: askLlmKeyHeader
  // Files over HTTP and REST sources (README "Files over HTTP", "REST sources"): the hosts the
  // app may fetch from; the Spotify preset's endpoints; its client id and secret as versionless
  // Key Vault references (unresolved until an operator sets the secrets: only the Spotify tables
  // fail then, naming the setting).
  HTTP_ALLOWED_HOSTS: 'raw.githubusercontent.com,accounts.spotify.com,api.spotify.com'
  HTTP_ALLOW_PRIVATE_ADDRESSES: 'false'
  HTTP_MAX_BYTES: '4294967296'
  HTTP_MAX_REDIRECTS: '5'
  HTTP_TIMEOUT_SECONDS: '60'
  SPOTIFY_API_BASE_URL: 'https://api.spotify.com/v1/'
  SPOTIFY_TOKEN_URL: 'https://accounts.spotify.com/api/token'
  SPOTIFY_CLIENT_ID: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${spotifyClientIdSecretName}/)'
  SPOTIFY_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${spotifyClientSecretSecretName}/)'
  ASK_LLM_TIMEOUT_SECONDS: '30'
  ASK_LLM_MAX_RETRIES: '3'
  ASK_MAX_ROWS: '200'
  ASK_STATEMENT_TIMEOUT_SECONDS: '60'
  ASK_MAX_ATTEMPTS: '2'
  // Below the 230 s Azure's front end allows an HTTP request.
  ASK_DEADLINE_SECONDS: '200'
  ASK_HIDDEN_COLUMNS: 'dim_user.user_name'

  // shared/notify/alertSettings.ts: alert e-mail through Communication Services (Entra auth),
  // throttled in a table. A Teams/Slack webhook URL is a secret and is not set here (README).
  ALERT_EMAIL_TO: alertEmailTo
  ALERT_EMAIL_FROM: alertEmailFrom
  ACS_ENDPOINT: acsEndpoint
  ALERT_THROTTLE_TABLE: lake.alertTable
  ALERT_THROTTLE_MINUTES: '60'
  ALERT_ON_SUCCESS: 'false'
  ALERT_TIMEOUT_SECONDS: '10'
  ALERT_RETRIES: '2'
}

// The catalog's named sources (soundlake.yaml `sources:`) read their connection strings from the
// app settings they name: each one is a versionless Key Vault reference (a SQL login's password,
// or an Entra-auth URL alike), resolved by the platform with the app's identity.
var sourceSettings = toObject(sourceSecrets, s => s.setting, s => '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${s.secretName}/)')

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      appSettings: [
        for setting in items(union(appSettings, sourceSettings)): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// No publishing passwords: deployments authenticate with Microsoft Entra (the CI's federated
// identity), never with FTP or SCM basic credentials.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Function App name.')
output name string = site.name

@description('Function App resource id.')
output id string = site.id

// The system-assigned identity as a resource of its own: Microsoft.ManagedIdentity/identities, a
// read-only extension resource named 'default' on the site (SystemAssignedIdentities_GetByScope).
// It is where the identity's application (client) id can be read without Microsoft Graph
// permissions; Databricks knows a service principal by that id, not by the object id. Read in an
// output only, so it is evaluated after the site exists.
resource siteIdentity 'Microsoft.ManagedIdentity/identities@2024-11-30' existing = {
  scope: site
  name: 'default'
}

@description('Object (principal) id of the system-assigned identity.')
output principalId string = site.identity.principalId

@description('Application (client) id of the system-assigned identity: the Databricks service principal\'s application id.')
output clientId string = siteIdentity.properties.clientId

@description('Default host name.')
output defaultHostName string = site.properties.defaultHostName
