// Who may do what: every role assignment of a soundlake identity on a resource deployed by
// another module, in one place. Data-plane roles only, each on the narrowest resource that serves
// (a container, queue or table in the lake; never the resource group). The Event Grid topic's
// dead-letter role sits in event-grid.bicep, next to its identity.

import { builtInRoleIds } from '../lib/roles.bicep'

@description('Lake (ADLS Gen2) storage account name.')
param lakeStorageName string

@description('Names inside the lake account (containers, queues, tables), from main.bicep.')
param lake object

@description('Functions host storage account name.')
param hostStorageName string

@description('Application Insights name.')
param appInsightsName string

@description('Communication Services name.')
param communicationServiceName string

@description('Key Vault name (the question box\'s LLM key).')
param keyVaultName string

@description('Principal (object) id of the Function App system-assigned identity.')
param functionPrincipalId string

@description('Principal id of the Databricks Access Connector identity.')
param accessConnectorPrincipalId string

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource communication 'Microsoft.Communication/communicationServices@2025-05-01' existing = {
  name: communicationServiceName
}

resource keyVault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

// On the lake account: each data role on the one container, queue or table it is for, never the
// whole account, so neither identity can touch anything else stored there.
var containerAssignments = [
  {
    // Function: writes bronze Parquet and manifests.
    container: lake.bronzeContainer
    principalId: functionPrincipalId
    role: 'StorageBlobDataContributor'
  }
  {
    // Databricks Access Connector: Auto Loader reads bronze (a read-only external location).
    container: lake.bronzeContainer
    principalId: accessConnectorPrincipalId
    role: 'StorageBlobDataReader'
  }
  {
    // Databricks Access Connector: silver and gold storage, checkpoints, catalog storage roots.
    container: lake.lakeContainer
    principalId: accessConnectorPrincipalId
    role: 'StorageBlobDataContributor'
  }
]

// Function: the queue triggers (ingest, backfill, kick), the messages it sends to them, and the
// poison queues the host moves failed messages to and the poison triggers read.
var functionQueues = [
  lake.ingestQueue
  '${lake.ingestQueue}-poison'
  lake.backfillQueue
  '${lake.backfillQueue}-poison'
  lake.kickQueue
  '${lake.kickQueue}-poison'
]

var queueAssignments = [
  for queue in functionQueues: {
    queue: queue
    principalId: functionPrincipalId
    role: 'StorageQueueDataContributor'
  }
]

// Function: watermarks, run ledger, backfills, alert throttle, kick debounce, source connection slots.
var functionTables = [
  lake.watermarkTable
  lake.ledgerTable
  lake.backfillTable
  lake.alertTable
  lake.kickTable
  lake.sourceSlotTable
]

var tableAssignments = [
  for table in functionTables: {
    table: table
    principalId: functionPrincipalId
    role: 'StorageTableDataContributor'
  }
]

// On the Functions host account (AzureWebJobsStorage and the Flex deployment package).
var hostAssignments = [
  {
    principalId: functionPrincipalId
    role: 'StorageBlobDataOwner'
  }
  {
    principalId: functionPrincipalId
    role: 'StorageQueueDataContributor'
  }
  {
    principalId: functionPrincipalId
    role: 'StorageTableDataContributor'
  }
]

// On Application Insights (telemetry with Entra auth).
var appInsightsAssignments = [
  {
    principalId: functionPrincipalId
    role: 'MonitoringMetricsPublisher'
  }
]

// On Communication Services (send alert e-mail with Entra auth). No narrower built-in role can
// send: a custom role would need roleDefinitions/write, which the deploying identity does not have,
// and Communication Services is reported not to honour custom roles for every operation (README).
var communicationAssignments = [
  {
    principalId: functionPrincipalId
    role: 'CommunicationAndEmailServiceOwner'
  }
]

// On the Key Vault: read secret values, for the app settings' Key Vault references (the LLM key).
// The vault holds only the app's own secrets, and a role on one secret cannot be declared here
// because the secret is created after the deployment, by an operator.
var keyVaultAssignments = [
  {
    principalId: functionPrincipalId
    role: 'KeyVaultSecretsUser'
  }
]

resource lakeContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for a in containerAssignments: {
    name: '${lakeStorageName}/default/${a.container}'
  }
]

resource lakeQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = [
  for a in queueAssignments: {
    name: '${lakeStorageName}/default/${a.queue}'
  }
]

resource lakeTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' existing = [
  for a in tableAssignments: {
    name: '${lakeStorageName}/default/${a.table}'
  }
]

resource containerRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (a, i) in containerAssignments: {
    name: guid(lakeContainers[i].id, a.principalId, builtInRoleIds[a.role])
    scope: lakeContainers[i]
    properties: {
      principalId: a.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds[a.role])
    }
  }
]

resource queueRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (a, i) in queueAssignments: {
    name: guid(lakeQueues[i].id, a.principalId, builtInRoleIds[a.role])
    scope: lakeQueues[i]
    properties: {
      principalId: a.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds[a.role])
    }
  }
]

resource tableRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (a, i) in tableAssignments: {
    name: guid(lakeTables[i].id, a.principalId, builtInRoleIds[a.role])
    scope: lakeTables[i]
    properties: {
      principalId: a.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds[a.role])
    }
  }
]

resource hostRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in hostAssignments: {
    name: guid(hostStorage.id, a.principalId, builtInRoleIds[a.role])
    scope: hostStorage
    properties: {
      principalId: a.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds[a.role])
    }
  }
]

resource appInsightsRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in appInsightsAssignments: {
    name: guid(appInsights.id, a.principalId, builtInRoleIds[a.role])
    scope: appInsights
    properties: {
      principalId: a.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds[a.role])
    }
  }
]

resource communicationRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in communicationAssignments: {
    name: guid(communication.id, a.principalId, builtInRoleIds[a.role])
    scope: communication
    properties: {
      principalId: a.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds[a.role])
    }
  }
]

resource keyVaultRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in keyVaultAssignments: {
    name: guid(keyVault.id, a.principalId, builtInRoleIds[a.role])
    scope: keyVault
    properties: {
      principalId: a.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds[a.role])
    }
  }
]
