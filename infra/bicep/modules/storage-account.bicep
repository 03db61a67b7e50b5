// A storage account reached by Microsoft Entra identities only: shared key (account keys and
// SAS) is off, OAuth is the portal default, TLS 1.2, no anonymous blob access. Used twice by
// main.bicep: the lake (ADLS Gen2, hierarchical namespace) and the Functions host account.

@description('Storage account name (3-24 lower-case letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

@description('Replication: Standard_LRS for dev, Standard_ZRS where the region has zones.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Hierarchical namespace (ADLS Gen2). Set for the lake, never for the Functions host account.')
param isHnsEnabled bool = false

@description('Blob containers to create.')
param containers string[] = []

@description('Queues to create.')
param queues string[] = []

@description('Tables to create.')
param tables string[] = []

@description('Lifecycle rules, each { name, prefix (`<container>/<path>`), coolAfterDays, deleteAfterDays }: block blobs under the prefix move to the cool tier, then are deleted, that many days after their last change (0 skips that action; a rule with neither is left out).')
param lifecycleRules array = []

@description('Days a deleted blob or container can be restored (0 turns soft delete off).')
@minValue(0)
@maxValue(365)
param softDeleteDays int = 7

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    isHnsEnabled: isHnsEnabled
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: softDeleteDays > 0
      days: softDeleteDays > 0 ? softDeleteDays : null
    }
    containerDeleteRetentionPolicy: {
      enabled: softDeleteDays > 0
      days: softDeleteDays > 0 ? softDeleteDays : null
    }
  }
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in containers: {
    parent: blobService
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = if (!empty(queues)) {
  parent: account
  name: 'default'
}

resource storageQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in queues: {
    parent: queueService
    name: queue
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = if (!empty(tables)) {
  parent: account
  name: 'default'
}

resource storageTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for table in tables: {
    parent: tableService
    name: table
  }
]

var activeLifecycleRules = filter(lifecycleRules, rule => rule.coolAfterDays > 0 || rule.deleteAfterDays > 0)

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (!empty(activeLifecycleRules)) {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        for rule in activeLifecycleRules: {
          name: rule.name
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                rule.prefix
              ]
            }
            actions: {
              baseBlob: union(
                rule.coolAfterDays > 0 ? { tierToCool: { daysAfterModificationGreaterThan: rule.coolAfterDays } } : {},
                rule.deleteAfterDays > 0 ? { delete: { daysAfterModificationGreaterThan: rule.deleteAfterDays } } : {}
              )
            }
          }
        }
      ]
    }
  }
}

@description('Storage account name.')
output name string = account.name

@description('Storage account resource id.')
output id string = account.id

@description('Blob endpoint, with a trailing slash.')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('DFS (ADLS Gen2) endpoint, with a trailing slash.')
output dfsEndpoint string = account.properties.primaryEndpoints.dfs
