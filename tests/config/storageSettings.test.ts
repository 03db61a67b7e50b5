import { describe, expect, it } from 'vitest';
import { blobService, queueClient, tableClient } from '../../shared/azure/storageClients.js';
import { loadSettings, SettingsError } from '../../shared/config/settings.js';
import { storageUris } from '../support/storageUris.js';

/**
 * Identity-based storage: the Functions storage extensions read `<connection>__queueServiceUri`
 * (and blob/table) for any connection other than AzureWebJobsStorage; the app's own clients must
 * reach the same account through the same three settings.
 */
const problems = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadSettings(env);
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  return [];
};

describe('SOUNDLAKE_STORAGE__*ServiceUri', () => {
  it('the clients the app builds address exactly the URIs the triggers read', () => {
    const { storage, bronzeContainer, ingestQueue, watermarkTable } = loadSettings({ ...storageUris('stsoundlakelakeprod1a2b3'), SOUNDLAKE_STORAGE__queueServiceUri: 'https://stsoundlakelakeprod1a2b3.queue.core.windows.net/' });
    expect(blobService(storage).getContainerClient(bronzeContainer).url).toBe('https://stsoundlakelakeprod1a2b3.blob.core.windows.net/bronze');
    expect(queueClient(storage, ingestQueue).url).toBe('https://stsoundlakelakeprod1a2b3.queue.core.windows.net/soundlake-ingest');
    expect(tableClient(storage, watermarkTable).url).toBe('https://stsoundlakelakeprod1a2b3.table.core.windows.net');
    expect(tableClient(storage, watermarkTable).tableName).toBe('soundlakewatermarks');
  });

  it('follows sovereign-cloud endpoints as given', () => {
    const { storage } = loadSettings(storageUris('stlake', 'core.chinacloudapi.cn'));
    expect(queueClient(storage, 'q').url).toBe('https://stlake.queue.core.chinacloudapi.cn/q');
  });

  it('needs all three, and names the missing one', () => {
    const { SOUNDLAKE_STORAGE__tableServiceUri: _, ...twoOfThree } = storageUris('stlake');
    expect(problems(twoOfThree)).toEqual([expect.stringMatching(/^SOUNDLAKE_STORAGE__tableServiceUri: required with/)]);
  });

  it('rejects what is not an https service endpoint, naming the setting', () => {
    expect(problems({ ...storageUris('stlake'), SOUNDLAKE_STORAGE__blobServiceUri: 'stlake' })).toEqual([expect.stringMatching(/^SOUNDLAKE_STORAGE__blobServiceUri: must be the account's blob endpoint/)]);
    expect(problems({ ...storageUris('stlake'), SOUNDLAKE_STORAGE__queueServiceUri: 'http://stlake.queue.core.windows.net' })).toEqual([expect.stringMatching(/^SOUNDLAKE_STORAGE__queueServiceUri: must be/)]);
    expect(problems({ ...storageUris('stlake'), SOUNDLAKE_STORAGE__tableServiceUri: 'https://stlake.table.core.windows.net/sometable' })).toEqual([expect.stringMatching(/^SOUNDLAKE_STORAGE__tableServiceUri: must be/)]);
  });

  it('refuses the account-name form earlier releases read, instead of falling back to Azurite', () => {
    expect(problems({ SOUNDLAKE_STORAGE__accountName: 'stlake' })).toEqual([expect.stringMatching(/^SOUNDLAKE_STORAGE__accountName: no longer read; set SOUNDLAKE_STORAGE__blobServiceUri/)]);
  });

  it('the connection string (Azurite) still wins when set', () => {
    const { storage } = loadSettings({ ...storageUris('stlake'), SOUNDLAKE_STORAGE: 'UseDevelopmentStorage=true' });
    expect('connectionString' in storage).toBe(true);
  });
});
