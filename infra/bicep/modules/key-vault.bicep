// Key Vault for the app's secrets: today only the question box's LLM API key, read by the Function
// App through a Key Vault reference in its app settings (`@Microsoft.KeyVault(SecretUri=...)`).
// Access is Azure RBAC only (no access policies); the Function App identity gets Key Vault
// Secrets User in rbac.bicep. No secret is created here: a template or parameter file would hold
// its value (and an empty secret value breaks reference resolution), so an operator sets it once
// (infra/README.md). Deleted secrets and the vault itself stay recoverable for 90 days, and purge
// protection means nobody can shorten that.

@description('Key Vault name (globally unique, 3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Data-plane access through Azure RBAC role assignments, never through access policies.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Irreversible: a deleted vault or secret can be recovered, not purged, for the retention period.
    enablePurgeProtection: true
    // Flex Consumption without virtual network integration has no fixed outbound addresses, so the
    // vault is reached over its public endpoint; every request still needs an Entra token and a role.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
  }
}

@description('Key Vault name.')
output name string = vault.name

@description('Vault URI with a trailing slash (https://<name>.vault.azure.net/).')
output uri string = vault.properties.vaultUri
