import { TableClient } from '@azure/data-tables';
import { azuriteConnectionString } from '../../shared/azure/storageClients.js';
import { HttpStandIn } from './alertStandIns.js';

/**
 * A Table Storage endpoint on 127.0.0.1 that refuses every request the way the service does
 * when a role assignment is missing (403 AuthorizationFailure, which the SDK does not retry):
 * state stores pointed at it fail at once, as they would in a misconfigured deployment.
 */
export async function refusingTableService(): Promise<{ client(table: string): TableClient; requests: () => number; close(): Promise<void> }> {
  const server = await HttpStandIn.start(() => ({
    status: 403,
    headers: { 'content-type': 'application/json;odata=minimalmetadata' },
    body: JSON.stringify({ 'odata.error': { code: 'AuthorizationFailure', message: { lang: 'en-US', value: 'This request is not authorized to perform this operation.' } } }),
  }));
  const connectionString = azuriteConnectionString('127.0.0.1', { blob: server.port, queue: server.port, table: server.port });
  return {
    client: (table) => TableClient.fromConnectionString(connectionString, table, { allowInsecureConnection: true }),
    requests: () => server.requests.length,
    close: () => server.close(),
  };
}
