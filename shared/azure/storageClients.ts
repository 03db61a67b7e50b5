import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { BlobServiceClient } from '@azure/storage-blob';
import { azureCredential } from './credential.js';

/**
 * How to reach the storage account: a connection string for local emulators, an account name
 * (and managed identity) in Azure. Follows the Functions convention `SOUNDLAKE_STORAGE` /
 * `SOUNDLAKE_STORAGE__accountName`, so bindings and our own clients share one setting.
 */
export type StorageAccess = { connectionString: string } | { accountName: string; endpointSuffix: string };

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

const endpoint = (a: { accountName: string; endpointSuffix: string }, service: 'blob' | 'queue' | 'table'): string =>
  `https://${a.accountName}.${service}.${a.endpointSuffix}`;

const isHttp = (connectionString: string): boolean => /DefaultEndpointsProtocol=http;|Endpoint=http:\/\//i.test(connectionString);

export function blobService(access: StorageAccess): BlobServiceClient {
  return 'connectionString' in access
    ? BlobServiceClient.fromConnectionString(access.connectionString)
    : new BlobServiceClient(endpoint(access, 'blob'), azureCredential());
}

export function queueClient(access: StorageAccess, queueName: string): QueueClient {
  return 'connectionString' in access
    ? new QueueClient(access.connectionString, queueName)
    : new QueueClient(`${endpoint(access, 'queue')}/${queueName}`, azureCredential());
}

export function tableClient(access: StorageAccess, tableName: string): TableClient {
  return 'connectionString' in access
    ? TableClient.fromConnectionString(access.connectionString, tableName, { allowInsecureConnection: isHttp(access.connectionString) })
    : new TableClient(endpoint(access, 'table'), tableName, azureCredential());
}
