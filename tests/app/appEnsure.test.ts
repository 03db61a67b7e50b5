import { TableServiceClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, type SoundlakeApp } from '../../shared/app/soundlakeApp.js';
import { azuriteConnectionString } from '../../shared/azure/storageClients.js';
import { ConfigError } from '../../shared/config/pipelineConfig.js';
import { loadSettings } from '../../shared/config/settings.js';
import { createLogger } from '../../shared/logging/logger.js';
import { testEnv, testId } from '../support/harness.js';
import { waitFor } from '../support/waitFor.js';

/**
 * What createApp creates in a fresh storage account corner: everything by default; with
 * `ensure: 'extraction'` (the CLI's ingest and status) the state an in-process run uses, and
 * not the backfill table or the queues, which only the Functions read. The creations go out
 * before the catalog is read; a bad catalog stops them.
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

describe('createApp with a bad catalog', () => {
  it('reports the catalog and gives up the creations it had sent', async () => {
    // A storage endpoint that takes every request and never answers: only an abort ends one.
    const held: IncomingMessage[] = [];
    let closed = 0;
    const server = createServer((req) => {
      held.push(req);
      req.socket.on('close', () => closed++);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    // The catalog is a pipe: it is read once the creations are out, and then it is bad.
    const dir = await mkdtemp(join(tmpdir(), 'soundlake-app-'));
    const catalog = join(dir, 'soundlake.yaml');
    execFileSync('mkfifo', [catalog]);
    try {
      const env = { ...testEnv(testId()), SOUNDLAKE_STORAGE: azuriteConnectionString('127.0.0.1', { blob: port, queue: port, table: port }), SOUNDLAKE_CONFIG: catalog };
      const app = createApp(loadSettings(env), { logger: createLogger({ level: 'silent' }), ensure: 'extraction' });
      // The lake and the three state tables.
      await waitFor('the four creations at storage', () => held.length === 4);
      await writeFile(catalog, 'tables: [\n');
      await expect(app).rejects.toThrow(ConfigError);
      await waitFor('the four creations given up by the client', () => closed === 4);
      expect(held.map((r) => r.method).sort()).toEqual(['POST', 'POST', 'POST', 'PUT']);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
