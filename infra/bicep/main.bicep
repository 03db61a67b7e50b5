// soundlake: every Azure resource of one environment, in one resource group.
//
//   az deployment group create -g <rg> \
//     --template-file infra/bicep/main.bicep --parameters infra/bicep/main.dev.bicepparam
//
// Modules (one resource area each): monitoring, storage-account (lake and Functions host),
// communication, databricks, key-vault, function-app, rbac (who may do what), event-grid. No
// module reads a key; the one secret setting (the question box's LLM key) is a Key Vault
// reference whose value an operator sets. See infra/README.md.

targetScope = 'resourceGroup'

metadata description = 'soundlake: storage, Functions, Event Grid, alert e-mail, Key Vault and Databricks for one environment.'

@description('Environment: part of every resource name.')
@allowed([
  'dev'
  'prod'
])
param environmentName string

@description('Azure region for regional resources (must offer Flex Consumption and Azure Databricks).')
param location string = resourceGroup().location

@description('Workload name used in resource names (lower-case letters, at most 9).')
@minLength(3)
@maxLength(9)
param workload string = 'soundlake'

@description('Tags added to every resource.')
param tags object = {}

@description('Azure SQL logical server host name of the source, e.g. sql-soundlake-prod.database.windows.net.')
param sourceSqlServer string

@description('Source database name.')
param sourceSqlDatabase string

@description('Who receives failure alerts (comma-separated addresses).')
param alertEmailTo string

@description('Where alert e-mail data is stored at rest.')
@allowed([
  'Africa'
  'Asia Pacific'
  'Australia'
  'Brazil'
  'Canada'
  'Europe'
  'France'
  'Germany'
  'India'
  'Japan'
  'Korea'
  'Norway'
  'Switzerland'
  'UAE'
  'UK'
  'United States'
])
param communicationDataLocation string = 'Europe'

@description('NCRONTAB schedule of the ingestion timer (six fields, UTC).')
param ingestSchedule string = '0 */15 * * * *'

@description('Replication of the lake account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param lakeStorageSku string = 'Standard_LRS'

@description('Upper bound of Function instances per function group.')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@description('Days logs are kept in Log Analytics.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Days after which bronze files (data and manifests) move to the cool tier; 0 keeps them hot.')
@minValue(0)
param bronzeCoolAfterDays int = 30

@description('Days after which bronze files are deleted; 0 keeps them. Silver holds the data once Auto Loader has read a file, but bronze is the only replay source for a silver rebuild.')
@minValue(0)
param bronzeRetentionDays int = 0

@description('Days an undeliverable Event Grid event is kept in the dead-letter container.')
@minValue(1)
param deadLetterRetentionDays int = 30

@description('Job id of soundlake-medallion (`databricks bundle summary`); empty before the first bundle deploy.')
param medallionJobId string = ''

@description('Create the Event Grid subscription once the function code is published (false on the pass before it). It is created only when medallionJobId is set too.')
param deployEventSubscription bool = true

@description('Id of the bundle\'s serving SQL warehouse (`databricks bundle summary`: resources.sql_warehouses.serving.id), for the question box; empty before the first bundle deploy.')
param sqlWarehouseId string = ''

@description('Unity Catalog catalog of this environment (databricks/databricks.yml: the target\'s catalog variable).')
param databricksCatalog string

@description('Gold schema as the bundle deployed it (`databricks bundle summary`: resources.schemas.gold.name; development mode renames it dev_<user>_gold).')
param databricksGoldSchema string = 'gold'

@description('Question box: base URL of an OpenAI-compatible chat-completions endpoint; empty keeps the SQL-only mode. Its key is the Key Vault secret named by output askLlmApiKeySecretName.')
param askLlmBaseUrl string = ''

@description('Question box: model name (set together with askLlmBaseUrl).')
param askLlmModel string = ''

@description('Question box: how the LLM key is sent (api-key for Azure OpenAI keys).')
@allowed([
  'authorization'
  'api-key'
])
param askLlmKeyHeader string = 'authorization'

@description('Sessions the default source (SOURCE_URL) may see from all instances together; the catalog sets each named source\'s own (soundlake.yaml sources[].maxConnections).')
@minValue(1)
@maxValue(1000)
param sourceMaxConnections int = 8

@description('The catalog\'s named sources (soundlake.yaml sources[].url.setting): each app setting becomes a Key Vault reference to a secret an operator sets once, e.g. [{ setting: \'STREAMING_DB_URL\', secretName: \'streaming-db-url\' }].')
param sourceSecrets array = []

var suffix = take(uniqueString(subscription().id, resourceGroup().id, workload, environmentName), 5)
var allTags = union(tags, {
  workload: workload
  environment: environmentName
})

var names = {
  logAnalytics: 'log-${workload}-${environmentName}-${suffix}'
  appInsights: 'appi-${workload}-${environmentName}-${suffix}'
  lakeStorage: take(toLower('st${workload}lake${environmentName}${suffix}'), 24)
  hostStorage: take(toLower('st${workload}func${environmentName}${suffix}'), 24)
  functionPlan: 'asp-${workload}-${environmentName}-${suffix}'
  functionApp: 'func-${workload}-${environmentName}-${suffix}'
  systemTopic: 'evgt-${workload}-${environmentName}-lake'
  emailService: 'ecs-${workload}-${environmentName}-${suffix}'
  communicationService: 'acs-${workload}-${environmentName}-${suffix}'
  databricksWorkspace: 'dbw-${workload}-${environmentName}-${suffix}'
  databricksManagedResourceGroup: 'rg-${workload}-${environmentName}-dbw-managed'
  accessConnector: 'dbac-${workload}-${environmentName}-${suffix}'
  keyVault: 'kv-${workload}-${environmentName}-${suffix}'
}

// Secrets in the Key Vault, by name. Their values are set by an operator (infra/README.md), never
// by a template or parameter file.
var keyVaultSecrets = {
  askLlmApiKey: 'ask-llm-api-key'
  spotifyClientIdName: 'spotify-client-id'
  spotifyClientSecretName: 'spotify-client-secret'
}

// Names inside the lake account. The app settings and the created resources both come from here;
// the defaults in shared/config/settings.ts and databricks/databricks.yml use the same names.
var lake = {
  bronzeContainer: 'bronze'
  lakeContainer: 'lake'
  ingestQueue: 'soundlake-ingest'
  backfillQueue: 'soundlake-backfill'
  kickQueue: 'soundlake-kick'
  watermarkTable: 'soundlakewatermarks'
  ledgerTable: 'soundlakeruns'
  backfillTable: 'soundlakebackfills'
  alertTable: 'soundlakealerts'
  kickTable: 'soundlakekicks'
  sourceSlotTable: 'soundlakesourceslots'
}

// data.api values of a BlobCreated event that mean a finished file (shared/events: COMPLETING_APIS).
// The Event Grid filter and the app's KICK_APIS setting both use this list.
var completingBlobApis = [
  'PutBlob'
  'PutBlockList'
  'FlushWithClose'
]

// Names inside the Functions host account.
var hostNames = {
  deploymentContainer: 'app-package'
  deadLetterContainer: 'eventgrid-deadletter'
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
  }
}

module lakeStorage 'modules/storage-account.bicep' = {
  name: 'lake-storage'
  params: {
    name: names.lakeStorage
    location: location
    tags: allTags
    skuName: lakeStorageSku
    isHnsEnabled: true
    containers: [
      lake.bronzeContainer
      lake.lakeContainer
    ]
    // The host creates poison queues on demand; creating them here lets the poison triggers
    // listen from the first minute.
    queues: [
      lake.ingestQueue
      '${lake.ingestQueue}-poison'
      lake.backfillQueue
      '${lake.backfillQueue}-poison'
      lake.kickQueue
      '${lake.kickQueue}-poison'
    ]
    tables: [
      lake.watermarkTable
      lake.ledgerTable
      lake.backfillTable
      lake.alertTable
      lake.kickTable
      lake.sourceSlotTable
    ]
    lifecycleRules: [
      {
        name: 'bronze-age'
        prefix: '${lake.bronzeContainer}/'
        coolAfterDays: bronzeCoolAfterDays
        deleteAfterDays: bronzeRetentionDays
      }
    ]
  }
}

module hostStorage 'modules/storage-account.bicep' = {
  name: 'host-storage'
  params: {
    name: names.hostStorage
    location: location
    tags: allTags
    containers: [
      hostNames.deploymentContainer
      hostNames.deadLetterContainer
    ]
    lifecycleRules: [
      {
        name: 'dead-letter-expiry'
        prefix: '${hostNames.deadLetterContainer}/'
        coolAfterDays: 0
        deleteAfterDays: deadLetterRetentionDays
      }
    ]
  }
}

module communication 'modules/communication.bicep' = {
  name: 'communication'
  params: {
    emailServiceName: names.emailService
    communicationServiceName: names.communicationService
    dataLocation: communicationDataLocation
    tags: allTags
  }
}

module databricks 'modules/databricks.bicep' = {
  name: 'databricks'
  params: {
    workspaceName: names.databricksWorkspace
    accessConnectorName: names.accessConnector
    managedResourceGroupName: names.databricksManagedResourceGroup
    location: location
    tags: allTags
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    name: names.keyVault
    location: location
    tags: allTags
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: names.functionApp
    planName: names.functionPlan
    location: location
    tags: allTags
    hostStorageName: hostStorage.outputs.name
    deploymentContainerName: hostNames.deploymentContainer
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    lakeStorageName: lakeStorage.outputs.name
    lake: lake
    sourceSqlServer: sourceSqlServer
    sourceSqlDatabase: sourceSqlDatabase
    ingestSchedule: ingestSchedule
    acsEndpoint: communication.outputs.endpoint
    alertEmailFrom: communication.outputs.senderAddress
    alertEmailTo: alertEmailTo
    databricksHost: databricks.outputs.workspaceUrl
    medallionJobId: medallionJobId
    sqlWarehouseId: sqlWarehouseId
    databricksCatalog: databricksCatalog
    databricksGoldSchema: databricksGoldSchema
    askLlmBaseUrl: askLlmBaseUrl
    askLlmModel: askLlmModel
    askLlmKeyHeader: askLlmKeyHeader
    keyVaultUri: keyVault.outputs.uri
    askLlmApiKeySecretName: keyVaultSecrets.askLlmApiKey
    sourceMaxConnections: sourceMaxConnections
    sourceSecrets: sourceSecrets
    spotifyClientIdSecretName: keyVaultSecrets.spotifyClientIdName
    spotifyClientSecretSecretName: keyVaultSecrets.spotifyClientSecretName
    completingBlobApis: completingBlobApis
    maximumInstanceCount: functionMaximumInstanceCount
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  params: {
    lakeStorageName: lakeStorage.outputs.name
    lake: lake
    hostStorageName: hostStorage.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    communicationServiceName: communication.outputs.name
    keyVaultName: keyVault.outputs.name
    functionPrincipalId: functionApp.outputs.principalId
    accessConnectorPrincipalId: databricks.outputs.accessConnectorPrincipalId
  }
}

module eventGrid 'modules/event-grid.bicep' = {
  name: 'event-grid'
  params: {
    systemTopicName: names.systemTopic
    location: location
    tags: allTags
    lakeStorageName: lakeStorage.outputs.name
    functionAppName: functionApp.outputs.name
    bronzeContainerName: lake.bronzeContainer
    deadLetterStorageName: hostStorage.outputs.name
    deadLetterContainerName: hostNames.deadLetterContainer
    completingBlobApis: completingBlobApis
    // A BlobCreated event is only useful once the app can start Databricks: without a job id the
    // function cannot be configured, so every event would fail 30 deliveries and be dead-lettered.
    // Nothing is lost by waiting: Auto Loader's checkpoint, not the event, decides which files a
    // run reads, so the first kicked run also takes the files that landed before the subscription.
    deployEventSubscription: deployEventSubscription && !empty(medallionJobId)
  }
}

@description('Lake storage account: the bundle\'s storage_account variable.')
output lakeStorageAccountName string = lakeStorage.outputs.name

@description('Function App name (the target of the code deployment).')
output functionAppName string = functionApp.outputs.name

@description('Object id of the Function App identity (its role assignments; the SQL contained user is created by the app\'s name).')
output functionPrincipalId string = functionApp.outputs.principalId

@description('Application (client) id of the Function App identity: the Databricks service principal and the bundle\'s function_app_application_id.')
output functionClientId string = functionApp.outputs.clientId

@description('Key Vault of the app\'s secrets.')
output keyVaultName string = keyVault.outputs.name

@description('Name of the Key Vault secret that holds the question box\'s LLM API key (set once by an operator).')
output askLlmApiKeySecretName string = keyVaultSecrets.askLlmApiKey
output spotifyClientIdSecretName string = keyVaultSecrets.spotifyClientIdName
output spotifyClientSecretSecretName string = keyVaultSecrets.spotifyClientSecretName

@description('Databricks workspace URL (DATABRICKS_HOST).')
output databricksWorkspaceUrl string = databricks.outputs.workspaceUrl

@description('Databricks workspace resource id.')
output databricksWorkspaceId string = databricks.outputs.workspaceId

@description('Access Connector resource id, for the Unity Catalog storage credential.')
output accessConnectorId string = databricks.outputs.accessConnectorId

@description('Alert sender address.')
output alertEmailFrom string = communication.outputs.senderAddress
