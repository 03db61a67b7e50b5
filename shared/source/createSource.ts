import { PostgresSource } from './postgres/postgresSource.js';
import type { Source, SourceKind } from './source.js';

export interface SourceSettings {
  kind: SourceKind;
  url: string;
}

/**
 * SQL Server connections one Functions instance can use at once: each queue trigger that reads
 * the source (ingest-queue, backfill-queue) runs up to batchSize + newBatchThreshold messages at
 * a time (host.json: 4 + 2) and each holds one connection at a time; one spare. A test checks
 * this against host.json. SOURCE_URL may set its own (`Max Pool Size`, `?maxConnections=`).
 */
export const SOURCE_CONNECTIONS = 2 * (4 + 2) + 1;

/**
 * The one place that decides which source adapter runs. The SQL Server driver (and the Azure
 * identity library it brings) is loaded only for a SQL Server source: a CLI run pays for the
 * modules it loads, about a tenth of a CPU-second for these.
 */
export async function createSource(settings: SourceSettings): Promise<Source> {
  if (settings.kind !== 'mssql') return new PostgresSource({ url: settings.url });
  const { MssqlSource } = await import('./mssql/mssqlSource.js');
  return new MssqlSource({ url: settings.url, maxConnections: SOURCE_CONNECTIONS });
}
