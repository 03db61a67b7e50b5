import { MssqlSource } from './mssql/mssqlSource.js';
import { PostgresSource } from './postgres/postgresSource.js';
import type { Source, SourceKind } from './source.js';

export interface SourceSettings {
  kind: SourceKind;
  url: string;
  /** SQL Server pool size (the Postgres source keeps its own default). */
  maxConnections?: number;
}

/** The one place that decides which source adapter runs. */
export function createSource(settings: SourceSettings): Source {
  return settings.kind === 'mssql'
    ? new MssqlSource({ url: settings.url, ...(settings.maxConnections ? { maxConnections: settings.maxConnections } : {}) })
    : new PostgresSource({ url: settings.url });
}
