import { MssqlSource } from './mssql/mssqlSource.js';
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

/** The one place that decides which source adapter runs. */
export function createSource(settings: SourceSettings): Source {
  return settings.kind === 'mssql'
    ? new MssqlSource({ url: settings.url, maxConnections: SOURCE_CONNECTIONS })
    : new PostgresSource({ url: settings.url });
}
