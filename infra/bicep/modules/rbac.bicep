// Who may do what: every role assignment of a soundlake identity on a resource deployed by
// another module, in one place. Data-plane roles only, each on one resource (never the resource
// group). The Event Grid topic's dead-letter role sits in event-grid.bicep, next to its identity.

import { builtInRoleIds } from '../lib/roles.bicep'

@description('Lake (ADLS Gen2) storage account name.')
param lakeStorageName string

@description('Functions host storage account name.')
param hostStorageName string

@description('Application Insights name.')
param appInsightsName string

@description('Communication Services name.')
param communicationServiceName string

@description('Principal (object) id of the Function App system-assigned identity.')
param functionPrincipalId string

@description('Principal id of the Databricks Access Connector identity.')
param accessConnectorPrincipalId string

resource lakeStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: lakeStorageName
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource communication 'Microsoft.Communication/communicationServices@2025-05-01' existing = {
  name: communicationServiceName
}

// On the lake account.
var lakeAssignments = [
  {
    // Function: writes bronze Parquet and manifests.
    principalId: functionPrincipalId
    role: 'StorageBlobDataContributor'
  }
  {
    // Function: queue triggers (ingest, backfill, kick) and the messages it sends to them.
    principalId: functionPrincipalId
    role: 'StorageQueueDataContributor'
  }
  {
    // Function: watermarks, run ledger, backfills, alert throttle, kick debounce.
    principalId: functionPrincipalId
    role: 'StorageTableDataContributor'
  }
  {
    // Databricks Access Connector: Unity Catalog external locations (bronze read, lake read/write).
    principalId: accessConnectorPrincipalId
    role: 'StorageBlobDataContributor'
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

// On Communication Services (send alert e-mail with Entra auth).
var communicationAssignments = [
  {
    principalId: functionPrincipalId
    role: 'CommunicationAndEmailServiceOwner'
  }
]

resource lakeRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in lakeAssignments: {
    name: guid(lakeStorage.id, a.principalId, builtInRoleIds[a.role])
    scope: lakeStorage
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
