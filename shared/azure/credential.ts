import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

let credential: TokenCredential | undefined;

/**
 * One DefaultAzureCredential per process (managed identity in Azure, az login on a laptop),
 * created on first use, and its library loaded only then: a local run against Azurite, which
 * never asks for a token, does not pay for loading @azure/identity.
 */
export function azureCredential(): TokenCredential {
  let real: Promise<TokenCredential> | undefined;
  credential ??= {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      real ??= import('@azure/identity').then(({ DefaultAzureCredential }) => new DefaultAzureCredential());
      return (await real).getToken(scopes, options);
    },
  };
  return credential;
}
