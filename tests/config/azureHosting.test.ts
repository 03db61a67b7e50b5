import { InvocationContext } from '@azure/functions';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ingestTimer } from '../../functions/ingest-timer.js';
import { setApp } from '../../shared/app/appSingleton.js';
import { azuriteConnectionString } from '../../shared/azure/storageClients.js';
import { resolveSourceEndpoints } from '../../shared/source/sourceEndpoints.js';
import { loadSettings, SettingsError } from '../../shared/config/settings.js';
import { testTable } from '../support/harness.js';

/**
 * Under the Functions host in Azure (the platform sets WEBSITE_SITE_NAME and WEBSITE_INSTANCE_ID)
 * nothing falls back to a developer's machine: no storage setting, Azurite's account, or no
 * source URL stops the app, naming the setting.
 */
const AZURE = { WEBSITE_SITE_NAME: 'func-soundlake-prod', WEBSITE_INSTANCE_ID: '8c1d0a2b3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c' };
const SOURCE = { SOURCE_KIND: 'mssql', SOURCE_URL: 'mssql://sql-soundlake-prod.database.windows.net/soundlake' };

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadSettings(env);
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  return [];
}

afterEach(() => {
  vi.unstubAllEnvs();
  setApp(undefined);
});

describe('settings in Azure', () => {
  it('a missing storage setting is an error naming it, not Azurite', () => {
    expect(problems({ ...AZURE, ...SOURCE })).toEqual([
      "SOUNDLAKE_STORAGE__blobServiceUri: required when running in Azure (WEBSITE_SITE_NAME and WEBSITE_INSTANCE_ID set by the platform) (with __queueServiceUri and __tableServiceUri): the storage account, reached with the managed identity; Azurite's development account exists only on a developer's machine",
    ]);
    // Either variable is enough to know.
    expect(problems({ WEBSITE_INSTANCE_ID: AZURE.WEBSITE_INSTANCE_ID, ...SOURCE })[0]).toMatch(/^SOUNDLAKE_STORAGE__blobServiceUri: required when running in Azure \(WEBSITE_INSTANCE_ID set/);
    expect(problems({ WEBSITE_SITE_NAME: AZURE.WEBSITE_SITE_NAME, ...SOURCE })[0]).toMatch(/^SOUNDLAKE_STORAGE__blobServiceUri: required when running in Azure \(WEBSITE_SITE_NAME set/);
  });

  it("Azurite's development account, by name or by its connection string, is refused too", () => {
    expect(problems({ ...AZURE, ...SOURCE, SOUNDLAKE_STORAGE: 'UseDevelopmentStorage=true' })).toEqual([expect.stringMatching(/^SOUNDLAKE_STORAGE: Azurite's development account cannot be used when running in Azure/)]);
    expect(problems({ ...AZURE, ...SOURCE, SOUNDLAKE_STORAGE: azuriteConnectionString() })).toEqual([expect.stringMatching(/^SOUNDLAKE_STORAGE: Azurite's development account/)]);
  });

  it('a missing source URL is left unset, never the embedded source: the source registry names it when a table reads it', () => {
    expect(problems({ ...AZURE }).map((p) => p.split(':')[0])).toEqual(['SOUNDLAKE_STORAGE__blobServiceUri']);
    const uris = { SOUNDLAKE_STORAGE__blobServiceUri: 'https://a.blob.core.windows.net', SOUNDLAKE_STORAGE__queueServiceUri: 'https://a.queue.core.windows.net', SOUNDLAKE_STORAGE__tableServiceUri: 'https://a.table.core.windows.net' };
    const settings = loadSettings({ ...AZURE, ...uris });
    expect(settings.source.url).toBeNull();
    expect(() => resolveSourceEndpoints({ tables: [testTable('dbo', 'dim_users')] }, settings)).toThrow(/SOURCE_URL: source "default" \(postgres\) reads its connection string from this app setting, which is not set; required when running in Azure/);
  });

  it('the managed-identity setting, or a real connection string, is accepted', () => {
    const uris = {
      SOUNDLAKE_STORAGE__blobServiceUri: 'https://stsoundlakeprod.blob.core.windows.net',
      SOUNDLAKE_STORAGE__queueServiceUri: 'https://stsoundlakeprod.queue.core.windows.net',
      SOUNDLAKE_STORAGE__tableServiceUri: 'https://stsoundlakeprod.table.core.windows.net',
    };
    expect(loadSettings({ ...AZURE, ...SOURCE, ...uris }).storage).toEqual({
      blobServiceUri: uris.SOUNDLAKE_STORAGE__blobServiceUri,
      queueServiceUri: uris.SOUNDLAKE_STORAGE__queueServiceUri,
      tableServiceUri: uris.SOUNDLAKE_STORAGE__tableServiceUri,
    });
    // Built at run time: no key-shaped literal in the repository.
    const real = `DefaultEndpointsProtocol=https;AccountName=stsoundlakeprod;AccountKey=${Buffer.from('k'.repeat(48)).toString('base64')};EndpointSuffix=core.windows.net`;
    expect(loadSettings({ ...AZURE, ...SOURCE, SOUNDLAKE_STORAGE: real }).storage).toEqual({ connectionString: real });
  });

  it('on a developer machine (Core Tools sets WEBSITE_HOSTNAME, not the platform variables) Azurite stays the default', () => {
    const s = loadSettings({ WEBSITE_HOSTNAME: 'localhost:7071', AZURE_FUNCTIONS_ENVIRONMENT: 'Development' });
    expect(s.storage).toEqual({ connectionString: azuriteConnectionString() });
  });

  it('the functions fail at startup with that error, before any storage call', async () => {
    for (const [k, v] of Object.entries({ ...AZURE, ...SOURCE })) vi.stubEnv(k, v);
    vi.stubEnv('SOUNDLAKE_STORAGE', undefined);
    vi.stubEnv('SOUNDLAKE_STORAGE__blobServiceUri', undefined);
    vi.stubEnv('SOUNDLAKE_STORAGE__queueServiceUri', undefined);
    vi.stubEnv('SOUNDLAKE_STORAGE__tableServiceUri', undefined);
    setApp(undefined);
    const context = new InvocationContext({ functionName: 'ingest-timer', invocationId: 'azure-start', logHandler: () => undefined });
    const timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
    await expect(ingestTimer(timer, context)).rejects.toThrow(/SOUNDLAKE_STORAGE__blobServiceUri: required when running in Azure/);
  });
});
