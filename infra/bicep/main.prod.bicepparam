// prod: zone-redundant lake, the 15-minute schedule, longer log retention. Values that differ per
// organisation come from the environment (the deploy workflow sets them from GitHub environment
// variables); nothing here is a secret.
using 'main.bicep'

param environmentName = 'prod'
param sourceSqlServer = readEnvironmentVariable('SOUNDLAKE_SQL_SERVER')
param sourceSqlDatabase = readEnvironmentVariable('SOUNDLAKE_SQL_DATABASE')
param alertEmailTo = readEnvironmentVariable('SOUNDLAKE_ALERT_EMAIL_TO')
param communicationDataLocation = 'Europe'
param ingestSchedule = '0 */15 * * * *'
param lakeStorageSku = 'Standard_ZRS'
param functionMaximumInstanceCount = 100
param logRetentionInDays = 90
// prod: bronze is the replay source of silver; cool it after 30 days, never delete it.
param bronzeCoolAfterDays = 30
param bronzeRetentionDays = 0
param deadLetterRetentionDays = 30
param medallionJobId = readEnvironmentVariable('SOUNDLAKE_MEDALLION_JOB_ID', '')
param deployEventSubscription = bool(readEnvironmentVariable('SOUNDLAKE_DEPLOY_EVENT_SUBSCRIPTION', 'true'))
// databricks/databricks.yml targets.prod.variables.catalog (tests/infra checks they agree).
param databricksCatalog = 'soundlake'
param sqlWarehouseId = readEnvironmentVariable('SOUNDLAKE_SQL_WAREHOUSE_ID', '')
param databricksGoldSchema = readEnvironmentVariable('SOUNDLAKE_GOLD_SCHEMA', 'gold')
// The question box's LLM (empty: SQL-only). Its key is never here: it is a Key Vault secret.
param askLlmBaseUrl = readEnvironmentVariable('SOUNDLAKE_ASK_LLM_BASE_URL', '')
param askLlmModel = readEnvironmentVariable('SOUNDLAKE_ASK_LLM_MODEL', '')
param askLlmKeyHeader = readEnvironmentVariable('SOUNDLAKE_ASK_LLM_KEY_HEADER', 'authorization')
param tags = {
  costCenter: 'data-platform'
}
