import type { TokenCredential } from '@azure/core-auth';

/**
 * The Azure Databricks first-party application (its "resource" in Microsoft Entra ID): an
 * Entra access token for this scope is accepted by every Azure Databricks workspace API.
 */
export const AZURE_DATABRICKS_SCOPE = '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default';

/** How requests to the workspace are authenticated. */
export interface DatabricksAuth {
  /** For messages: `pat` or `entra`; never the secret. */
  readonly kind: 'pat' | 'entra';
  /** The value of the Authorization header for one request. */
  authorization(signal?: AbortSignal): Promise<string>;
}

/** A personal access token (local use, or a workspace without Entra): sent as a bearer token. */
export function patAuth(token: string): DatabricksAuth {
  if (!token) throw new Error('Databricks personal access token is empty');
  const header = `Bearer ${token}`;
  return { kind: 'pat', authorization: async () => header };
}

/**
 * A Microsoft Entra token for the Azure Databricks resource, from any TokenCredential
 * (DefaultAzureCredential in Azure: the Function App's managed identity). The credential
 * caches and refreshes tokens itself, so each request asks it again.
 */
export function entraAuth(credential: TokenCredential, scope = AZURE_DATABRICKS_SCOPE): DatabricksAuth {
  return {
    kind: 'entra',
    authorization: async (signal) => {
      const token = await credential.getToken(scope, signal ? { abortSignal: signal } : {});
      if (!token?.token) throw new Error(`no Microsoft Entra token for ${scope}`);
      return `Bearer ${token.token}`;
    },
  };
}
