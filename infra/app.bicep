// The order app's resources: a Function App on the Flex Consumption plan (Python 3.11, Linux),
// its storage reached with a managed identity (no account keys anywhere), Application
// Insights on a Log Analytics workspace, and a Key Vault holding the FCM service account.

@description('Azure region of every resource.')
param location string

@description('Tags for every resource.')
param tags object

@description('A short unique suffix for resource names.')
param resourceToken string

@description('The Firebase project that sends the pushes.')
param fcmProjectId string

@secure()
@description('The Firebase service-account JSON, stored as a Key Vault secret. Empty: the secret is left as it is (set it with az keyvault secret set).')
param fcmServiceAccountJson string = ''

@description('Object id allowed to rotate the FCM secret; empty for nobody.')
param principalId string = ''

@description('The most instances the plan scales the app out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

var deploymentContainerName = 'app-package'
var fcmSecretName = 'fcm-service-account'

// Built-in role definition ids (the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// The app's one identity: storage, Key Vault and Application Insights all trust it.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${resourceToken}'
  location: location
  tags: tags
}

// The task hub (tables, queues, blobs) and the deployment package live here.
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_43: the name is 'st' and uniqueString(), 15 lower-case letters and digits, within the rules; checkov cannot evaluate the expression.
  // checkov:skip=CKV_AZURE_35: Flex Consumption without a virtual network has no fixed outbound addresses to allow, so access is by Entra identity (shared keys are off) rather than by network rules.
  // checkov:skip=CKV_AZURE_59: as for CKV_AZURE_35: the Functions host reaches its storage over the public endpoint, authenticated with the managed identity.
  // checkov:skip=CKV_AZURE_206: the task hub is working state of running orders, not a record to keep through a region's loss; locally redundant storage is what the Functions host itself asks for.
  name: 'st${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

// Telemetry is accepted from Entra identities only: the app and the host send with theirs.
resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

// Holds the FCM service account; the app reads it through a Key Vault reference.
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: the Functions platform resolves Key Vault references from outbound addresses a Flex Consumption app without a virtual network does not fix; access is by RBAC on the app's identity instead.
  // checkov:skip=CKV_AZURE_189: as for CKV_AZURE_109: public network access stays on, every read needs the Key Vault Secrets User role.
  name: 'kv-${resourceToken}'
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// Written only when a value is given, so provisioning again without it keeps the secret.
resource fcmSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(fcmServiceAccountJson)) {
  // checkov:skip=CKV_AZURE_114: contentType is set below; checkov does not read the properties of a resource declared with a condition.
  // checkov:skip=CKV_AZURE_41: the service-account key is rotated in Firebase, not on a date; an expiry here would stop every push when it passed, with nothing to renew it.
  parent: vault
  name: fcmSecretName
  properties: {
    value: fcmServiceAccountJson
    contentType: 'application/json'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption exists in some regions only; the app keeps no state on its instances (orders live in the task hub's storage), so a lost zone costs new instances, not orders.
  name: 'plan-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: the mobile app and the staff console have no client certificates; the staff route takes a function key and the customer routes are anonymous by design.
  // checkov:skip=CKV_AZURE_222: the phones call the app over the internet, so public network access stays on.
  // checkov:skip=CKV_AZURE_213: App Service health checks are not a Flex Consumption feature; the platform replaces failed instances itself.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales out by itself across instances; it has no fixed instance count to raise.
  name: 'func-${resourceToken}'
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identity.id
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // What the app and the host read; no key or secret value is in any of them.
      appSettings: [
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identity.properties.clientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: insights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
        }
        {
          name: 'FCM_PROJECT_ID'
          value: fcmProjectId
        }
        {
          name: 'FCM_SERVICE_ACCOUNT_JSON'
          value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=${fcmSecretName})'
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
  // The identity's roles first: the host reaches storage and Key Vault as soon as it starts.
  dependsOn: [
    deploymentContainer
    storageRoles
    vaultReader
    telemetryPublisher
  ]
}

// FTP and Kudu basic-auth publishing are off: deploys authenticate with Entra ID.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// The Functions host needs blob ownership (leases, the package), the task hub its queues and tables.
var storageRoleIds = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in storageRoleIds: {
  name: guid(storage.id, identity.id, roleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource vaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(vault.id, principalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: principalId
  }
}

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output functionAppName string = site.name
output functionAppUrl string = 'https://${site.properties.defaultHostName}'
output applicationInsightsName string = insights.name
output keyVaultName string = vault.name
