/**
 * Whether this process runs on Azure's App Service platform (every Functions plan, Flex
 * Consumption included). The platform sets `WEBSITE_SITE_NAME` (the app's name) and
 * `WEBSITE_INSTANCE_ID` (the instance) as read-only variables ("Environment variables and app
 * settings in Azure App Service"); the Functions Core Tools and the local runner set neither
 * (Core Tools sets WEBSITE_HOSTNAME=localhost:7071, which is therefore no signal).
 */
export function runsInAzure(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.WEBSITE_INSTANCE_ID?.trim() || env.WEBSITE_SITE_NAME?.trim());
}

/** How the process was found to run in Azure, for error messages. */
export function azureEvidence(env: NodeJS.ProcessEnv): string {
  const set = ['WEBSITE_SITE_NAME', 'WEBSITE_INSTANCE_ID'].filter((k) => env[k]?.trim());
  return `running in Azure (${set.join(' and ')} set by the platform)`;
}
