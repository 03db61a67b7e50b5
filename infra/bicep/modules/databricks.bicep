// Azure Databricks workspace (premium: Unity Catalog) and the Access Connector whose
// system-assigned identity backs the Unity Catalog storage credential. The connector gets Storage
// Blob Data Contributor on the lake in rbac.bicep; external locations then reach bronze and lake
// without any key. Catalogs, the storage credential and grants are Databricks-side objects (see
// infra/README.md); the bundle in databricks/ creates the rest.

@description('Workspace name.')
param workspaceName string

@description('Access Connector name.')
param accessConnectorName string

@description('Resource group Databricks creates and manages for the workspace (must not exist yet).')
param managedResourceGroupName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

resource accessConnector 'Microsoft.Databricks/accessConnectors@2024-05-01' = {
  name: accessConnectorName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {}
}

resource workspace 'Microsoft.Databricks/workspaces@2024-05-01' = {
  name: workspaceName
  location: location
  tags: tags
  sku: {
    name: 'premium'
  }
  properties: {
    managedResourceGroupId: subscriptionResourceId('Microsoft.Resources/resourceGroups', managedResourceGroupName)
    publicNetworkAccess: 'Enabled'
    parameters: {
      enableNoPublicIp: {
        value: true
      }
    }
  }
}

@description('Workspace URL with scheme (the DATABRICKS_HOST of the CLI and of the Function App).')
output workspaceUrl string = 'https://${workspace.properties.workspaceUrl}'

@description('Workspace resource id.')
output workspaceId string = workspace.id

@description('Access Connector resource id (the storage credential\'s access_connector_id).')
output accessConnectorId string = accessConnector.id

@description('Principal id of the Access Connector identity.')
output accessConnectorPrincipalId string = accessConnector.identity.principalId
