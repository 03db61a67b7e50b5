/** The identity-based lake settings a Function App gets for storage account `account` (infra/bicep/modules/function-app.bicep). */
export function storageUris(account: string, suffix = 'core.windows.net'): Record<string, string> {
  return {
    SOUNDLAKE_STORAGE__blobServiceUri: `https://${account}.blob.${suffix}`,
    SOUNDLAKE_STORAGE__queueServiceUri: `https://${account}.queue.${suffix}`,
    SOUNDLAKE_STORAGE__tableServiceUri: `https://${account}.table.${suffix}`,
  };
}
