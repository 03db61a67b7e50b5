import { TableClient } from '@azure/data-tables';
import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SOURCE } from '../../shared/config/catalogSchema.js';
import { loadSettings, SettingsError } from '../../shared/config/settings.js';
import { resolveSourceEndpoints } from '../../shared/source/sourceEndpoints.js';
import { SlotLostError, SourceSlots } from '../../shared/source/sourceSlots.js';
import { testEnv, testId, testTable } from '../support/harness.js';

/** Connection slots in Azurite's Table Storage, on a clock the test moves. */
async function slotsAt(clock: { t: number }, leaseMs = 60_000): Promise<SourceSlots> {
  const client = TableClient.fromConnectionString(inject('storageConnectionString'), `slots${testId()}`, { allowInsecureConnection: true });
  const slots = new SourceSlots(client, leaseMs, { now: () => clock.t });
  await slots.ensure();
  return slots;
}

describe('connection slots of a source', () => {
  it('hand out at most maxConnections at once, to whichever holders race for them', async () => {
    const clock = { t: Date.parse('2026-12-01T00:00:00Z') };
    const slots = await slotsAt(clock);
    // Ten holders race for three slots: exactly three win, each a different slot.
    const taken = await Promise.all(Array.from({ length: 10 }, (_, i) => slots.acquire('streaming_db', 3, `owner-${i}`, `test ${i}`)));
    const won = taken.filter((l) => l !== null);
    expect(won).toHaveLength(3);
    expect(new Set(won.map((l) => l.slot))).toEqual(new Set([0, 1, 2]));
    expect((await slots.holders('streaming_db')).map((h) => h.owner).sort()).toEqual(won.map((l) => l.owner).sort());
    // Another source has slots of its own.
    expect(await slots.acquire('catalog_db', 1, 'owner-x', 'test')).toMatchObject({ source: 'catalog_db', slot: 0 });

    // A released slot is free again; the others stay held.
    await slots.release(won[0]!);
    expect(await slots.acquire('streaming_db', 3, 'owner-y', 'test')).toMatchObject({ slot: won[0]!.slot, owner: 'owner-y' });
    expect(await slots.acquire('streaming_db', 3, 'owner-z', 'test')).toBeNull();
    // A lower cap than slots held hands out nothing until enough are given back; a higher one hands out the new slots.
    expect(await slots.acquire('streaming_db', 2, 'owner-z', 'test')).toBeNull();
    expect(await slots.acquire('streaming_db', 4, 'owner-z', 'test')).toMatchObject({ slot: 3 });
  });

  it("expire when their holder crashed (no renewal), and the late holder's renewal says it lost the slot", async () => {
    const clock = { t: Date.parse('2026-12-01T00:00:00Z') };
    const slots = await slotsAt(clock, 60_000);
    const crashed = (await slots.acquire('streaming_db', 1, 'crashed', 'ingest dim_users'))!;
    expect(crashed.slot).toBe(0);

    clock.t += 30_000;
    const renewed = await slots.renew(crashed, 'ingest dim_users');
    expect(Date.parse(renewed.expiresAt)).toBe(clock.t + 60_000);
    clock.t += 59_000; // still within the renewed lease
    expect(await slots.acquire('streaming_db', 1, 'next', 'ingest dim_tracks')).toBeNull();

    clock.t += 1_001; // the holder stopped renewing: its slot lapses
    const next = await slots.acquire('streaming_db', 1, 'next', 'ingest dim_tracks');
    expect(next).toMatchObject({ slot: 0, owner: 'next' });
    await expect(slots.renew(renewed, 'ingest dim_users')).rejects.toBeInstanceOf(SlotLostError);
    // Its release does not free the slot the new holder has.
    await slots.release(renewed);
    expect((await slots.holders('streaming_db')).map((h) => [h.owner, h.purpose])).toEqual([['next', 'ingest dim_tracks']]);
  });
});

describe('source settings', () => {
  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => ({ ...testEnv(testId()), ...extra });
  const sources = [
    { name: 'streaming_db', kind: 'postgres' as const, url: { setting: 'STREAMING_DB_URL' }, maxConnections: 8 },
    { name: 'catalog_db', kind: 'mssql' as const, url: { setting: 'CATALOG_DB_URL' }, maxConnections: 2 },
  ];

  it('reads each source from the app setting it names', () => {
    const settings = loadSettings(env({ STREAMING_DB_URL: 'postgres://u@db1/streams', CATALOG_DB_URL: 'mssql://sql1/catalog' }));
    expect(resolveSourceEndpoints({ sources, tables: [] }, settings)).toEqual([
      { name: 'streaming_db', kind: 'postgres', setting: 'STREAMING_DB_URL', url: 'postgres://u@db1/streams', maxConnections: 8 },
      { name: 'catalog_db', kind: 'mssql', setting: 'CATALOG_DB_URL', url: 'mssql://sql1/catalog', maxConnections: 2 },
      // `default` is always there: the deployment's SQL source, which tables naming no source read.
      expect.objectContaining({ name: 'default', setting: 'SOURCE_URL' }),
    ]);
  });

  it('names the source and the setting of every missing connection string, at load', () => {
    const inAzure = loadSettings(env({ WEBSITE_SITE_NAME: 'func-soundlake', SOUNDLAKE_STORAGE__blobServiceUri: 'https://a.blob.core.windows.net', SOUNDLAKE_STORAGE__queueServiceUri: 'https://a.queue.core.windows.net', SOUNDLAKE_STORAGE__tableServiceUri: 'https://a.table.core.windows.net', SOUNDLAKE_STORAGE: undefined, SOURCE_URL: undefined, STREAMING_DB_URL: 'postgres://u@db1/streams' }));
    const problems = (): string[] => {
      try {
        resolveSourceEndpoints({ sources: [...sources, { name: DEFAULT_SOURCE, kind: 'postgres', url: { setting: 'SOURCE_URL' }, maxConnections: 4 }], tables: [] }, inAzure);
      } catch (err) {
        expect(err).toBeInstanceOf(SettingsError);
        return (err as SettingsError).problems;
      }
      throw new Error('expected a SettingsError');
    };
    expect(problems()).toEqual([
      'CATALOG_DB_URL: source "catalog_db" (mssql) reads its connection string from this app setting, which is not set; required when running in Azure (WEBSITE_SITE_NAME set by the platform): add it as an app setting (a Key Vault reference for a secret), see infra/README.md',
      'SOURCE_URL: source "default" (postgres) reads its connection string from this app setting, which is not set; required when running in Azure (WEBSITE_SITE_NAME set by the platform): add it as an app setting (a Key Vault reference for a secret), see infra/README.md',
    ]);
    // Undeclared, the default source is SOURCE_URL: in Azure it must be set when a table reads it,
    expect(() => resolveSourceEndpoints({ tables: [testTable('public', 'dim_users')] }, inAzure)).toThrow(/SOURCE_URL: source "default" \(postgres\) reads its connection string/);
    // and may be left unset when none does.
    expect(resolveSourceEndpoints({ sources: [sources[0]!], tables: [testTable('public', 'dim_users', { source: 'streaming_db' })] }, inAzure)).toEqual([expect.objectContaining({ name: 'streaming_db' })]);
  });

  it('keeps the embedded source for `default` on a developer machine, and only for it', () => {
    const local = loadSettings(env({ SOURCE_URL: undefined, SOURCE_MAX_CONNECTIONS: '3' }));
    expect(resolveSourceEndpoints({ tables: [] }, local)).toEqual([{ name: 'default', kind: 'postgres', setting: 'SOURCE_URL', url: 'postgres://postgres@127.0.0.1:5433/postgres', maxConnections: 3 }]);
    expect(() => resolveSourceEndpoints({ sources, tables: [] }, local)).toThrow(/STREAMING_DB_URL: source "streaming_db" \(postgres\) reads its connection string from this app setting, which is not set; set it in local.settings.json or the environment/);
  });
});
