// Event Grid system topic on the lake account and the subscription that hands every new bronze
// data file (Microsoft.Storage.BlobCreated) to the `bronze-blob-created` function. Only data files
// pass: manifests and bookkeeping live under folders starting with `_` (docs/bronze-layout.md),
// and only committed writes count (Put Blob, Put Block List, or a DFS flush with close).
// Undeliverable events go to a dead-letter container, written with the topic's own identity.
//
// Event Grid checks that the destination function exists when the subscription is created, and
// the function can only serve events once DATABRICKS_JOB_ID is set; main.bicep therefore creates
// the subscription only after the code is published and the bundle has produced the medallion job
// id (deploy-environment.yml: first pass without it, publish, bundle, second pass with it).

import { builtInRoleIds } from '../lib/roles.bicep'

@description('System topic name.')
param systemTopicName string

@description('Azure region of the lake account (a system topic lives with its source).')
param location string

@description('Tags for every resource.')
param tags object = {}

@description('Lake (ADLS Gen2) storage account that emits the events.')
param lakeStorageName string

@description('Function App that receives the events.')
param functionAppName string

@description('Event Grid triggered function in that app.')
param functionName string = 'bronze-blob-created'

@description('Bronze container name.')
param bronzeContainerName string

@description('Storage account (no hierarchical namespace) that holds the dead-letter container.')
param deadLetterStorageName string

@description('Dead-letter container in that account.')
param deadLetterContainerName string

@description('Blob API names that finish a file (data.api): Put Blob, Put Block List, a DFS flush with close.')
param completingBlobApis string[]

@description('Create the subscription (needs the function published and its Databricks job id set).')
param deployEventSubscription bool = true

resource lakeStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: lakeStorageName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource deadLetterStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: deadLetterStorageName
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${deadLetterStorageName}/default/${deadLetterContainerName}'
}

// Subjects look like /blobServices/default/containers/bronze/blobs/<path>.
var bronzeSubjectPrefix = '/blobServices/default/containers/${bronzeContainerName}/blobs/'

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: lakeStorage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// The topic writes undeliverable events with its identity: Blob Data Contributor on the
// dead-letter container only.
resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, systemTopic.id, builtInRoleIds.StorageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.StorageBlobDataContributor)
  }
}

resource bronzeBlobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (deployEventSubscription) {
  parent: systemTopic
  name: 'bronze-blob-created'
  dependsOn: [
    deadLetterWriter
  ]
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionApp.id}/functions/${functionName}'
        // Batched deliveries: up to 50 events (a BlobCreated event is about 1 KB) per request to
        // the host. The function takes a delivered array event by event, and a redelivered batch
        // is recognised event by event (docs/scale.md, Events at volume).
        maxEventsPerBatch: 50
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: bronzeSubjectPrefix
      subjectEndsWith: '.parquet'
      isSubjectCaseSensitive: false
      enableAdvancedFilteringOnArrays: true
      advancedFilters: [
        {
          // Top-level folders starting with `_`: _manifests/, _backfills/, ...
          operatorType: 'StringNotBeginsWith'
          key: 'subject'
          values: [
            '${bronzeSubjectPrefix}_'
          ]
        }
        {
          // A `_` folder (or `_` file) anywhere deeper down.
          operatorType: 'StringNotContains'
          key: 'subject'
          values: [
            '/_'
          ]
        }
        {
          // Committed writes only: one event per finished file.
          operatorType: 'StringIn'
          key: 'data.api'
          values: completingBlobApis
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

@description('System topic name.')
output systemTopicName string = systemTopic.name

@description('Principal id of the system topic identity (writes dead letters).')
output principalId string = systemTopic.identity.principalId
