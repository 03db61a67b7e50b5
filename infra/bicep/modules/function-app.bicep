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
// are identity-based (`AzureWebJobsStorage__accountName`, `SOUNDLAKE_STORAGE__*ServiceUri`); there
// is no secret among the settings.

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
  // The lake, identity-based: the queue triggers' connection 'SOUNDLAKE_STORAGE' reads the
  // service URIs (the __accountName form is only for AzureWebJobsStorage), and so do the app's
  // own blob, queue and table clients.
  SOUNDLAKE_STORAGE__blobServiceUri: 'https://${lakeStorageName}.blob.${environment().suffixes.storage}'
  SOUNDLAKE_STORAGE__queueServiceUri: 'https://${lakeStorageName}.queue.${environment().suffixes.storage}'
  SOUNDLAKE_STORAGE__tableServiceUri: 'https://${lakeStorageName}.table.${environment().suffixes.storage}'
  BRONZE_CONTAINER: lake.bronzeContainer
  WATERMARK_TABLE: lake.watermarkTable
  LEDGER_TABLE: lake.ledgerTable
  INGEST_QUEUE: lake.ingestQueue
  INGEST_CONCURRENCY: string(ingestConcurrency)
  LEASE_SECONDS: '900'
  INVOCATION_BUDGET_SECONDS: '480'
  BACKFILL_TABLE: lake.backfillTable
  BACKFILL_QUEUE: lake.backfillQueue
  BACKFILL_MAX_DAYS: '366'
  BACKFILL_DEFAULT_CHUNK: 'P1D'
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
        for setting in items(appSettings): {
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

@description('Object (principal) id of the system-assigned identity.')
output principalId string = site.identity.principalId

@description('Default host name.')
output defaultHostName string = site.properties.defaultHostName
