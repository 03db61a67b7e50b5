// Alert e-mail: an Email Communication Service with an Azure managed domain
// (<guid>.azurecomm.net, no DNS to set up), linked to a Communication Services resource whose
// access keys are disabled. The Function App sends with its managed identity (role in rbac.bicep).

@description('Email Communication Service name.')
param emailServiceName string

@description('Communication Services name (globally unique: it is the endpoint host name).')
param communicationServiceName string

@description('Where e-mail data is stored at rest.')
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
param dataLocation string

@description('Tags for every resource.')
param tags object = {}

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

resource managedDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    userEngagementTracking: 'Disabled'
  }
}

resource communication 'Microsoft.Communication/communicationServices@2025-05-01' = {
  name: communicationServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    linkedDomains: [
      managedDomain.id
    ]
    disableLocalAuth: true
  }
}

@description('Communication Services name.')
output name string = communication.name

@description('Endpoint the e-mail client calls.')
output endpoint string = 'https://${communication.properties.hostName}'

@description('Sender address: the managed domain\'s default DoNotReply user.')
output senderAddress string = 'DoNotReply@${managedDomain.properties.mailFromSenderDomain}'
