// dev: small and cheap. Values that differ per organisation come from the environment (the
// deploy workflow sets them from GitHub environment variables); nothing here is a secret.
using 'main.bicep'

param environmentName = 'dev'
param sourceSqlServer = readEnvironmentVariable('SOUNDLAKE_SQL_SERVER')
param sourceSqlDatabase = readEnvironmentVariable('SOUNDLAKE_SQL_DATABASE')
param alertEmailTo = readEnvironmentVariable('SOUNDLAKE_ALERT_EMAIL_TO')
param communicationDataLocation = 'Europe'
param ingestSchedule = '0 0 * * * *'
param lakeStorageSku = 'Standard_LRS'
param functionMaximumInstanceCount = 40
param logRetentionInDays = 30
// dev: bronze is reproducible from the source; keep 90 days.
param bronzeCoolAfterDays = 7
param bronzeRetentionDays = 90
param deadLetterRetentionDays = 30
param medallionJobId = readEnvironmentVariable('SOUNDLAKE_MEDALLION_JOB_ID', '')
param deployEventSubscription = bool(readEnvironmentVariable('SOUNDLAKE_DEPLOY_EVENT_SUBSCRIPTION', 'true'))
// databricks/databricks.yml targets.dev.variables.catalog (tests/infra checks they agree).
param databricksCatalog = 'soundlake_dev'
param sqlWarehouseId = readEnvironmentVariable('SOUNDLAKE_SQL_WAREHOUSE_ID', '')
param databricksGoldSchema = readEnvironmentVariable('SOUNDLAKE_GOLD_SCHEMA', 'gold')
// The question box's LLM (empty: SQL-only). Its key is never here: it is a Key Vault secret.
param askLlmBaseUrl = readEnvironmentVariable('SOUNDLAKE_ASK_LLM_BASE_URL', '')
param askLlmModel = readEnvironmentVariable('SOUNDLAKE_ASK_LLM_MODEL', '')
param askLlmKeyHeader = readEnvironmentVariable('SOUNDLAKE_ASK_LLM_KEY_HEADER', 'authorization')
param tags = {
  costCenter: 'data-platform'
}
