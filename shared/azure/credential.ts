import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';

let credential: TokenCredential | undefined;

/** One DefaultAzureCredential per process (managed identity in Azure, az login on a laptop), created on first use. */
export function azureCredential(): TokenCredential {
  credential ??= new DefaultAzureCredential();
  return credential;
}
