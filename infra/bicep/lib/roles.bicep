// Built-in Azure role definition ids used by soundlake, keyed by role name. Built-in ids are the
// same in every tenant; the names are those of the Azure built-in roles reference. Imported by
// the modules that assign roles (`import { builtInRoleIds } from '../lib/roles.bicep'`), so every
// role GUID in the templates lives in this one file.

@export()
@description('Built-in role definition ids, by role name.')
var builtInRoleIds = {
  // Storage Blob Data Contributor: read, write and delete containers and blobs.
  StorageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  // Storage Blob Data Reader: read containers and blobs (the access connector on bronze).
  StorageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  // Storage Blob Data Owner: Blob Data Contributor plus POSIX ACLs; what the Functions host
  // needs on its own (AzureWebJobsStorage) account for keys, leases and the deployment package.
  StorageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Storage Queue Data Contributor: read, write, process and delete queue messages.
  StorageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Storage Table Data Contributor: read, write and delete table entities.
  StorageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // Monitoring Metrics Publisher: send telemetry to an Application Insights resource whose
  // local (instrumentation key) auth is disabled.
  MonitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  // Communication and Email Service Owner: Azure Communication Services has no send-only built-in
  // role and does not honour custom roles; assigned on the one ACS resource only.
  CommunicationAndEmailServiceOwner: '09976791-48a7-449e-bb21-39d1a415f350'
  // Key Vault Secrets User: read secret contents (vaults with Azure RBAC authorization only); the
  // Function App resolves its Key Vault references with it.
  KeyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}
