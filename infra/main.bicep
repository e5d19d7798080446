// The order app in Azure: one resource group holding everything app.bicep describes.
// `azd up` provisions it (azure.yaml); by hand:
//   az deployment sub create --location <region> --template-file infra/main.bicep \
//     --parameters environmentName=<name> location=<region> fcmProjectId=<project>
// then store the FCM service account in the vault (README, Deploying).
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('Name of the environment (azd sets it): names the resource group and tags every resource.')
param environmentName string

@minLength(1)
@description('Azure region of every resource: one that offers the Flex Consumption plan.')
param location string

@description('The Firebase project that sends the pushes (FCM_PROJECT_ID).')
param fcmProjectId string

@secure()
@description('The Firebase service-account JSON. It is stored in Key Vault only; the app reads it through a Key Vault reference. Empty: the secret is left as it is.')
param fcmServiceAccountJson string = ''

@description('Object id of the person deploying (azd sets it): may then rotate the FCM secret. Empty: nobody gets that role.')
param principalId string = ''

var tags = {
  'azd-env-name': environmentName
}

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module app 'app.bicep' = {
  name: 'order-flow-app'
  scope: group
  params: {
    location: location
    tags: tags
    resourceToken: toLower(uniqueString(subscription().id, environmentName, location))
    fcmProjectId: fcmProjectId
    fcmServiceAccountJson: fcmServiceAccountJson
    principalId: principalId
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.functionAppName
output AZURE_FUNCTION_APP_URL string = app.outputs.functionAppUrl
output APPLICATIONINSIGHTS_NAME string = app.outputs.applicationInsightsName
output AZURE_KEY_VAULT_NAME string = app.outputs.keyVaultName
