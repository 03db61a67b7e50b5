import { TableServiceClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, type SoundlakeApp } from '../../shared/app/soundlakeApp.js';
import { loadSettings } from '../../shared/config/settings.js';
import { createLogger } from '../../shared/logging/logger.js';
import { testEnv, testId } from '../support/harness.js';

/**
 * What createApp creates in a fresh storage account corner: everything by default; with
 * `ensure: 'extraction'` (the CLI's ingest and status) the state an in-process run uses, and
 * not the backfill table or the queues, which only the Functions read.
 */
const apps: SoundlakeApp[] = [];

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

async function storageAfter(ensure: 'all' | 'extraction' | undefined): Promise<Record<string, boolean>> {
  const settings = loadSettings(testEnv(testId()));
  apps.push(await createApp(settings, { logger: createLogger({ level: 'silent' }), config: { tables: [] }, ...(ensure ? { ensure } : {}) }));
  const conn = (settings.storage as { connectionString: string }).connectionString;
  const tables = TableServiceClient.fromConnectionString(conn, { allowInsecureConnection: true });
  const tableExists = async (name: string): Promise<boolean> => {
    for await (const t of tables.listTables({ queryOptions: { filter: `TableName eq '${name}'` } })) if (t.name === name) return true;
    return false;
  };
  const [bronze, watermarks, ledger, slots, backfills, ingestQueue, backfillQueue] = await Promise.all([
    BlobServiceClient.fromConnectionString(conn).getContainerClient(settings.bronzeContainer).exists(),
    tableExists(settings.watermarkTable),
    tableExists(settings.ledgerTable),
    tableExists(settings.sourceSlots.table),
    tableExists(settings.backfill.table),
    new QueueClient(conn, settings.ingestQueue).exists(),
    new QueueClient(conn, settings.backfill.queue).exists(),
  ]);
  return { bronze, watermarks, ledger, slots, backfills, ingestQueue, backfillQueue };
}

describe('createApp ensure', () => {
  it('creates the lake, the state tables, the backfill table and both queues by default', async () => {
    expect(await storageAfter(undefined)).toEqual({ bronze: true, watermarks: true, ledger: true, slots: true, backfills: true, ingestQueue: true, backfillQueue: true });
  });

  it("with 'extraction' creates only what an in-process run reads and writes", async () => {
    expect(await storageAfter('extraction')).toEqual({ bronze: true, watermarks: true, ledger: true, slots: true, backfills: false, ingestQueue: false, backfillQueue: false });
  });
});
