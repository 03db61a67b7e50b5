import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { BlobServiceClient } from '@azure/storage-blob';
import { azureCredential } from './credential.js';

/**
 * How to reach the storage account: a connection string for local emulators; in Azure, the
 * service URIs (and the managed identity) of the Functions identity-based connection convention
 * (`SOUNDLAKE_STORAGE__blobServiceUri`, `__queueServiceUri`, `__tableServiceUri`), so the queue
 * triggers and our own clients read the same settings. URIs carry no trailing slash.
 */
export type StorageAccess = { connectionString: string } | { blobServiceUri: string; queueServiceUri: string; tableServiceUri: string };

/** Azurite's documented development account; its key is public by design. */
export function azuriteConnectionString(host = '127.0.0.1', ports = { blob: 10000, queue: 10001, table: 10002 }): string {
  return [
    'DefaultEndpointsProtocol=http',
    'AccountName=devstoreaccount1',
    'AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
    `BlobEndpoint=http://${host}:${ports.blob}/devstoreaccount1`,
    `QueueEndpoint=http://${host}:${ports.queue}/devstoreaccount1`,
    `TableEndpoint=http://${host}:${ports.table}/devstoreaccount1`,
  ].join(';');
}

/** `UseDevelopmentStorage=true`, or a connection string of Azurite's well-known account. */
export function isDevelopmentStorage(connectionString: string): boolean {
  return /^\s*UseDevelopmentStorage\s*=\s*true\s*;?\s*$/i.test(connectionString) || /(^|;)\s*AccountName\s*=\s*devstoreaccount1\s*(;|$)/i.test(connectionString);
}


const isHttp = (connectionString: string): boolean => /DefaultEndpointsProtocol=http;|Endpoint=http:\/\//i.test(connectionString);

export function blobService(access: StorageAccess): BlobServiceClient {
  return 'connectionString' in access
    ? BlobServiceClient.fromConnectionString(access.connectionString)
    : new BlobServiceClient(access.blobServiceUri, azureCredential());
}

export function queueClient(access: StorageAccess, queueName: string): QueueClient {
  return 'connectionString' in access
    ? new QueueClient(access.connectionString, queueName)
    : new QueueClient(`${access.queueServiceUri}/${queueName}`, azureCredential());
}

/**
 * In Azure, infra creates every table and gives the app a role on each table alone (rbac.bicep).
 * Create Table is a call on the service (POST /Tables), which a table-scoped role may not cover:
 * a 403 there means "not ours to create", not a failure. A table that is really missing still
 * fails, at its first read or write, with 404.
 */
class ProvisionedTableClient extends TableClient {
  override async createTable(options?: Parameters<TableClient['createTable']>[0]): Promise<void> {
    try {
      await super.createTable(options);
    } catch (err) {
      if ((err as { statusCode?: number } | null)?.statusCode !== 403) throw err;
    }
  }
}

export function tableClient(access: StorageAccess, tableName: string): TableClient {
  return 'connectionString' in access
    ? TableClient.fromConnectionString(access.connectionString, tableName, { allowInsecureConnection: isHttp(access.connectionString) })
    : new ProvisionedTableClient(access.tableServiceUri, tableName, azureCredential());
}
